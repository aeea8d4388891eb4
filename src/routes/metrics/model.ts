import { t } from 'elysia';

/** The supervisors' KPI query. */
export namespace MetricsModel {
  const IsoDate = t.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

  export const kpiQuery = t.Object({
    from: IsoDate,
    to: IsoDate,
    tz: t.Optional(t.String({ maxLength: 64 })),
    groupBy: t.Optional(t.Union([t.Literal('day'), t.Literal('agent'), t.Literal('category')])),
  });
  export type KpiQuery = typeof kpiQuery.static;
}
