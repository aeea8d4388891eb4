import { maskDigitRuns } from '../domain/masking';
import type { MediaHostPolicy } from './media-hosts';

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

/**
 * `gone`: Graph no longer has the media (or never had it); `refusedHost`: the url (or a redirect) named a host outside
 * WHATSAPP_MEDIA_HOSTS, so nothing was sent there; anything else may pass on a later try. `error` names hosts, never a
 * url's query (Graph signs its download urls there) nor the token.
 */
export type MediaFailure = { ok: false; gone: boolean; refusedHost?: string; error: string };

export interface WhatsAppMediaOptions {
  apiUrl: string;
  token: string;
  /** How long each answer's head may take. */
  timeoutMs: number;
  /** Where the token may go besides WHATSAPP_API_URL's own origin (`integrations/media-hosts.ts`). */
  allowed: MediaHostPolicy;
}

/** Media ids as Meta writes them: digits only, so an id never names a path of its own (`.`, `..`) under the API's version. */
export const MEDIA_ID_PATTERN = '^[0-9]{1,32}$';

/** Graph's "object does not exist" (code 100, e.g. subcode 33) and a plain 404/410 mean the media is gone for good. */
const GRAPH_UNKNOWN_OBJECT = 100;
/** Hops followed within the allowed hosts; a CDN may move a file once or twice, never in a loop. */
const MAX_REDIRECTS = 3;

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

/** Bun's code (ConnectionRefused, CERT_HAS_EXPIRED, ...) rather than a message that may quote the url. */
const networkFailure = (what: string, error: unknown): MediaFailure => ({
  ok: false,
  gone: false,
  error: `${what}: ${(error as Error).name === 'TimeoutError' ? 'timed out' : ((error as { code?: string }).code ?? (error as Error).name)}`,
});

export function createWhatsAppMedia(options: WhatsAppMediaOptions) {
  const base = options.apiUrl.replace(/\/$/, '');
  const authorization = { Authorization: `Bearer ${options.token}` };

  /**
   * GET with the token, to allowed hosts only: redirects are followed by hand, each hop checked before anything is
   * sent to it. `deadline` bounds the whole download (the body too: aborting it ends the body's stream); the head
   * of each answer must also come within `timeoutMs`.
   */
  async function fetchAllowed(what: string, start: string, deadline: AbortSignal): Promise<Response | MediaFailure> {
    let url = new URL(start);
    for (let hop = 0; ; hop++) {
      if (!options.allowed(url)) {
        return { ok: false, gone: false, refusedHost: url.host, error: `${what}: ${url.protocol}//${url.host} is not an allowed media host` };
      }
      const head = new AbortController();
      const timer = setTimeout(() => head.abort(new DOMException('timed out', 'TimeoutError')), options.timeoutMs);
      let response: Response;
      try {
        response = await fetch(url, { headers: authorization, redirect: 'manual', signal: AbortSignal.any([deadline, head.signal]) });
      } catch (error) {
        return networkFailure(`${what} from ${url.host}`, error);
      } finally {
        clearTimeout(timer);
      }
      const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
      if (location === null) return response;
      await response.body?.cancel();
      if (hop === MAX_REDIRECTS) return { ok: false, gone: false, error: `${what}: more than ${MAX_REDIRECTS} redirects` };
      if (!URL.canParse(location, url)) return { ok: false, gone: false, error: `${what}: ${url.host} redirected to a malformed location` };
      url = new URL(location, url);
    }
  }

  return {
    async metadata(mediaId: string, deadline: AbortSignal): Promise<({ ok: true } & MediaMetadata) | MediaFailure> {
      if (!options.token) return { ok: false, gone: false, error: 'WhatsApp is not configured (set WHATSAPP_TOKEN)' };
      const response = await fetchAllowed('GET media metadata', `${base}/${encodeURIComponent(mediaId)}`, deadline);
      if (!(response instanceof Response)) return response;
      if (!response.ok) return failureOf(response, 'GET media metadata');
      const body = (await response.json().catch(() => null)) as { url?: unknown; mime_type?: unknown; sha256?: unknown; file_size?: unknown } | null;
      if (typeof body?.url !== 'string' || !URL.canParse(body.url))
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

    /** The file's bytes as a stream: the caller reads them chunk by chunk, never all at once, until `deadline`. */
    async download(url: string, deadline: AbortSignal): Promise<{ ok: true; body: ReadableStream<Uint8Array>; contentLength?: number } | MediaFailure> {
      const response = await fetchAllowed('GET media', url, deadline);
      if (!(response instanceof Response)) return response;
      if (!response.ok || !response.body) return failureOf(response, 'GET media');
      const length = Number(response.headers.get('content-length'));
      return { ok: true, body: response.body, contentLength: Number.isFinite(length) && length > 0 ? length : undefined };
    },
  };
}

export type WhatsAppMedia = ReturnType<typeof createWhatsAppMedia>;
