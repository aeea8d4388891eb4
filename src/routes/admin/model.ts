import { Type } from '@sinclair/typebox';

/** Operators' requests on the dead-letter stream. */
export namespace AdminModel {
  /**
   * A stream entry id, `<ms>-<seq>`, each part a 64-bit integer to Redis. At
   * most 19 digits each keeps them below 2^64 (and `after`'s exclusive
   * `(<id>` can still step past one): Redis would refuse a larger one.
   */
  const EntryId = Type.String({ pattern: '^\\d{1,19}-\\d{1,19}$', description: 'a stream entry id: <ms>-<seq>, each at most 19 digits' });

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
