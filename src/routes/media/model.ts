import { Type } from '@sinclair/typebox';
import { MEDIA_ID_PATTERN } from '../../integrations/whatsapp-media';

/** The media route's path and answers, for validation and the API docs. */
export namespace MediaModel {
  /** WhatsApp's media ids are digits, and nothing else is asked of Graph with the token. */
  export const mediaParams = Type.Object({
    mediaId: Type.String({
      pattern: MEDIA_ID_PATTERN,
      description: "a user-message's mediaId (the last part of its mediaUrl)",
    }),
  });
  export type MediaParams = typeof mediaParams.static;

  /** 200: the file's bytes, with its Content-Type, Content-Length and Content-Disposition. */
  export const file = Type.String({ format: 'binary', description: "the media's bytes as the user sent them; SHA-256 checked" });

  /**
   * 404 `media_not_found` (no user message names that id), 410 `media_expired` (WhatsApp no longer has it), 502 `media_*`
   * (WhatsApp unreachable or too slow, a download host not allowed, or a file it should not have sent).
   */
  export const error = Type.Object({ success: Type.Literal(false), error: Type.String(), message: Type.String() });
}
