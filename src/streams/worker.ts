import type Redis from 'ioredis';
import type { StreamEntry } from '../events';
import { errorDetail, errorSummary } from '../errors';
import type { Logger } from '../logger';
import { CodecError, deadLetterFields, decodeEvent, type StreamKeys } from './codec';
import { isPermanentFailure } from './failure';
import { DEAD_LETTER_MAXLEN, trimAcknowledged } from './retention';

export interface StreamWorkerOptions {
  /** Commands (XACK, XADD to the dead-letter stream, XAUTOCLAIM). */
  redis: Redis;
  /** A dedicated connection for the blocking XREADGROUP. */
  blockingRedis: Redis;
  keys: StreamKeys;
  partitions: number;
  consumer: string;
  batchSize: number;
  /** Failures of one entry, with the database up, before it is moved to the dead-letter stream. */
  maxDeliveries: number;
  /** Entries another consumer has held this long are taken over (that consumer is presumed dead). */
  claimIdleMs: number;
  /** Acknowledged entries are kept this long (for forensics), then trimmed with the reclaim pass. */
  retentionMs: number;
  blockMs: number;
  logger: Logger;
  /** Applies a batch of one partition; resolves once it is committed. */
  handle(entries: StreamEntry[]): Promise<void>;
  /** True when a failure is the infrastructure's (the database is down), not the entry's. */
  isOutage(): Promise<boolean>;
  onCommitted?(): void;
}

/** A failure count outlives any retry sequence; an entry applied later in a whole batch leaves its count to expire. */
const FAILURE_COUNT_TTL_S = 24 * 3600;

/** How long a partition whose batch failed waits before it tries again. */
const PARTITION_RETRY_MS = 1000;

type RawEntry = [id: string, fields: string[]];
type ReadReply = [stream: string, entries: RawEntry[]][] | null;

/**
 * The group (or the whole stream) was deleted under the worker: FLUSHDB, a
 * failover to an empty replica, an operator's DEL. A read blocked at that
 * moment is woken with UNBLOCKED; the next one gets NOGROUP.
 */
const isGroupLost = (error: unknown) => error instanceof Error && /^(NOGROUP|UNBLOCKED)/.test(error.message);

/**
 * The consumer-group loop (BullMQ's worker lifecycle as the model): read
 * batches from every partition, apply each partition's batch in its own
 * transaction (partitions in parallel, entries of a partition in order),
 * acknowledge only after the commit. A partition whose batch failed re-reads
 * its own pending entries first, so order holds across retries.
 */
export function createStreamWorker(options: StreamWorkerOptions) {
  const { redis, blockingRedis, keys, logger } = options;
  const streams = Array.from({ length: options.partitions }, (_, index) => keys.partition(index));
  /** Partitions that must re-read their pending entries ('0') before new ones ('>'). */
  const replay = new Set<string>(streams);
  const retryAt = new Map<string, number>();
  let nextReclaimAt = 0;
  let running = false;
  let loop: Promise<void> | null = null;
  let closing: Promise<void> | null = null;

  /** Returns the streams whose group had to be created. */
  async function ensureGroups(): Promise<string[]> {
    const created: string[] = [];
    for (const stream of streams) {
      try {
        // From 0, not $: events accepted before the first worker started must not be skipped.
        await redis.xgroup('CREATE', stream, keys.group, '0', 'MKSTREAM');
        created.push(stream);
      } catch (error) {
        if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
      }
    }
    return created;
  }

  /**
   * Re-creates lost groups from '0': whatever the stream still holds is
   * delivered again, and the dedupe in Postgres drops what was applied.
   * False when Redis would not let it (the read loop's retry covers that).
   */
  async function recoverGroups(): Promise<boolean> {
    let created: string[];
    try {
      created = await ensureGroups();
    } catch {
      return false;
    }
    for (const stream of streams) replay.add(stream);
    if (created.length > 0) {
      logger.warn(
        { event: 'stream.group_recreated', streams: created },
        'consumer group was gone; re-created it, entries still in the stream are delivered again',
      );
    }
    return true;
  }

  /** Takes over entries a dead consumer left unacknowledged (they are replayed before new ones), then trims acknowledged history. */
  async function maintain(): Promise<void> {
    for (const stream of streams) {
      let cursor = '0-0';
      do {
        const reply = (await redis.xautoclaim(stream, keys.group, options.consumer, options.claimIdleMs, cursor, 'COUNT', 500, 'JUSTID')) as [string, string[]];
        cursor = reply[0];
        if (reply[1].length > 0) {
          replay.add(stream);
          logger.warn({ event: 'stream.reclaimed', stream, count: reply[1].length }, 'took over entries of a stopped consumer');
        }
      } while (cursor !== '0-0');
      // Housekeeping: a failed trim is retried next pass and must not hold up reading.
      await trimAcknowledged(redis, stream, keys.group, options.retentionMs).catch((error: unknown) =>
        logger.warn({ event: 'stream.trim_failed', stream, error: errorSummary(error) }, 'could not trim acknowledged entries; retrying next pass'),
      );
    }
  }

  async function deadLetter(stream: string, entryId: string, fields: string[], reason: string, deliveries: number): Promise<void> {
    await redis
      .multi()
      .xadd(
        keys.deadLetter,
        'MAXLEN',
        '~',
        DEAD_LETTER_MAXLEN,
        '*',
        ...deadLetterFields({ stream, entry: entryId, error: reason, failedAt: new Date().toISOString(), deliveries }),
        ...fields,
      )
      .xack(stream, keys.group, entryId)
      .del(keys.failures(stream, entryId))
      .exec();
    logger.error({ event: 'stream.dead_letter', stream, entryId, deliveries, error: reason }, 'entry moved to the dead-letter stream');
  }

  /**
   * Counts the failures of one entry while the database was up, in Redis so
   * that a restart keeps the count. Not XPENDING's delivery count: a
   * partition waiting out a database outage re-reads its entries every
   * second, which would count the outage against them.
   */
  async function countFailure(stream: string, entryId: string): Promise<number> {
    const key = keys.failures(stream, entryId);
    const [[, count]] = (await redis.multi().incr(key).expire(key, FAILURE_COUNT_TTL_S).exec()) as [[Error | null, number]];
    return Number(count);
  }

  async function processPartition(stream: string, raw: RawEntry[]): Promise<void> {
    const entries: StreamEntry[] = [];
    for (const [entryId, fields] of raw) {
      // A replayed entry that was deleted (XTRIM) comes back with nil fields: nothing to apply.
      if (!fields) {
        await redis.xack(stream, keys.group, entryId);
        continue;
      }
      try {
        entries.push({ entryId, event: decodeEvent(fields) });
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        await deadLetter(stream, entryId, fields, `undecodable: ${error.message}`, 1);
      }
    }
    if (entries.length === 0) return;
    let applied = false;
    try {
      await options.handle(entries);
      applied = true;
    } catch (error) {
      if (await options.isOutage()) throw error;
      logger.warn({ event: 'stream.batch_failed', stream, size: entries.length, error: errorSummary(error) }, 'batch failed; applying its entries one by one');
    }
    // Outside the try: a Redis failure to acknowledge is not the entries' fault (the partition replays them; dedupe drops them).
    if (applied) {
      await redis.xack(stream, keys.group, ...entries.map((entry) => entry.entryId));
      options.onCommitted?.();
      return;
    }
    // The database is up, so some entry is at fault: isolate it, keep the others flowing, in order.
    for (const entry of entries) {
      try {
        await options.handle([entry]);
      } catch (error) {
        if (await options.isOutage()) throw error;
        // A data error the database refuses every time is dead-lettered now: retries would only stall the partition.
        const permanent = isPermanentFailure(error);
        const count = await countFailure(stream, entry.entryId);
        if (permanent || count >= options.maxDeliveries) {
          const fields = raw.find(([id]) => id === entry.entryId)![1];
          await deadLetter(stream, entry.entryId, fields, `${permanent ? 'permanent: ' : ''}${errorDetail(error)}`, count);
          continue;
        }
        logger.error(
          { event: 'stream.entry_failed', stream, entryId: entry.entryId, type: entry.event.type, attempt: count, error: errorSummary(error) },
          'entry failed; will retry',
        );
        // Later entries of this partition wait: they may belong to the same conversation.
        throw error;
      }
      await redis.multi().xack(stream, keys.group, entry.entryId).del(keys.failures(stream, entry.entryId)).exec();
      options.onCommitted?.();
    }
  }

  async function readOnce(): Promise<void> {
    const now = Date.now();
    // A consumer that died while this one runs (another instance) leaves entries only a reclaim finds.
    if (now >= nextReclaimAt) {
      nextReclaimAt = now + options.claimIdleMs / 2;
      await maintain();
    }
    const ready = streams.filter((stream) => (retryAt.get(stream) ?? 0) <= now);
    if (ready.length === 0) {
      await Bun.sleep(Math.max(10, Math.min(...retryAt.values()) - now));
      return;
    }
    const ids = ready.map((stream) => (replay.has(stream) ? '0' : '>'));
    const reply = (await blockingRedis.xreadgroup(
      'GROUP',
      keys.group,
      options.consumer,
      'COUNT',
      options.batchSize,
      'BLOCK',
      options.blockMs,
      'STREAMS',
      ...ready,
      ...ids,
    )) as ReadReply;
    const byStream = new Map(reply ?? []);
    for (const stream of ready) {
      // A replay that found nothing pending is done: switch that partition to new entries.
      if (replay.has(stream) && (byStream.get(stream)?.length ?? 0) === 0) replay.delete(stream);
    }
    await Promise.all(
      [...byStream.entries()]
        .filter(([, entries]) => entries.length > 0)
        .map(async ([stream, entries]) => {
          try {
            await processPartition(stream, entries);
            retryAt.delete(stream);
          } catch (error) {
            replay.add(stream);
            retryAt.set(stream, Date.now() + PARTITION_RETRY_MS);
            logger.error({ event: 'stream.partition_stalled', stream, error: errorSummary(error) }, 'partition paused; its entries will be retried');
          }
        }),
    );
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await readOnce();
      } catch (error) {
        if (!running) break;
        if (isGroupLost(error) && (await recoverGroups())) continue;
        logger.error({ event: 'stream.read_error', error: errorSummary(error) }, 'could not read the event streams; retrying');
        await Bun.sleep(1000);
      }
    }
  }

  return {
    async start(): Promise<void> {
      await ensureGroups();
      await maintain();
      nextReclaimAt = Date.now() + options.claimIdleMs / 2;
      running = true;
      loop = run();
    },
    /** Idempotent: stops reading, lets the batch in hand finish and be acknowledged. */
    close(): Promise<void> {
      closing ??= (async () => {
        running = false;
        // The blocking read would otherwise hold the loop for up to blockMs.
        blockingRedis.disconnect();
        await loop;
      })();
      return closing;
    },
  };
}

export type StreamWorker = ReturnType<typeof createStreamWorker>;
