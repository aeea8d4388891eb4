import { Elysia } from 'elysia';
import type { Logger } from '../../logger';
import { subscriberIds, type SubscriberRights } from '../../privacy/subscribers';
import type { DeadLetters } from '../../streams/dead-letters';
import { bearerAuth, type BearerGuard } from '../http/bearer-auth';
import { parseJson, readRawBody, validate, validateQuery } from '../http/body';
import { AdminModel } from './model';

export interface AdminRouteDeps {
  deadLetters: DeadLetters;
  logger: Logger;
  /** Bearer ADMIN_TOKEN; empty refuses everyone. */
  guard: BearerGuard;
  /** A subscriber's export and erasure (DESIGN 7). */
  subscribers: SubscriberRights;
}

/** A re-drive request lists at most 1,000 entry ids: far below MAX_BODY_BYTES. */
const MAX_REDRIVE_BYTES = 64 * 1024;

/** An erasure names a few ids. */
const MAX_ERASE_BYTES = 4 * 1024;

/**
 * For operators: the dead-letter stream (list what failed, re-drive it once the cause is fixed), and a
 * subscriber's rights (export what is held about them, erase it). Each subscriber request is recorded with
 * the client address that made it.
 */
export const adminRoutes = ({ deadLetters, logger, guard, subscribers }: AdminRouteDeps) =>
  new Elysia({ prefix: '/api/admin' })
    .use(bearerAuth)
    .guard({ bearer: guard })
    .get('/dead-letters', async ({ query }) => {
      const { count = 50, after } = validateQuery(AdminModel.listQuery, query);
      const [total, page] = await Promise.all([deadLetters.count(), deadLetters.list({ count, after })]);
      return { total, ...page };
    })
    .post(
      '/dead-letters/redrive',
      async ({ request }) => {
        const body = validate(AdminModel.redrive, parseJson(await readRawBody(request, MAX_REDRIVE_BYTES)));
        const result = await deadLetters.redrive('all' in body ? 'all' : body.ids);
        logger.warn({ event: 'dead_letter.redriven', count: result.redriven.length, missing: result.missing.length }, 'dead letters re-driven by an operator');
        return { success: true, ...result };
      },
      { parse: 'none' },
    )
    .get('/subscribers', async ({ query, request, server }) => {
      const ids = subscriberIds(validateQuery(AdminModel.subscriberQuery, query));
      return { success: true, ...(await subscribers.export(ids, `admin-api ${guard.clientAddress(request, server)}`)) };
    })
    .post(
      '/subscribers/erase',
      async ({ request, server }) => {
        const ids = subscriberIds(validate(AdminModel.erase, parseJson(await readRawBody(request, MAX_ERASE_BYTES))));
        return { success: true, ...(await subscribers.erase(ids, `admin-api ${guard.clientAddress(request, server)}`)) };
      },
      { parse: 'none' },
    );
