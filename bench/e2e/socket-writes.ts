/**
 * Preloaded into the measured service (`PRELOAD=bench/e2e/socket-writes.ts
 * bun run bench:e2e`): counts the writes on every node:net socket (the
 * Postgres and Redis clients) by remote port, with their bytes and the wall
 * time spent inside write(), and prints the totals to stderr every 5 s. On a
 * loaded machine a write wakes its peer and the writer is often descheduled
 * inside it: this is where the CPU profile's `writeBuffered` time comes from.
 */
import net from 'node:net';

const totals = new Map<string, { writes: number; bytes: number; ms: number }>();
const write = net.Socket.prototype.write;

net.Socket.prototype.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
  const startedAt = performance.now();
  const result = (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  const total = totals.get(String(this.remotePort)) ?? { writes: 0, bytes: 0, ms: 0 };
  total.ms += performance.now() - startedAt;
  total.writes++;
  total.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : ((chunk as Uint8Array | undefined)?.byteLength ?? 0);
  totals.set(String(this.remotePort), total);
  return result;
} as typeof net.Socket.prototype.write;

const startedAt = Date.now();
setInterval(() => {
  const lines = [...totals].map(
    ([port, total]) =>
      `  port ${port}: ${total.writes} writes, ${(total.bytes / 1024).toFixed(0)} KiB, ${total.ms.toFixed(0)} ms inside write(), ${((total.ms * 1000) / Math.max(1, total.writes)).toFixed(1)} µs each`,
  );
  console.error(`[socket writes after ${((Date.now() - startedAt) / 1000).toFixed(0)} s]\n${lines.join('\n')}`);
}, 5000).unref();
