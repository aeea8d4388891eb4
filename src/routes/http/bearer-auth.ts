import { Elysia } from 'elysia';
import { unauthorized } from '../../errors';
import { tokenMatches } from '../../lib/security';
import type { RateLimit } from '../../rate-limits/budgets';
import type { ClientAddress } from './client-address';

/** Who may call a feature's routes, and the two budgets that protect them. */
export interface BearerGuard {
  /** The setting that holds the token: named in the 401, never its value. */
  secretName: string;
  /** The expected token; empty refuses everyone, unless `openWhenUnset`. */
  token: string;
  openWhenUnset?: boolean;
  clientAddress: ClientAddress;
  /** Spent per client address by requests with a missing or wrong token. */
  failures: RateLimit;
  /** Spent by authenticated requests: junk from the same address (a shared proxy, a scanner) cannot spend it. */
  authenticated: RateLimit;
}

/**
 * The token of `Authorization: Bearer <token>`: the scheme name in any case
 * (RFC 7235), then exactly one space. Nothing else is a bearer token.
 */
export function bearerToken(header: string | null): string | undefined {
  if (!header || header.length <= 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  return header.slice(7);
}

/**
 * `{ bearer: guard }` on a route (or `.guard({ bearer })` on a feature) checks
 * the token before the body is read. Written here rather than with
 * @elysiajs/bearer, which also takes the token from `?access_token=` (it ends
 * up in access logs and browser history) and matches the scheme by prefix
 * (`BearerX<token>` passed); DESIGN 2.1 reads tokens from the header only.
 */
export const bearerAuth = new Elysia({ name: 'bearer-auth' }).macro({
  bearer: (guard: BearerGuard) => ({
    async beforeHandle({ request, server }) {
      const client = guard.clientAddress(request, server);
      const open = guard.openWhenUnset && guard.token === '';
      if (!open && !tokenMatches(guard.token, bearerToken(request.headers.get('authorization')))) {
        await guard.failures.consume(client);
        // Said apart: "wrong token" sends the caller hunting for a typo when the service has no token to match.
        throw unauthorized(
          guard.token === ''
            ? `${guard.secretName} is not configured on this service: every request is refused until it is set`
            : `Authorization: Bearer <${guard.secretName}> is missing or wrong`,
        );
      }
      await guard.authenticated.consume(client);
    },
  }),
});
