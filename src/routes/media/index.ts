import { Elysia } from 'elysia';
import { bearerAuth, type BearerGuard } from '../http/bearer-auth';
import { validate } from '../http/body';
import { MediaModel } from './model';
import type { MediaService } from './service';

export interface MediaRouteDeps {
  service: MediaService;
  /** The CRM's own guard: the same token and budgets as the rest of /api/crm. */
  guard: BearerGuard;
}

/** Inline for what a browser shows safely; a document is a download under its own name. */
const INLINE_TYPES = /^(image|audio|video)\//;

/** RFC 5987's value: UTF-8, percent-encoded but for its attr-chars (encodeURIComponent leaves ' ( ) * too). */
const extValue = (name: string) => encodeURIComponent(name.toWellFormed()).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

/** `filename` in ASCII for old clients, `filename*` (RFC 6266/5987) with the name as the user gave it (made servable when stored). */
export function contentDisposition(mimeType: string, fileName: string | undefined, fallbackName: string): string {
  const disposition = INLINE_TYPES.test(mimeType) ? 'inline' : 'attachment';
  const name = fileName ?? fallbackName;
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${extValue(name)}`;
}

/**
 * `GET /api/crm/media/:mediaId`: a media file a user sent, for the CRM
 * (Bearer CRM_API_TOKEN), streamed from disk: never read whole into memory.
 */
export const mediaRoutes = ({ service, guard }: MediaRouteDeps) =>
  new Elysia({ prefix: '/api/crm' })
    .use(bearerAuth)
    .guard({ bearer: guard })
    .get('/media/:mediaId', async ({ params }) => {
      const { mediaId } = validate(MediaModel.mediaParams, params);
      const media = await service.open(mediaId);
      return new Response(Bun.file(media.path), {
        headers: {
          'content-type': media.mimeType,
          'content-length': String(media.size),
          'content-disposition': contentDisposition(media.mimeType, media.fileName, mediaId),
          // What a user uploaded is never run as a page of this origin, nor sniffed into one.
          'x-content-type-options': 'nosniff',
          'content-security-policy': "sandbox; default-src 'none'",
          'cache-control': 'private, max-age=3600',
        },
      });
    });
