import { isIP } from 'node:net';

/** The part of Bun's server a route sees; absent when the app is driven by `app.handle()`. */
export interface SocketInfo {
  requestIP(request: Request): { address: string } | null;
}

/** Who a request comes from, for rate limits: see `clientAddress`. */
export type ClientAddress = (request: Request, server: SocketInfo | null | undefined) => string;

/** Bun reports IPv4 peers of a dual-stack socket as `::ffff:a.b.c.d`; proxies are listed as plain IPv4. */
const normalise = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);

/**
 * The client is the socket's peer. `X-Forwarded-For` is believed only when
 * that peer is one of our own proxies (TRUSTED_PROXIES): anyone else can
 * write the header, and would pick a fresh budget per request. Each proxy
 * appends the address it saw, so the right-most address that is not one of
 * ours is the first one a trusted hop vouches for.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | null, trustedProxies: readonly string[]): string {
  const peer = socketAddress ? normalise(socketAddress) : 'unknown';
  if (!forwardedFor || !trustedProxies.includes(peer)) return peer;
  const hops = forwardedFor
    .split(',')
    .map((hop) => normalise(hop.trim()))
    .filter((hop) => hop !== '');
  for (let index = hops.length - 1; index >= 0; index--) if (!trustedProxies.includes(hops[index]!)) return hops[index]!;
  return hops[0] ?? peer;
}

export const clientAddressOf =
  (trustedProxies: readonly string[]): ClientAddress =>
  (request, server) =>
    clientAddress(server?.requestIP(request)?.address, request.headers.get('x-forwarded-for'), trustedProxies);
