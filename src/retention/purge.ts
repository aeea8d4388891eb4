import type Redis from 'ioredis';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { createRetentionStore, type RetentionStore } from '../db/retention-store';
import { errorSummary } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import type { StreamKeys } from '../streams/codec';
import { trimDeadLetters } from '../streams/retention';
import { forgetUserKeys } from '../streams/user-keys-forget';

/** How long each store keeps what it holds, in milliseconds (the RETENTION_* settings; docs/DATA.md). */
export interface RetentionPeriods {
  dedupeMs: number;
  outboxMs: number;
  historyMs: number;
  kpiMs: number;
  deadLettersMs: number;
}

export const STORES = ['dedupe', 'outbox', 'tickets', 'messages', 'kpis', 'conversations', 'dead_letters'] as const;
export type Store = (typeof STORES)[number];

const DAY_MS = 24 * 3600 * 1000;

export function retentionPeriods(config: Config): RetentionPeriods {
  return {
    dedupeMs: config.RETENTION_DEDUPE_DAYS * DAY_MS,
    outboxMs: config.RETENTION_OUTBOX_DAYS * DAY_MS,
    historyMs: config.RETENTION_HISTORY_DAYS * DAY_MS,
    kpiMs: config.RETENTION_KPI_DAYS * DAY_MS,
    deadLettersMs: config.RETENTION_DEAD_LETTERS_DAYS * DAY_MS,
  };
}

export interface RetentionPurgeDeps {
  store: RetentionStore;
  redis: Redis;
  keys: Pick<StreamKeys, 'users' | 'deadLetter'>;
  periods: RetentionPeriods;
  /** Rows one statement deletes. */
  batchSize: number;
  /** Between two passes. */
  intervalMs: number;
  logger: Logger;
  metrics: Pick<Metrics, 'retentionDeleted'>;
  now?: () => number;
}

/**
 * Deletes what is past its retention, store by store, in batches of
 * `batchSize` rows, each its own short transaction (db/retention-store.ts).
 * Off the hot path: after each batch it rests as long as the batch took, so
 * a backlog (the first run on a year of data) drains at most at half of one
 * connection, and the worker's statements go between the purge's. Every
 * instance runs it; two purges skip each other's rows. A store that fails is
 * logged and tried again at the next pass; the others go on.
 */
export function createRetentionPurge(deps: RetentionPurgeDeps) {
  const now = deps.now ?? Date.now;
  const { store, periods, batchSize } = deps;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> | undefined;

  const forget = (expired: { conversationKey: string; userPhone: string | null; bsuid: string | null }[]) =>
    forgetUserKeys(
      deps.redis,
      deps.keys.users,
      expired.map((row) => ({ conversationKey: row.conversationKey, ids: [row.userPhone, row.bsuid] })),
    ).then(() => undefined);

  /** One batch of each store, as of `at`: how many it deleted. */
  const batches: Record<Store, (at: number) => Promise<number>> = {
    dedupe: (at) => store.dedupe(new Date(at - periods.dedupeMs), batchSize),
    outbox: (at) => store.outbox(new Date(at - periods.outboxMs), new Date(at - periods.deadLettersMs), batchSize),
    tickets: (at) => store.tickets(new Date(at - periods.historyMs), batchSize),
    messages: (at) => store.messages(new Date(at - periods.historyMs), batchSize),
    kpis: (at) => store.kpis(new Date(at - periods.kpiMs), batchSize),
    conversations: (at) => store.conversations(new Date(at - periods.historyMs), batchSize, forget),
    // One XTRIM removes every dead letter past its time (the stream is bounded, DEAD_LETTER_MAXLEN): no batches.
    dead_letters: (at) => trimDeadLetters(deps.redis, deps.keys.deadLetter, periods.deadLettersMs, at),
  };

  async function drain(name: Store, at: number): Promise<number> {
    let deleted = 0;
    while (!closed) {
      const startedAt = performance.now();
      const count = await batches[name](at);
      deleted += count;
      if (name === 'dead_letters' || count < batchSize) break;
      await Bun.sleep(Math.max(1, performance.now() - startedAt));
    }
    return deleted;
  }

  /** Every store once, each until it has nothing left past its time (or the purge is closing). */
  async function runOnce(): Promise<Record<Store, number>> {
    const at = now();
    const deleted = Object.fromEntries(STORES.map((name) => [name, 0])) as Record<Store, number>;
    for (const name of STORES) {
      try {
        deleted[name] = await drain(name, at);
        if (deleted[name] > 0) deps.metrics.retentionDeleted.inc({ store: name }, deleted[name]);
      } catch (error) {
        deps.logger.warn(
          { event: 'retention.purge_failed', store: name, error: errorSummary(error) },
          `retention purge of ${name} failed; tried again at the next pass`,
        );
      }
    }
    if (STORES.some((name) => deleted[name] > 0)) {
      deps.logger.info({ event: 'retention.purged', deleted }, 'deleted what was past its retention (docs/DATA.md)');
    }
    return deleted;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      running = runOnce().finally(() => {
        running = undefined;
        schedule();
      });
    }, deps.intervalMs);
  }

  return {
    runOnce,
    start: schedule,
    /** Stops the schedule and waits for the batch in hand (a pass in progress stops after it). */
    async close(): Promise<void> {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type RetentionPurge = ReturnType<typeof createRetentionPurge>;

/** The purge as configured, on the service's database and Redis, started; returns what stops it. */
export function startRetentionPurge(
  config: Config,
  deps: { database: Database; redis: Redis; keys: StreamKeys; logger: Logger; metrics: Pick<Metrics, 'retentionDeleted'> },
): () => Promise<void> {
  const purge = createRetentionPurge({
    store: createRetentionStore(deps.database),
    redis: deps.redis,
    keys: deps.keys,
    periods: retentionPeriods(config),
    batchSize: config.RETENTION_PURGE_BATCH_SIZE,
    intervalMs: config.RETENTION_PURGE_INTERVAL_S * 1000,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  purge.start();
  return purge.close;
}
