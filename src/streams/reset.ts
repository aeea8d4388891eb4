import type Redis from 'ioredis';
import type { AppliedMark } from '../db/partition-owners';
import { errorSummary } from '../errors';
import type { Logger } from '../logger';
import { nodeName, primariesOf, runIdOf } from '../redis/persistence';
import type { StreamKeys } from './codec';

/** What can be known when Redis is found behind Postgres: the loss itself (what Redis held and Postgres had not applied) cannot be counted. */
export interface ResetReport {
  partition: number;
  stream: string;
  /** The highest entry id Postgres applied from the partition, and when its last batch committed. */
  lastAppliedEntryId: string;
  lastAppliedAt: string;
  /** What Redis has instead: no stream, a stream without the consumer group (made anew by an XADD), or a stream that ends below. */
  found: 'stream gone' | 'group gone' | 'stream behind';
  /** Where Redis's stream now ends (XINFO STREAM's last-generated-id); null when the stream is gone. */
  redisLastEntryId: string | null;
  detectedAt: string;
}

export interface ResetDetectorOptions {
  redis: Redis;
  keys: StreamKeys;
  logger: Logger;
  markOf(partition: number): Promise<AppliedMark | null>;
  onReset(report: ResetReport): void;
}

/** `<ms>-<seq>` compared in stream order. */
export function compareEntryIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  return aMs !== bMs ? (aMs < bMs ? -1 : 1) : aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

const field = (flat: unknown[], name: string) => {
  const at = flat.indexOf(name);
  return at >= 0 && at % 2 === 0 ? String(flat[at + 1]) : undefined;
};

/** The highest id the stream ever gave (trimming keeps it) and whether the worker's group is on it; null when there is no stream. */
async function streamState(redis: Redis, stream: string, group: string): Promise<{ lastId: string; hasGroup: boolean } | null> {
  try {
    const info = (await redis.xinfo('STREAM', stream)) as unknown[];
    const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
    return { lastId: field(info, 'last-generated-id') ?? '0-0', hasGroup: groups.some((flat) => field(flat, 'name') === group) };
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return null;
    throw error;
  }
}

const FOUND: Record<ResetReport['found'], (last: string | null) => string> = {
  'stream gone': () => 'its stream is gone',
  'group gone': (last) => `its stream was made anew without the consumer group (it ends at ${last})`,
  'stream behind': (last) => `its stream ends at ${last}`,
};

/**
 * Finds a Redis that came back without what it acknowledged (a restart
 * without AOF, a lost volume, an empty replica promoted, a FLUSHALL) for a
 * partition Postgres applied entries from: its stream is gone; or it exists
 * without the consumer group (the group is made before the first read and
 * lives as long as the stream, so a stream without it was made anew by a
 * producer's XADD after the loss, with ids that may already be past what was
 * applied); or it ends below the highest entry id applied (a Redis that came
 * back from an older copy). Events acknowledged and not yet applied when
 * Redis lost them are lost for good (Meta does not resend what got a 200):
 * this cannot repair them, only say so, loudly.
 *
 * Why stream ids never go backwards across a reset. A new stream gives ids
 * from Redis's clock, so a server whose clock is behind the old one's (a
 * replica on another host) could give ids the old stream already gave. The
 * dedupe does not care (processed_events is keyed by the event's own id:
 * wamid, Idempotency-Key, deadline and due time, never the entry id), and
 * order within a conversation is the order of XADD on the new stream, which
 * the group made at 0 delivers from its start. What would care: an entry's
 * failure count (keyed by its entry id, 24 h) could be charged to a new
 * entry with an old id, and the watermark itself would stay above the new
 * stream and report a reset at every check. So before anything is read the
 * stream's last id is raised to the watermark (XSETID): every later XADD
 * gets a larger id. XSETID only ever raises it here (Redis refuses an id
 * below the stream's last entry), never below a deleted or trimmed id.
 */
export function createResetDetector(options: ResetDetectorOptions) {
  const { redis, keys, logger } = options;

  async function raiseStreamId(stream: string, floor: string): Promise<void> {
    await redis.xgroup('CREATE', stream, keys.group, '0', 'MKSTREAM').catch((error: Error) => {
      if (!error.message.includes('BUSYGROUP')) throw error;
    });
    await redis.xsetid(stream, floor).catch((error: Error) => {
      // Entries came in since, with higher ids: the stream is past the watermark already.
      if (!/smaller than/i.test(error.message)) throw error;
    });
  }

  async function check(partition: number): Promise<boolean> {
    const mark = await options.markOf(partition);
    if (!mark) return false;
    const stream = keys.partition(partition);
    const state = await streamState(redis, stream, keys.group);
    const found: ResetReport['found'] | null = !state
      ? 'stream gone'
      : !state.hasGroup
        ? 'group gone'
        : compareEntryIds(state.lastId, mark.entryId) < 0
          ? 'stream behind'
          : null;
    if (!found) return false;
    const report: ResetReport = {
      partition,
      stream,
      lastAppliedEntryId: mark.entryId,
      lastAppliedAt: mark.at.toISOString(),
      found,
      redisLastEntryId: state?.lastId ?? null,
      detectedAt: new Date().toISOString(),
    };
    logger.error(
      { event: 'redis.reset_detected', ...report },
      `Redis lost acknowledged events of partition ${partition}: ${FOUND[found](report.redisLastEntryId)}, while Postgres applied ` +
        `its stream up to ${mark.entryId} (last batch at ${report.lastAppliedAt}). Events acknowledged (200) and not yet applied ` +
        'when Redis lost them are lost; Meta does not resend them. Run Redis with AOF',
    );
    options.onReset(report);
    await raiseStreamId(stream, mark.entryId);
    return true;
  }

  /** Checks in progress: a takeover and the restart check asking together share one (one report, not two). */
  const checking = new Map<number, Promise<boolean>>();

  return {
    /** Run before a partition is read (the worker's takeover) and after a Redis restart; true when a reset was found. */
    checkPartition(partition: number): Promise<boolean> {
      let pending = checking.get(partition);
      if (!pending) {
        pending = check(partition).finally(() => checking.delete(partition));
        checking.set(partition, pending);
      }
      return pending;
    },
  };
}

export type ResetDetector = ReturnType<typeof createResetDetector>;

export interface RunIdWatchOptions {
  redis: Redis;
  logger: Logger;
  intervalMs: number;
  /**
   * A primary answered with another run id: it restarted, or another server took its address (a failover).
   * Resolves to what the checks found, for the log line.
   */
  onRestart(node: string): Promise<string>;
}

/**
 * Remembers each primary's run id and asks again every interval: a new one
 * means Redis restarted under the service (a reconnect alone keeps it). What
 * a restart kept depends on its persistence: the partitions are checked, and
 * one line says what was found.
 */
export function watchRunIds(options: RunIdWatchOptions) {
  const { redis, logger } = options;
  const known = new Map<string, string>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;

  async function check(): Promise<void> {
    for (const node of primariesOf(redis)) {
      const name = nodeName(node);
      const runId = await runIdOf(node).catch(() => undefined);
      if (!runId) continue;
      const before = known.get(name);
      known.set(name, runId);
      if (before === undefined || before === runId) continue;
      const fields = { event: 'redis.restarted', node: name, previousRunId: before, runId };
      const restarted = `Redis (${name}) restarted: run id ${before.slice(0, 8)} → ${runId.slice(0, 8)}`;
      await options.onRestart(name).then(
        (found) => logger.warn(fields, `${restarted}; ${found}`),
        (error: unknown) => logger.error({ ...fields, error: errorSummary(error) }, `${restarted}; could not check its streams against Postgres`),
      );
    }
  }

  const schedule = () => {
    if (!stopped)
      timer = setTimeout(
        () =>
          void check()
            .catch(() => {})
            .finally(schedule),
        options.intervalMs,
      );
  };

  return {
    async start(): Promise<void> {
      await check();
      schedule();
    },
    stop(): void {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
