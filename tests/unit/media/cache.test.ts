import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMediaCache, MediaRejected } from '../../../src/media/cache';

const DAY_MS = 24 * 3600 * 1000;
/** A download without a deadline of its own (the idle timeout still applies). */
const NO_DEADLINE = new AbortController().signal;
const hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const streamOf = (...chunks: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
const bytes = (size: number, seed = 1) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251);

let dir: string;
let clock: number;
const cache = (overrides: { maxBytes?: number } = {}) =>
  createMediaCache({ dir, retentionMs: 30 * DAY_MS, maxBytes: overrides.maxBytes ?? 1024 * 1024, idleTimeoutMs: 200, now: () => clock });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hb-media-'));
  clock = Date.parse('2026-11-30T15:00:00Z');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the media cache', () => {
  test('a file whose bytes match the announced checksum is kept and found again', async () => {
    const file = bytes(3000);
    const stored = await cache().store('111', streamOf(file.slice(0, 1000), file.slice(1000)), {
      mimeType: 'image/jpeg',
      limitBytes: 5000,
      sha256: [hex(file)],
      deadline: NO_DEADLINE,
    });
    expect(stored).toMatchObject({ size: 3000, mimeType: 'image/jpeg', sha256: hex(file) });
    expect(new Uint8Array(await Bun.file(stored.path).arrayBuffer())).toEqual(file);
    expect(await cache().get('111')).toEqual(stored);
  });

  test("WhatsApp's checksum is read in hex or in base64", async () => {
    const file = bytes(100);
    const base64 = createHash('sha256').update(file).digest('base64');
    await expect(
      cache().store('222', streamOf(file), { mimeType: 'audio/ogg', limitBytes: 5000, sha256: [base64], deadline: NO_DEADLINE }),
    ).resolves.toMatchObject({ size: 100 });
  });

  test('a file that does not match its checksum is refused and leaves nothing on disk', async () => {
    const promise = cache().store('333', streamOf(bytes(100)), {
      mimeType: 'image/png',
      limitBytes: 5000,
      sha256: [hex(bytes(100, 2))],
      deadline: NO_DEADLINE,
    });
    await expect(promise).rejects.toMatchObject({ reason: 'checksum_mismatch' });
    expect(await readdir(dir)).toEqual([]);
    expect(await cache().get('333')).toBeUndefined();
  });

  test('a file past its type’s size limit is refused as soon as the limit is passed', async () => {
    const promise = cache().store('444', streamOf(bytes(600), bytes(600)), { mimeType: 'image/webp', limitBytes: 1000, sha256: [], deadline: NO_DEADLINE });
    await expect(promise).rejects.toBeInstanceOf(MediaRejected);
    await expect(promise).rejects.toMatchObject({ reason: 'too_large' });
    expect(await readdir(dir)).toEqual([]);
  });

  test('a download that stops sending is given up, not waited on forever', async () => {
    const silent = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(bytes(10)) });
    await expect(cache().store('555', silent, { mimeType: 'video/mp4', limitBytes: 1000, sha256: [], deadline: NO_DEADLINE })).rejects.toMatchObject({
      reason: 'stalled',
    });
  });

  test('a download still sending when its deadline passes is given up, and leaves nothing on disk', async () => {
    const deadline = new AbortController();
    let sent = 0;
    // Never idle for the cache's 200 ms: only the deadline can end it.
    const trickle = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await Bun.sleep(20);
        controller.enqueue(bytes(1, sent++));
        if (sent === 5) deadline.abort();
      },
    });
    const promise = cache().store('556', trickle, { mimeType: 'video/mp4', limitBytes: 1000, sha256: [], deadline: deadline.signal });
    await expect(promise).rejects.toMatchObject({ reason: 'timed_out' });
    expect(await readdir(dir)).toEqual([]);
  });

  test('a type or a name a header cannot carry is stored servable, and so is one read from an older sidecar', async () => {
    const stored = await cache().store('557', streamOf(bytes(10)), {
      mimeType: 'image/png\r\nX-Injected: 1',
      fileName: 'a/b\r\n.png',
      limitBytes: 1000,
      sha256: [],
      deadline: NO_DEADLINE,
    });
    expect(stored).toMatchObject({ mimeType: 'application/octet-stream', fileName: 'a_b.png' });
    const sidecar = (await readdir(dir)).find((name) => name.endsWith('.json'))!;
    await Bun.write(join(dir, sidecar), JSON.stringify({ ...stored, mimeType: 'text/plain\r\nX-Injected: 1', fileName: '..' }));
    expect(await cache().get('557')).toMatchObject({ mimeType: 'application/octet-stream', fileName: undefined });
  });

  test('past its retention a file is gone', async () => {
    await cache().store('666', streamOf(bytes(10)), { mimeType: 'image/jpeg', limitBytes: 1000, sha256: [], deadline: NO_DEADLINE });
    clock += 31 * DAY_MS;
    expect(await cache().get('666')).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  test('past the size bound the oldest files go first, never the one just stored', async () => {
    const bounded = cache({ maxBytes: 2500 });
    for (const id of ['a', 'b', 'c']) {
      await bounded.store(id, streamOf(bytes(1000)), { mimeType: 'image/jpeg', limitBytes: 5000, sha256: [], deadline: NO_DEADLINE });
      clock += 1000;
    }
    expect(await bounded.get('a')).toBeUndefined();
    expect(await bounded.get('b')).toBeDefined();
    expect(await bounded.get('c')).toBeDefined();
  });
});
