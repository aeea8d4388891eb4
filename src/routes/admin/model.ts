import { t } from 'elysia';

/** Operators' requests on the dead-letter stream. */
export namespace AdminModel {
  const EntryId = t.String({ pattern: '^\\d+-\\d+$' });

  export const listQuery = t.Object({
    count: t.Optional(t.Integer({ minimum: 1, maximum: 500 })),
    after: t.Optional(EntryId),
  });
  export type ListQuery = typeof listQuery.static;

  /** Named entries, or all of them: never an empty list that would look like success. */
  export const redrive = t.Union([
    t.Object({ ids: t.Array(EntryId, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
    t.Object({ all: t.Literal(true) }, { additionalProperties: false }),
  ]);
  export type Redrive = typeof redrive.static;
}
