import { DateTime } from 'luxon';
import { badRequest } from '../../errors';
import { isTimeZone, type KpiRequest } from '../../kpis/query';
import type { MetricsModel } from './model';

/** A year and a bit: enough for year-on-year, small enough to answer in a second. */
export const MAX_RANGE_DAYS = 400;

/** The KPI request a query asks for: real dates in a known time zone (the business's by default), in order, within the range cap. */
export function kpiRequest(query: MetricsModel.KpiQuery, businessTimeZone: string): KpiRequest {
  const timeZone = query.tz ?? businessTimeZone;
  if (!isTimeZone(timeZone)) throw badRequest('invalid_time_zone', `tz: unknown time zone ${JSON.stringify(timeZone)}`);
  const from = DateTime.fromISO(query.from, { zone: timeZone });
  const to = DateTime.fromISO(query.to, { zone: timeZone });
  if (!from.isValid || !to.isValid) throw badRequest('invalid_request', 'from and to must be real dates (YYYY-MM-DD)');
  const days = to.diff(from, 'days').days;
  if (days < 0) throw badRequest('invalid_range', 'to is before from');
  if (days >= MAX_RANGE_DAYS) throw badRequest('invalid_range', `the range may span at most ${MAX_RANGE_DAYS} days`);
  return { from: query.from, to: query.to, timeZone, groupBy: query.groupBy };
}
