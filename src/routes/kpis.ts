import { bearer } from '@elysiajs/bearer';
import { Type } from '@sinclair/typebox';
import { Elysia } from 'elysia';
import { DateTime } from 'luxon';
import type { Database } from '../db/client';
import { badRequest, unauthorized } from '../errors';
import { isTimeZone, queryKpis } from '../kpis/query';
import { tokenMatches } from '../security';
import { validate } from './http';

export interface KpiRouteDeps {
  metricsToken: string;
  businessTimeZone: string;
  database: Database;
}

const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const KpiQuery = Type.Object({
  from: IsoDate,
  to: IsoDate,
  tz: Type.Optional(Type.String({ maxLength: 64 })),
  groupBy: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('agent'), Type.Literal('category')])),
});

/** A year and a bit: enough for year-on-year, small enough to answer in a second. */
const MAX_RANGE_DAYS = 400;

/** The supervisors' API (Bearer METRICS_TOKEN): the seed's KPIs for a date range, optionally by day, agent or category. */
export const kpiRoutes = (deps: KpiRouteDeps) =>
  new Elysia().use(bearer()).get('/api/metrics/kpis', async ({ query, bearer: token }) => {
    if (!tokenMatches(deps.metricsToken, token)) throw unauthorized('Authorization: Bearer <METRICS_TOKEN> is missing or wrong');
    const request = validate(KpiQuery, query);
    const timeZone = request.tz ?? deps.businessTimeZone;
    if (!isTimeZone(timeZone)) throw badRequest('invalid_time_zone', `tz: unknown time zone ${JSON.stringify(timeZone)}`);
    const from = DateTime.fromISO(request.from, { zone: timeZone });
    const to = DateTime.fromISO(request.to, { zone: timeZone });
    if (!from.isValid || !to.isValid) throw badRequest('invalid_request', 'from and to must be real dates (YYYY-MM-DD)');
    const days = to.diff(from, 'days').days;
    if (days < 0) throw badRequest('invalid_range', 'to is before from');
    if (days >= MAX_RANGE_DAYS) throw badRequest('invalid_range', `the range may span at most ${MAX_RANGE_DAYS} days`);
    return queryKpis(deps.database, { from: request.from, to: request.to, timeZone, groupBy: request.groupBy });
  });
