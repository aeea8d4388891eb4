import { Type } from '@sinclair/typebox';

/** Operators' requests: the dead-letter stream, a subscriber's export and erasure. */
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

  /** A subscriber named by any of the ids they are known by (at least one: privacy/subscribers.ts says so, naming them). */
  const Identifier = (description: string) => Type.Optional(Type.String({ maxLength: 200, description }));
  const subscriberIds = {
    phone: Identifier('their phone, as WhatsApp gives it (573001234567; a leading + and spaces are allowed)'),
    userId: Identifier('their business-scoped user id (BSUID), CO.1047385771169864'),
    username: Identifier('their WhatsApp username'),
    document: Identifier('the document number they authenticated with'),
  };
  export const subscriberQuery = Type.Object(subscriberIds);
  export const erase = Type.Object(subscriberIds, { additionalProperties: false });
  export type Erase = typeof erase.static;
}
