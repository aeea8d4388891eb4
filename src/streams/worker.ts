import type Redis from 'ioredis';
import { FencedError, type PartitionLease } from '../db/partition-owners';
import type { StreamEntry } from '../domain/events';
import { errorDetail, errorSummary } from '../errors';
import type { Logger } from '../logger';
import { CodecError, decodeEvent, type StreamKeys } from './codec';
import { traceBatch, type BatchSpans } from './entry-spans';
import { entryFailures, isPermanentFailure } from './failure';
import { createPartitionLeases, type Lease } from './leases';
import { trimAcknowledged } from './retention';

export interface StreamWorkerOptions {
  /** Commands (XACK, XADD to the dead-letter stream, XAUTOCLAIM, leases). */
  redis: Redis;
  /** A new dedicated connection for one partition's blocking XREADGROUP (on Redis Cluster a read may name one slot only). */
  blockingConnection(): Redis;
  keys: StreamKeys;
  partitions: number;
  consumer: string;
  batchSize: number;
  /** Failures of one entry, with the database up, before it is moved to the dead-letter stream. */
  maxDeliveries: number;
  /** Entries of an owned partition that another consumer has held this long are taken over (a fenced ex-owner's strays). */
  claimIdleMs: number;
  /** Acknowledged entries are kept this long (for forensics), then trimmed with the reclaim pass. */
  retentionMs: number;
  /** Below the lease TTL: a read blocked in Redis when the process froze ends before another instance can take over. */
  blockMs: number;
  /** PARTITION_LEASE_TTL_MS. */
  leaseTtlMs: number;
  /** The fencing token Postgres last accepted for a partition. */
  fenceOf(partition: number): Promise<number>;
  logger: Logger;
  /** Applies a batch of one partition under its lease; resolves once it is committed, throws FencedError if the lease was taken over. */
  handle(entries: StreamEntry[], lease: PartitionLease): Promise<void>;
  /** True when a failure is the infrastructure's (the database is down), not the entry's. */
  isOutage(): Promise<boolean>;
  onCommitted?(): void;
  onTakeover?(partition: number): void;
  /** Before a partition is read (at takeover, and when its group was gone): the check that Redis did not lose what Postgres applied. */
  beforeTakeOver?(partition: number): Promise<unknown>;
  /** How long a partition whose batch failed waits before it tries again: PARTITION_RETRY_MS unless set (tests shorten it). */
  partitionRetryMs?: number;
}

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
 * The consumer-group loop (BullMQ's worker lifecycle as the model), one per
 * partition this instance holds the lease of: on taking a partition over it
 * claims every entry still pending there (the previous owner's) and replays
 * them before new ones; it applies each batch in one transaction fenced by the
 * lease's token, and acknowledges only after the commit. A partition whose
 * batch failed re-reads its own pending entries first, so order holds across
 * retries and owners.
 */
export function createStreamWorker(options: StreamWorkerOptions) {
  const { redis, keys, logger } = options;
  const readers = new Map<number, { stop(): Promise<void> }>();
  let takeovers = 0;
  let closing: Promise<void> | null = null;

  async function ensureGroup(stream: string): Promise<void> {
    try {
      // From 0, not $: events accepted before the first worker started must not be skipped.
      await redis.xgroup('CREATE', stream, keys.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  /** Makes every entry of the stream pending to another consumer (idle at least minIdleMs) this one's; returns how many. */
  async function claimPending(stream: string, minIdleMs: number): Promise<number> {
    let cursor = '0-0';
    let claimed = 0;
    do {
      const reply = (await redis.xautoclaim(stream, keys.group, options.consumer, minIdleMs, cursor, 'COUNT', 500, 'JUSTID')) as [string, string[]];
      cursor = reply[0];
      claimed += reply[1].length;
    } while (cursor !== '0-0');
    return claimed;
  }

  /** Housekeeping: a failed trim is retried next pass and must not hold up reading. */
  async function trim(stream: string): Promise<void> {
    await trimAcknowledged(redis, stream, keys.group, options.retentionMs).catch((error: unknown) =>
      logger.warn({ event: 'stream.trim_failed', stream, error: errorSummary(error) }, 'could not trim acknowledged entries; retrying next pass'),
    );
  }

  const { deadLetter, countFailure } = entryFailures(redis, keys, logger);

  async function processPartition(stream: string, lease: PartitionLease, raw: RawEntry[]): Promise<void> {
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
    const spans = traceBatch(stream, entries);
    try {
      await applyEntries(stream, lease, raw, entries, spans);
    } catch (error) {
      spans.end(error);
      throw error;
    }
    spans.end();
  }

  async function applyEntries(stream: string, lease: PartitionLease, raw: RawEntry[], entries: StreamEntry[], spans: BatchSpans): Promise<void> {
    let applied = false;
    try {
      await options.handle(entries, lease);
      applied = true;
    } catch (error) {
      if (error instanceof FencedError || (await options.isOutage())) throw error;
      spans.batchFailed(error);
      logger.warn({ event: 'stream.batch_failed', stream, size: entries.length, error: errorSummary(error) }, 'batch failed; applying its entries one by one');
    }
    // Outside the try: a Redis failure to acknowledge is not the entries' fault (the partition replays them; dedupe drops them).
    if (applied) {
      await redis.xack(stream, keys.group, ...entries.map((entry) => entry.entryId));
      options.onCommitted?.();
      return;
    }
    // The database is up, so some entry is at fault: isolate it, keep the others flowing, in order. In the entry's
    // span: its lines (a failure, a dead letter) carry its trace id.
    for (const entry of entries) spans.settle(entry, await spans.within(entry, () => applyAlone(stream, lease, raw, entry)));
  }

  /** One entry of a failed batch, on its own: applied, dead-lettered (the error returned), or thrown to retry the partition. */
  async function applyAlone(stream: string, lease: PartitionLease, raw: RawEntry[], entry: StreamEntry): Promise<unknown> {
    try {
      await options.handle([entry], lease);
    } catch (error) {
      if (error instanceof FencedError || (await options.isOutage())) throw error;
      // A data error the database refuses every time is dead-lettered now: retries would only stall the partition.
      const permanent = isPermanentFailure(error);
      const count = await countFailure(stream, entry.entryId);
      if (permanent || count >= options.maxDeliveries) {
        const fields = raw.find(([id]) => id === entry.entryId)![1];
        await deadLetter(stream, entry.entryId, fields, `${permanent ? 'permanent: ' : ''}${errorDetail(error)}`, count);
        return error;
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
    return undefined;
  }

  /** Reads one owned partition until stopped: the previous owner's pending entries first, then new ones. */
  function startReader(lease: Lease): { stop(): Promise<void> } {
    const stream = keys.partition(lease.partition);
    const connection = options.blockingConnection();
    let running = true;
    let blockedInRead = false;

    async function takeOver(): Promise<void> {
      await options.beforeTakeOver?.(lease.partition);
      await ensureGroup(stream);
      // Whoever held these is fenced now (its token is older): they are ours to apply, before anything new.
      const claimed = await claimPending(stream, 0);
      takeovers++;
      options.onTakeover?.(lease.partition);
      logger.info(
        { event: 'partition.takeover', partition: lease.partition, fence: lease.token, replaying: claimed },
        `took over partition ${lease.partition}; replaying ${claimed} pending entries first`,
      );
      await trim(stream);
    }

    async function run(): Promise<void> {
      let replay = true;
      let tookOver = false;
      let nextSweepAt = Date.now() + options.claimIdleMs / 2;
      while (running) {
        // A lease past its validity (this process was slow or frozen) may be someone else's already: read nothing until renewed or dropped.
        if (!lease.valid()) {
          await Bun.sleep(50);
          continue;
        }
        try {
          if (!tookOver) {
            await takeOver();
            tookOver = true;
          } else if (Date.now() >= nextSweepAt) {
            nextSweepAt = Date.now() + options.claimIdleMs / 2;
            if ((await claimPending(stream, options.claimIdleMs)) > 0) replay = true;
            await trim(stream);
          }
          blockedInRead = true;
          const reply = (await connection
            .xreadgroup('GROUP', keys.group, options.consumer, 'COUNT', options.batchSize, 'BLOCK', options.blockMs, 'STREAMS', stream, replay ? '0' : '>')
            .finally(() => (blockedInRead = false))) as ReadReply;
          const entries = reply?.[0]?.[1] ?? [];
          // A replay that found nothing pending is done: switch to new entries.
          if (entries.length === 0) {
            replay = false;
            continue;
          }
          await processPartition(stream, lease, entries);
        } catch (error) {
          if (!running) break;
          if (error instanceof FencedError) {
            logger.warn({ event: 'partition.fenced', partition: lease.partition, fence: lease.token }, 'batch refused: the partition has a newer owner');
            void leases.fenced(lease.partition);
            break;
          }
          replay = true;
          if (isGroupLost(error)) {
            tookOver = false;
            logger.warn(
              { event: 'stream.group_recreated', stream },
              'consumer group was gone; re-creating it (entries still in the stream are delivered again) and checking Redis against Postgres',
            );
            continue;
          }
          logger.error({ event: 'stream.partition_stalled', stream, error: errorSummary(error) }, 'partition paused; its entries will be retried');
          await Bun.sleep(options.partitionRetryMs ?? PARTITION_RETRY_MS);
        }
      }
    }

    const loop = run();
    return {
      async stop() {
        running = false;
        // The blocking read would otherwise hold the loop for up to blockMs.
        connection.disconnect();
        // A read holds no entry, so it is not waited for: one queued while its connection was reconnecting (Redis
        // restarted) is never settled by ioredis's disconnect(), and waiting for it held the stop forever.
        if (!blockedInRead) await loop;
      },
    };
  }

  const leases = createPartitionLeases({
    redis,
    keys,
    partitions: options.partitions,
    consumer: options.consumer,
    ttlMs: options.leaseTtlMs,
    logger,
    fenceOf: options.fenceOf,
    onAcquired: (lease) => readers.set(lease.partition, startReader(lease)),
    onReleased: async (partition) => {
      const reader = readers.get(partition);
      readers.delete(partition);
      await reader?.stop();
    },
  });

  return {
    /** Joins the instances sharing the partitions; resolves once the first round of leases is taken. */
    start: () => leases.start(),
    /** Idempotent: stops reading, lets the batches in hand finish and be acknowledged, then frees the leases at once. */
    close(): Promise<void> {
      closing ??= leases.close();
      return closing;
    },
    /** For /health/ready and /metrics: the partitions held, their age, and how many takeovers this instance made. */
    status: () => ({ ...leases.status(), takeovers }),
  };
}

export type StreamWorker = ReturnType<typeof createStreamWorker>;
