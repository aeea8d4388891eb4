import { maskDigitRuns } from '../logger';

/**
 * Downloading what a user sent (Cloud API "retrieve media URL", then
 * "download media"): `GET /{media-id}` with the WhatsApp token answers
 * `{ url, mime_type, sha256, file_size, id }`; that url lives about five
 * minutes and itself needs the token. WhatsApp keeps a user's media for a
 * limited time (weeks); after that the id is unknown to Graph.
 */
export interface MediaMetadata {
  url: string;
  mimeType?: string;
  sha256?: string;
  fileSize?: number;
}

/** `gone`: Graph no longer has the media (or never had it); anything else may pass on a later try. */
export type MediaFailure = { ok: false; gone: boolean; error: string };

export interface WhatsAppMediaOptions {
  apiUrl: string;
  token: string;
  timeoutMs: number;
}

/** Media ids as Meta writes them: digits only, so an id never names a path of its own (`.`, `..`) under the API's version. */
export const MEDIA_ID_PATTERN = '^[0-9]{1,32}$';

/** Graph's "object does not exist" (code 100, e.g. subcode 33) and a plain 404/410 mean the media is gone for good. */
const GRAPH_UNKNOWN_OBJECT = 100;

async function failureOf(response: Response, what: string): Promise<MediaFailure> {
  const text = await response.text().catch(() => '');
  let code: number | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: number } }).error?.code;
  } catch {
    // not JSON: the status decides
  }
  const gone = response.status === 404 || response.status === 410 || (response.status === 400 && code === GRAPH_UNKNOWN_OBJECT);
  return { ok: false, gone, error: `${what} answered ${response.status}: ${maskDigitRuns(text.slice(0, 200))}` };
}

const networkFailure = (what: string, error: unknown): MediaFailure => ({
  ok: false,
  gone: false,
  error: `${what}: ${(error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message}`,
});

export function createWhatsAppMedia(options: WhatsAppMediaOptions) {
  const base = options.apiUrl.replace(/\/$/, '');
  const authorization = { Authorization: `Bearer ${options.token}` };
  return {
    async metadata(mediaId: string): Promise<({ ok: true } & MediaMetadata) | MediaFailure> {
      if (!options.token) return { ok: false, gone: false, error: 'WhatsApp is not configured (set WHATSAPP_TOKEN)' };
      let response: Response;
      try {
        // Encoded: the id names one Graph object, never a path of the caller's choosing.
        response = await fetch(`${base}/${encodeURIComponent(mediaId)}`, { headers: authorization, signal: AbortSignal.timeout(options.timeoutMs) });
      } catch (error) {
        return networkFailure('GET media metadata', error);
      }
      if (!response.ok) return failureOf(response, 'GET media metadata');
      const body = (await response.json().catch(() => null)) as { url?: unknown; mime_type?: unknown; sha256?: unknown; file_size?: unknown } | null;
      if (typeof body?.url !== 'string' || !/^https?:\/\//.test(body.url))
        return { ok: false, gone: false, error: 'Graph answered the media id without a download url' };
      const fileSize = Number(body.file_size);
      return {
        ok: true,
        url: body.url,
        mimeType: typeof body.mime_type === 'string' ? body.mime_type : undefined,
        sha256: typeof body.sha256 === 'string' ? body.sha256 : undefined,
        fileSize: Number.isFinite(fileSize) && fileSize >= 0 ? fileSize : undefined,
      };
    },

    /** The file's bytes as a stream: the caller reads them chunk by chunk, never all at once. */
    async download(url: string): Promise<{ ok: true; body: ReadableStream<Uint8Array>; contentLength?: number } | MediaFailure> {
      let response: Response;
      // The timeout bounds the wait for the answer's head only: a large body then streams at its own pace (its reader bounds each chunk's wait).
      const head = new AbortController();
      const timer = setTimeout(() => head.abort(new DOMException('timed out', 'TimeoutError')), options.timeoutMs);
      try {
        response = await fetch(url, { headers: authorization, signal: head.signal });
      } catch (error) {
        return networkFailure('GET media', error);
      } finally {
        clearTimeout(timer);
      }
      if (!response.ok || !response.body) return failureOf(response, 'GET media');
      const length = Number(response.headers.get('content-length'));
      return { ok: true, body: response.body, contentLength: Number.isFinite(length) && length > 0 ? length : undefined };
    },
  };
}

export type WhatsAppMedia = ReturnType<typeof createWhatsAppMedia>;
