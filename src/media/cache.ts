import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { servableFileName, servableMimeType } from './servable';

/**
 * Media users sent, kept on disk under DATA_DIR/media once fetched from
 * WhatsApp: WhatsApp deletes them after a few weeks, and an agent must still
 * see the photo for the ticket's life. Each file sits beside a small JSON
 * sidecar (its type, name, size, checksum, when it was fetched); names are
 * the hash of the media id, so no id chooses a path. Bounded in age
 * (`retentionMs`, from the first fetch) and in total size (`maxBytes`, the
 * oldest go first). With several instances, DATA_DIR/media should be a shared
 * volume; otherwise each instance fetches its own copy while WhatsApp has it.
 */
export interface CachedMedia {
  path: string;
  size: number;
  mimeType: string;
  fileName?: string;
  /** Hex SHA-256 of the stored bytes. */
  sha256: string;
  fetchedAt: string;
}

export interface MediaCacheOptions {
  dir: string;
  retentionMs: number;
  maxBytes: number;
  /** How long one chunk of a download may take before it is given up. */
  idleTimeoutMs: number;
  now?: () => number;
}

/** What the caller knows of a file before its bytes arrive, and what they must satisfy. */
export interface IncomingMedia {
  mimeType: string;
  fileName?: string;
  /** Refused (and nothing kept) past this many bytes. */
  limitBytes: number;
  /** Checksums the bytes must match: hex or base64, as WhatsApp wrote them. */
  sha256: string[];
  /** When the whole download must be over (MEDIA_DOWNLOAD_TIMEOUT_MS), however steadily the bytes come. */
  deadline: AbortSignal;
}

export class MediaRejected extends Error {
  constructor(
    readonly reason: 'too_large' | 'checksum_mismatch' | 'stalled' | 'timed_out',
    message: string,
  ) {
    super(message);
  }
}

const matchesDigest = (digest: Buffer, expected: string) =>
  expected === digest.toString('hex') || expected.replace(/=+$/, '') === digest.toString('base64').replace(/=+$/, '');

export function createMediaCache(options: MediaCacheOptions) {
  const now = options.now ?? Date.now;
  const baseOf = (mediaId: string) => join(options.dir, createHash('sha256').update(mediaId).digest('hex'));
  let pruning: Promise<void> | undefined;

  /** A sidecar written before types and names were made servable is made so as it is read. */
  async function readSidecar(base: string): Promise<CachedMedia | undefined> {
    try {
      const media = JSON.parse(await readFile(`${base}.json`, 'utf8')) as CachedMedia;
      return { ...media, mimeType: servableMimeType(media.mimeType), fileName: servableFileName(media.fileName) };
    } catch {
      return undefined;
    }
  }

  const expired = (media: CachedMedia) => now() - Date.parse(media.fetchedAt) > options.retentionMs;

  async function remove(base: string): Promise<void> {
    await rm(`${base}.json`, { force: true });
    await rm(`${base}.bin`, { force: true });
  }

  /** Past its retention a file goes; then, past the size bound, the oldest go, never `keep` (the file being served). */
  async function prune(keep: string): Promise<void> {
    const names = await readdir(options.dir).catch(() => [] as string[]);
    const files: { base: string; size: number; fetchedAt: number }[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const base = join(options.dir, name.slice(0, -'.json'.length));
      const media = await readSidecar(base);
      if (!media || expired(media)) {
        if (base !== keep) await remove(base);
        continue;
      }
      files.push({ base, size: media.size, fetchedAt: Date.parse(media.fetchedAt) });
    }
    let total = files.reduce((sum, file) => sum + file.size, 0);
    for (const file of files.sort((a, b) => a.fetchedAt - b.fetchedAt)) {
      if (total <= options.maxBytes) break;
      if (file.base === keep) continue;
      await remove(file.base);
      total -= file.size;
    }
  }

  /** Reads the stream to a temporary file, hashing as it goes: at most one chunk is in memory at a time. */
  async function writeChecked(body: ReadableStream<Uint8Array>, temporary: string, incoming: IncomingMedia): Promise<{ size: number; sha256: string }> {
    const hash = createHash('sha256');
    const file = await open(temporary, 'w');
    const reader = body.getReader();
    const timedOut = () => new MediaRejected('timed_out', 'the download did not end within MEDIA_DOWNLOAD_TIMEOUT_MS');
    const deadline = new Promise<never>((_, reject) => {
      if (incoming.deadline.aborted) reject(timedOut());
      else incoming.deadline.addEventListener('abort', () => reject(timedOut()), { once: true });
    });
    let size = 0;
    try {
      for (;;) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new MediaRejected('stalled', `no data from WhatsApp for ${options.idleTimeoutMs} ms`)), options.idleTimeoutMs);
        });
        const { done, value } = await Promise.race([reader.read(), stalled, deadline]).finally(() => clearTimeout(timer));
        if (done) break;
        size += value.byteLength;
        if (size > incoming.limitBytes) throw new MediaRejected('too_large', `the file exceeds WhatsApp's ${incoming.limitBytes} bytes for its type`);
        hash.update(value);
        await file.write(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => {});
      // A stream tied to the deadline (the download's own) fails with the abort: that is the deadline too.
      throw incoming.deadline.aborted && !(error instanceof MediaRejected) ? timedOut() : error;
    } finally {
      await file.close();
    }
    const digest = hash.digest();
    const mismatch = incoming.sha256.find((expected) => !matchesDigest(digest, expected));
    if (mismatch !== undefined) throw new MediaRejected('checksum_mismatch', "the file's SHA-256 is not the one WhatsApp announced");
    return { size, sha256: digest.toString('hex') };
  }

  return {
    /** The stored file, unless it was never fetched, is past its retention, or was evicted. */
    async get(mediaId: string): Promise<CachedMedia | undefined> {
      const base = baseOf(mediaId);
      const media = await readSidecar(base);
      if (!media) return undefined;
      if (expired(media) || !(await stat(media.path).catch(() => undefined))) {
        await remove(base);
        return undefined;
      }
      return media;
    },

    /** Removes a media's file: no user message names it any more. */
    async forget(mediaId: string): Promise<void> {
      await remove(baseOf(mediaId));
    },

    /** Stores a file whose bytes match what WhatsApp announced; anything else leaves no trace. */
    async store(mediaId: string, body: ReadableStream<Uint8Array>, incoming: IncomingMedia): Promise<CachedMedia> {
      await mkdir(options.dir, { recursive: true });
      const base = baseOf(mediaId);
      const temporary = `${base}.${process.pid}.${now()}.${Math.random().toString(36).slice(2)}.part`;
      try {
        const { size, sha256 } = await writeChecked(body, temporary, incoming);
        const media: CachedMedia = {
          path: `${base}.bin`,
          size,
          mimeType: servableMimeType(incoming.mimeType),
          fileName: servableFileName(incoming.fileName),
          sha256,
          fetchedAt: new Date(now()).toISOString(),
        };
        // Renames are atomic: a reader sees the whole file or none, even with two instances fetching the same id.
        await rename(temporary, media.path);
        await writeFile(`${base}.json.${process.pid}`, JSON.stringify(media));
        await rename(`${base}.json.${process.pid}`, `${base}.json`);
        pruning ??= prune(base).finally(() => (pruning = undefined));
        await pruning;
        return media;
      } finally {
        await rm(temporary, { force: true });
      }
    },
  };
}

export type MediaCache = ReturnType<typeof createMediaCache>;
