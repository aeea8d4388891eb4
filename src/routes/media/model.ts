import { Type } from '@sinclair/typebox';

/** The media route's path and answers, for validation and the API docs. */
export namespace MediaModel {
  /** WhatsApp's media ids are digits; a little more is allowed, never a path separator. */
  export const mediaParams = Type.Object({
    mediaId: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[A-Za-z0-9._-]+$',
      description: "a user-message's mediaId (the last part of its mediaUrl)",
    }),
  });
  export type MediaParams = typeof mediaParams.static;

  /** 200: the file's bytes, with its Content-Type, Content-Length and Content-Disposition. */
  export const file = Type.String({ format: 'binary', description: "the media's bytes as the user sent them; SHA-256 checked" });

  /** 404 `media_not_found` (no user sent that id), 410 `media_expired` (WhatsApp no longer has it), 502 `media_*` (WhatsApp unreachable, or a file it should not have sent). */
  export const error = Type.Object({ success: Type.Literal(false), error: Type.String(), message: Type.String() });
}
