import { bearer } from '@elysiajs/bearer';
import { Type } from '@sinclair/typebox';
import { Elysia } from 'elysia';
import { unauthorized } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { tokenMatches } from '../security';
import type { DeadLetters } from '../streams/dead-letters';
import { parseJson, readRawBody, validate } from './http';

export interface AdminDeps {
  adminToken: string;
  metricsToken: string;
  deadLetters: DeadLetters;
  metrics: Metrics;
  logger: Logger;
}

const RedriveRequest = Type.Union([
  Type.Object({ ids: Type.Array(Type.String({ pattern: '^\\d+-\\d+$' }), { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
  Type.Object({ all: Type.Literal(true) }, { additionalProperties: false }),
]);

const ListQuery = Type.Object({
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  after: Type.Optional(Type.String({ pattern: '^\\d+-\\d+$' })),
});

/** Operators' routes: the dead-letter stream (Bearer ADMIN_TOKEN) and Prometheus metrics (Bearer METRICS_TOKEN when set). */
export const adminRoutes = (deps: AdminDeps) => {
  const admin = new Elysia({ prefix: '/api/admin' })
    .use(bearer())
    .onBeforeHandle({ as: 'local' }, ({ bearer: token }) => {
      if (!tokenMatches(deps.adminToken, token)) throw unauthorized('Authorization: Bearer <ADMIN_TOKEN> is missing or wrong');
    })
    .get('/dead-letters', async ({ query }) => {
      const { count = 50, after } = validate(ListQuery, { ...query, ...(query.count ? { count: Number(query.count) } : {}) });
      const [total, page] = await Promise.all([deps.deadLetters.count(), deps.deadLetters.list({ count, after })]);
      return { total, ...page };
    })
    .post(
      '/dead-letters/redrive',
      async ({ request }) => {
        const body = validate(RedriveRequest, parseJson(await readRawBody(request, 64 * 1024)));
        const result = await deps.deadLetters.redrive('all' in body ? 'all' : body.ids);
        deps.logger.warn(
          { event: 'dead_letter.redriven', count: result.redriven.length, missing: result.missing.length },
          'dead letters re-driven by an operator',
        );
        return { success: true, ...result };
      },
      { parse: 'none' },
    );

  const metrics = new Elysia().use(bearer()).get('/metrics', async ({ bearer: token, set }) => {
    if (deps.metricsToken && !tokenMatches(deps.metricsToken, token)) throw unauthorized('Authorization: Bearer <METRICS_TOKEN> is missing or wrong');
    set.headers['content-type'] = deps.metrics.registry.contentType;
    return deps.metrics.registry.metrics();
  });

  return new Elysia().use(admin).use(metrics);
};
