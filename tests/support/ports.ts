/**
 * A port for a process a test starts (a service, a redis-server), free now and kept free of the others'.
 *
 * Asking the kernel for port 0 and handing that number on was not enough once `bun test` ran files in parallel:
 * the number is in Linux's ephemeral range (32768 and up), where every other listener on port 0 and every outgoing
 * connection of another worker takes its ports, and one took a service's port before the service bound it (its
 * readiness check was answered by another test's fake Graph). These ports are below that range, in a block of its
 * own for each worker, and checked free by binding them. 20000 to 22699 and 30000 to 32699 are the Redis Cluster's
 * nodes and their bus ports (tests/e2e/instances/redis-cluster.ts).
 */
const FIRST = 10_000;
const BLOCK = 1_000;
/** Blocks up to 19999: room for `--parallel` up to 10 (a plain `bun test` runs 4). */
const BLOCKS = 10;

const block = FIRST + (Number(process.env.BUN_TEST_WORKER_ID ?? 0) % BLOCKS) * BLOCK;
let next = Math.floor(Math.random() * BLOCK);

/** Whether a listener can take `port` on loopback now. */
export function isFree(port: number): boolean {
  try {
    Bun.listen({ hostname: '127.0.0.1', port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

export function freePort(): number {
  for (let tries = 0; tries < BLOCK; tries++) {
    // Round the block: two tests of one worker asking at once get different ports even before either binds.
    const port = block + (next++ % BLOCK);
    if (isFree(port)) return port;
  }
  throw new Error(`no free port in ${block}-${block + BLOCK - 1}`);
}
