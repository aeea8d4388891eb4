import { createHash } from 'node:crypto';
import { json, type FakeServer } from './fakes';
import { SECRETS } from './harness';

/**
 * WhatsApp's media API on the Graph fake, as the Cloud API serves it:
 * `GET /{version}/{media-id}` (Bearer) answers `{ url, mime_type, sha256,
 * file_size, id }`, and that url (Bearer again) answers the bytes. An id it
 * does not hold gets Graph's "object does not exist" (400, code 100), as a
 * media past WhatsApp's retention does.
 */
export interface GraphMediaFile {
  mimeType: string;
  size: number;
  /** Hex SHA-256 Graph announces (by default the bytes' own). */
  sha256?: string;
  /** A fresh stream of the bytes for each download. */
  body(): ReadableStream<Uint8Array>;
}

const DOWNLOAD_PATH = '/whatsapp_business/attachments/';

/** Claims the media requests on `graph` for `files` (mutable: add or remove ids as a test goes); returns the function that stops. */
export function serveMedia(graph: FakeServer, files: Map<string, GraphMediaFile>): () => void {
  return graph.respond((request) => {
    if (request.method !== 'GET') return undefined;
    if (request.headers.get('authorization') !== `Bearer ${SECRETS.whatsappToken}`) {
      return json({ error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 } }, 401);
    }
    if (request.path === DOWNLOAD_PATH) {
      const file = files.get(request.query.get('mid') ?? '');
      return file
        ? new Response(file.body(), { headers: { 'content-type': file.mimeType, 'content-length': String(file.size) } })
        : new Response('not found', { status: 404 });
    }
    const mediaId = /^\/v[\d.]+\/([^/]+)$/.exec(request.path)?.[1];
    if (!mediaId) return undefined;
    const file = files.get(decodeURIComponent(mediaId));
    if (!file) {
      return json(
        {
          error: { message: `Unsupported get request. Object with ID '${mediaId}' does not exist`, type: 'GraphMethodException', code: 100, error_subcode: 33 },
        },
        400,
      );
    }
    return json({
      messaging_product: 'whatsapp',
      url: `${graph.url}${DOWNLOAD_PATH}?mid=${encodeURIComponent(mediaId)}&ext=1`,
      mime_type: file.mimeType,
      sha256: file.sha256,
      file_size: file.size,
      id: mediaId,
    });
  });
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A small file held in memory. */
export function fileOf(bytes: Uint8Array, mimeType: string): GraphMediaFile {
  return { mimeType, size: bytes.byteLength, sha256: sha256Hex(bytes), body: () => new Blob([bytes as Uint8Array<ArrayBuffer>]).stream() };
}

const CHUNK = 64 * 1024;

/** The i-th chunk of a large file's deterministic content. */
function chunkOf(index: number, length: number): Uint8Array {
  const chunk = new Uint8Array(length);
  for (let i = 0; i < length; i++) chunk[i] = (index * 7 + i * 13) & 0xff;
  return chunk;
}

/**
 * A large file generated chunk by chunk as it is read (the fake never holds
 * it whole); `pauseAt` bytes into each download it waits for `resume()`.
 */
export function largeFile(size: number, mimeType: string, pauseAt?: number) {
  const hash = createHash('sha256');
  for (let offset = 0, index = 0; offset < size; offset += CHUNK, index++) hash.update(chunkOf(index, Math.min(CHUNK, size - offset)));
  let resume!: () => void;
  const resumed = new Promise<void>((resolve) => (resume = resolve));
  const file: GraphMediaFile = {
    mimeType,
    size,
    sha256: hash.digest('hex'),
    body: () => {
      let offset = 0;
      let index = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (offset >= size) return controller.close();
          if (pauseAt !== undefined && offset >= pauseAt) await resumed;
          const length = Math.min(CHUNK, size - offset);
          controller.enqueue(chunkOf(index++, length));
          offset += length;
        },
      });
    },
  };
  return { file, resume };
}
