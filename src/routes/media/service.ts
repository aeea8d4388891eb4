import type { Queries } from '../../db/queries';
import { AppError, notFound } from '../../errors';
import type { MediaFailure, WhatsAppMedia } from '../../integrations/whatsapp-media';
import type { Logger } from '../../logger';
import { MediaRejected, type CachedMedia, type MediaCache } from '../../media/cache';

const KB = 1024;
const MB = 1024 * KB;

/**
 * WhatsApp's own size limits per media type (Cloud API "supported media
 * types"): a file past them did not come from a user, and is not stored.
 * An animated sticker may be 500 KB (a static one 100 KB).
 */
export const MEDIA_SIZE_LIMITS: Record<string, number> = {
  image: 5 * MB,
  audio: 16 * MB,
  video: 16 * MB,
  document: 100 * MB,
  sticker: 500 * KB,
};

export interface MediaServiceDeps {
  queries: Pick<Queries, 'userMedia'>;
  whatsapp: WhatsAppMedia;
  cache: MediaCache;
  logger: Logger;
  /** MEDIA_DOWNLOAD_TIMEOUT_MS: the whole of one fetch, from asking Graph to the last byte stored. */
  downloadTimeoutMs: number;
}

const gone = (mediaId: string) =>
  new AppError(410, 'media_expired', `WhatsApp no longer has media ${mediaId} and it was not kept here (media are kept by WhatsApp for a limited time)`);
const unavailable = (message: string) => new AppError(502, 'media_unavailable', message, true);
const hostRefused = (mediaId: string, host: string) =>
  new AppError(
    502,
    'media_host_refused',
    `WhatsApp named ${host} for media ${mediaId}, which is not an allowed media host (WHATSAPP_MEDIA_HOSTS); nothing was sent there`,
  );

/**
 * Serves the CRM the media a user sent: from the cache, else fetched once
 * from WhatsApp with the service's token, checked (size, SHA-256) and
 * stored. Only ids found in a user's message are ever fetched: the route is
 * no proxy to Graph for whatever id a caller names.
 */
export function createMediaService(deps: MediaServiceDeps) {
  const inFlight = new Map<string, Promise<CachedMedia>>();

  /** The CRM hears 410, 502 host refused, or 502 worth a retry; the log says why (hosts only: never a url's query). */
  function failed(mediaId: string, failure: MediaFailure, retryLater: string): AppError {
    if (failure.gone) return gone(mediaId);
    if (failure.refusedHost !== undefined) {
      deps.logger.warn({ event: 'media.host_refused', mediaId, host: failure.refusedHost }, failure.error);
      return hostRefused(mediaId, failure.refusedHost);
    }
    deps.logger.warn({ event: 'media.fetch_failed', mediaId, error: failure.error }, retryLater);
    return unavailable(retryLater);
  }

  async function fetchAndStore(mediaId: string, type: string, webhook: { mimeType?: string; filename?: string; sha256?: string }): Promise<CachedMedia> {
    const limitBytes = MEDIA_SIZE_LIMITS[type] ?? MEDIA_SIZE_LIMITS.document!;
    const deadline = AbortSignal.timeout(deps.downloadTimeoutMs);
    const metadata = await deps.whatsapp.metadata(mediaId, deadline);
    if (!metadata.ok) throw failed(mediaId, metadata, `could not reach WhatsApp for media ${mediaId}; retry later`);
    if (metadata.fileSize !== undefined && metadata.fileSize > limitBytes) {
      throw new AppError(
        502,
        'media_too_large',
        `WhatsApp describes media ${mediaId} as ${metadata.fileSize} bytes, past the ${limitBytes} a ${type} may have`,
      );
    }
    const download = await deps.whatsapp.download(metadata.url, deadline);
    if (!download.ok) throw failed(mediaId, download, `could not download media ${mediaId} from WhatsApp; retry later`);
    try {
      return await deps.cache.store(mediaId, download.body, {
        mimeType: metadata.mimeType ?? webhook.mimeType ?? 'application/octet-stream',
        fileName: webhook.filename,
        limitBytes,
        sha256: [metadata.sha256, webhook.sha256].filter((sha): sha is string => sha !== undefined),
        deadline,
      });
    } catch (error) {
      if (!(error instanceof MediaRejected)) throw error;
      deps.logger.warn({ event: 'media.rejected', mediaId, type, reason: error.reason }, 'media from WhatsApp refused');
      const retryable = error.reason === 'stalled' || error.reason === 'timed_out';
      throw retryable ? unavailable(error.message) : new AppError(502, `media_${error.reason}`, `media ${mediaId}: ${error.message}`);
    }
  }

  return {
    /**
     * The stored file of a media id some user's message names; 404 for an id none names (never sent, or the
     * messages are gone: a kept file then goes too), 410 when WhatsApp no longer has it.
     */
    async open(mediaId: string): Promise<CachedMedia> {
      const sent = await deps.queries.userMedia(mediaId);
      if (!sent) {
        await deps.cache.forget(mediaId);
        throw notFound('media_not_found', `no user message carries media ${mediaId}`);
      }
      const cached = await deps.cache.get(mediaId);
      if (cached) return cached;
      let pending = inFlight.get(mediaId);
      if (!pending) {
        pending = fetchAndStore(mediaId, sent.type, sent.media).finally(() => inFlight.delete(mediaId));
        inFlight.set(mediaId, pending);
      }
      return pending;
    },
  };
}

export type MediaService = ReturnType<typeof createMediaService>;
