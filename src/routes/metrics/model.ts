import { Type } from '@sinclair/typebox';

/** The supervisors' KPI query. */
export namespace MetricsModel {
  const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

  export const kpiQuery = Type.Object({
    from: IsoDate,
    to: IsoDate,
    tz: Type.Optional(Type.String({ maxLength: 64 })),
    groupBy: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('agent'), Type.Literal('category'), Type.Literal('number')])),
  });
  export type KpiQuery = typeof kpiQuery.static;
}
