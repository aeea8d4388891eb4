/**
 * The media route's memory: a user's large document is fetched from the
 * Graph fake, checked, written to DATA_DIR/media and streamed to the CRM,
 * while the process's resident memory is sampled. The service, the fakes
 * and this client share one process (the tests' harness), and every part
 * streams, so the growth should stay far below the file's size.
 *
 *   bun bench/media-memory.ts            # SIZE_MB=100 (WhatsApp's limit for a document)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activeTicketFor, eventually, SECRETS, sendUser, startStack } from '../tests/support/harness';
import { largeFile, serveMedia } from '../tests/support/media';

const SIZE = Number(process.env.SIZE_MB ?? 100) * 1024 * 1024;
const MB = 1024 * 1024;
const phone = '573000009901';

const dataDir = await mkdtemp(join(tmpdir(), 'hb-bench-media-'));
const stack = await startStack('bench_media', { DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
try {
  const { file } = largeFile(SIZE, 'application/pdf');
  serveMedia(stack.graph, new Map([['990001', file]]));
  await activeTicketFor(stack, phone, '2020202020');
  const waMessageId = await sendUser(stack, phone, { type: 'document', document: { id: '990001', mime_type: 'application/pdf', filename: 'big.pdf' } });
  const message = await eventually(
    () => stack.crm.to('/api/bot/user-message').find((r) => (r.body as { waMessageId?: string }).waMessageId === waMessageId)?.body as { mediaUrl: string },
    'user-message',
  );

  const url = `${stack.service.url}${new URL(message.mediaUrl).pathname}`;
  // First the fetch from WhatsApp to disk and on to the CRM, then the same file again, from disk only.
  for (const phase of ['from WhatsApp', 'from disk']) {
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const response = await fetch(url, { headers: { authorization: `Bearer ${SECRETS.crmToken}` } });
    let received = 0;
    for await (const chunk of response.body!) received += chunk.byteLength;
    clearInterval(sampler);
    if (response.status !== 200 || received !== SIZE) throw new Error(`answered ${response.status} with ${received} bytes`);
    console.log(
      `${SIZE / MB} MB file ${phase}: RSS before ${(before / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB, growth ${((peak - before) / MB).toFixed(1)} MB`,
    );
  }
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
