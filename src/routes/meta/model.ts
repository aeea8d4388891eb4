import { Type } from '@sinclair/typebox';

/** Meta's requests. The signed POST bodies are Meta's own shapes, read by integrations/meta-webhooks. */
export namespace MetaModel {
  /** The GET /webhook verification handshake. */
  export const verification = Type.Object({
    'hub.mode': Type.Optional(Type.String()),
    'hub.verify_token': Type.Optional(Type.String()),
    'hub.challenge': Type.Optional(Type.String()),
  });
  export type Verification = typeof verification.static;
}
