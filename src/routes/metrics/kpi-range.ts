import { DateTime } from 'luxon';
import { badRequest } from '../../errors';
import { isTimeZone, type KpiRequest } from '../../kpis/query';
import type { MetricsModel } from './model';

/** No ticket predates WhatsApp; Postgres has no year 0, and `9999-12-31` plus the day the query adds is year 10000. */
const EARLIEST_YEAR = 2009;
const LATEST_YEAR = 2999;

/** A year and a bit: enough for year-on-year, small enough to answer in a second. */
export const MAX_RANGE_DAYS = 400;

/** The KPI request a query asks for: real dates in a known time zone (the business's by default), in order, within the range cap. */
export function kpiRequest(query: MetricsModel.KpiQuery, businessTimeZone: string, primaryNumber = ''): KpiRequest {
  const timeZone = query.tz ?? businessTimeZone;
  if (!isTimeZone(timeZone)) throw badRequest('invalid_time_zone', `tz: unknown time zone ${JSON.stringify(timeZone)}`);
  const from = DateTime.fromISO(query.from, { zone: timeZone });
  const to = DateTime.fromISO(query.to, { zone: timeZone });
  if (!from.isValid || !to.isValid) throw badRequest('invalid_request', 'from and to must be real dates (YYYY-MM-DD)');
  for (const [field, date] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (date.year < EARLIEST_YEAR || date.year > LATEST_YEAR)
      throw badRequest('invalid_request', `${field} must be a date between ${EARLIEST_YEAR} and ${LATEST_YEAR}`);
  }
  const days = to.diff(from, 'days').days;
  if (days < 0) throw badRequest('invalid_range', 'to is before from');
  if (days >= MAX_RANGE_DAYS) throw badRequest('invalid_range', `the range may span at most ${MAX_RANGE_DAYS} days`);
  return { from: query.from, to: query.to, timeZone, groupBy: query.groupBy, primaryNumber };
}
