import { Elysia } from 'elysia';
import type { Database } from '../../db/client';
import { queryKpis } from '../../kpis/query';
import type { Rates } from '../../kpis/aggregate';
import type { Metrics } from '../../observability/metrics';
import { bearerAuth, type BearerGuard } from '../http/bearer-auth';
import { validateQuery } from '../http/body';
import { kpiRequest } from './kpi-range';
import { MetricsModel } from './model';

export interface MetricsRouteDeps {
  metrics: Metrics;
  database: Database;
  businessTimeZone: string;
  /** The first-listed WhatsApp number: KPIs grouped by number count older tickets as its. */
  primaryNumber?: string;
  /** The rate card the billable messages' cost is estimated with. */
  rates?: Rates;
  /** Bearer METRICS_TOKEN: required by the KPIs; /metrics stays open while it is unset (keep it internal then). */
  guard: BearerGuard;
}

/** Prometheus' exposition and the supervisors' KPIs for a date range, optionally by day, agent or category. */
export const metricsRoutes = ({ metrics, database, businessTimeZone, primaryNumber, rates, guard }: MetricsRouteDeps) =>
  new Elysia()
    .use(bearerAuth)
    .get(
      '/metrics',
      async ({ set }) => {
        set.headers['content-type'] = metrics.registry.contentType;
        return metrics.registry.metrics();
      },
      { bearer: { ...guard, openWhenUnset: true } },
    )
    .get(
      '/api/metrics/kpis',
      ({ query }) => queryKpis(database, { ...kpiRequest(validateQuery(MetricsModel.kpiQuery, query), businessTimeZone, primaryNumber), rates }),
      {
        bearer: guard,
      },
    );
