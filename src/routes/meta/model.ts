import { t } from 'elysia';

/** Meta's requests. The signed POST bodies are Meta's own shapes, read by integrations/meta-webhooks. */
export namespace MetaModel {
  /** The GET /webhook verification handshake. */
  export const verification = t.Object({
    'hub.mode': t.Optional(t.String()),
    'hub.verify_token': t.Optional(t.String()),
    'hub.challenge': t.Optional(t.String()),
  });
  export type Verification = typeof verification.static;
}
