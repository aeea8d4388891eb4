import { Type } from '@sinclair/typebox';

/** Operators' requests on the dead-letter stream. */
export namespace AdminModel {
  const EntryId = Type.String({ pattern: '^\\d+-\\d+$' });

  export const listQuery = Type.Object({
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    after: Type.Optional(EntryId),
  });
  export type ListQuery = typeof listQuery.static;

  /** Named entries, or all of them: never an empty list that would look like success. */
  export const redrive = Type.Union([
    Type.Object({ ids: Type.Array(EntryId, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
    Type.Object({ all: Type.Literal(true) }, { additionalProperties: false }),
  ]);
  export type Redrive = typeof redrive.static;
}
