import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { errorSummary } from '../errors';
import type { PipelineEventType, StreamEntry } from '../domain/events';
import type { Logger } from '../logger';
import type { StreamKeys } from './codec';

/**
 * "A CRM 200 means applied" (DESIGN 2.1): a CRM route queues its event, then
 * waits until whichever instance owns the partition has committed it, so the
 * CRM's next call, to any instance, sees it.
 *
 * The owner announces each commit of a CRM event on the partition's channel
 * (`hb:events:{3}:applied`: the partition's hash tag, so on Redis Cluster it
 * is a sharded channel, SPUBLISH/SSUBSCRIBE, served by the node that holds
 * the partition's stream), and wakes its own waiters in process. Every
 * instance listens to every partition's channel on one subscriber connection
 * (one per master node on Cluster). Redis pub/sub rather than Postgres
 * LISTEN/NOTIFY or a poll (`bun run bench:wakeups`, docs/ARCHITECTURE.md): a
 * wake-up in 0.3 ms at the median against 0.6 ms for NOTIFY, which also costs
 * a transaction id and a Postgres connection per instance, and 8 to 28 ms for
 * a poll of processed_events every 10 to 50 ms, which queries all the while.
 *
 * Pub/sub is fire and forget: a subscriber that is reconnecting misses what is
 * published meanwhile. So a waiter never rests on it alone: while anyone
 * waits, processed_events is asked every `sweepMs` about every id waited for
 * (one query), at once after the subscriber reconnects, and once more before
 * a wait ends unapplied. Only CRM events are announced: user messages, the
 * hot path, cost a type check per entry.
 */

/** The events a CRM route waits for. */
const AWAITED_TYPES = new Set<PipelineEventType>(['crm.handover', 'crm.message', 'crm.typing', 'crm.read']);

/** A missed announcement delays its answer by at most this (plus a query); it costs a query this often only while someone waits. */
const SWEEP_MS = 500;

/** At most one log line of a kind in this long: a Redis or Postgres outage would otherwise log every commit or sweep. */
const TROUBLE_LOG_INTERVAL_MS = 10_000;

export interface AppliedEventsOptions {
  /** Commands: PUBLISH (SPUBLISH on Cluster). */
  redis: Redis;
  /** A new connection for the subscriptions (subscriberConnection, with its errors logged). */
  subscriber(): Redis;
  keys: StreamKeys;
  partitions: number;
  /** Which of these event ids are committed (in processed_events). */
  committedOf(eventIds: string[]): Promise<Set<string>>;
  logger: Logger;
  sweepMs?: number;
}

export interface AppliedEvents {
  /** The worker, right after the commit of a batch of `partition`: wakes whoever waits for one of its CRM events. Never throws. */
  announce(partition: number, entries: StreamEntry[]): void;
  /**
   * Publishes (`publish`: the XADD) and waits until the event is committed by
   * whoever owns its partition: true if it was within `timeoutMs`, false if
   * not (it is still applied later, in order). Several waits for one event id
   * (the CRM retrying while the first call waits) are all woken.
   */
  publishAndWait(eventId: string, publish: () => Promise<void>, timeoutMs: number): Promise<boolean>;
  /** Subscribes; resolves once every partition's channel is subscribed. */
  start(): Promise<void>;
  /** Idempotent: ends the waits in hand (each gets its last look at processed_events) and closes the subscriber connection. */
  close(): Promise<void>;
}

export const appliedChannel = (keys: StreamKeys, partition: number) => `${keys.partition(partition)}:applied`;

/**
 * A subscriber connection like `redis`: on Cluster with sharded subscribers
 * (one connection per master, each SSUBSCRIBE sent to the node of its slot;
 * without them ioredis sends every SSUBSCRIBE to one node, which answers MOVED).
 */
export function subscriberConnection(redis: Redis): Redis {
  if (redis.isCluster) {
    return (redis as unknown as Cluster).duplicate(undefined, { shardedSubscribers: true, enableOfflineQueue: true }) as unknown as Redis;
  }
  return redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, enableAutoPipelining: false });
}

export function createAppliedEvents(options: AppliedEventsOptions): AppliedEvents {
  const { redis, keys, logger } = options;
  const sharded = redis.isCluster;
  const waiters = new Map<string, Set<(applied: boolean) => void>>();
  let subscriber: Redis | undefined;
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let sweeping = false;
  let closing: Promise<void> | null = null;
  const lastLoggedAt = new Map<string, number>();

  const trouble = (event: string, error: unknown, message: string) => {
    const now = performance.now();
    if (now - (lastLoggedAt.get(event) ?? -Infinity) < TROUBLE_LOG_INTERVAL_MS) return;
    lastLoggedAt.set(event, now);
    logger.warn({ event, error: errorSummary(error) }, message);
  };

  const settle = (eventId: string, applied: boolean) => {
    const waiting = waiters.get(eventId);
    if (!waiting) return;
    waiters.delete(eventId);
    for (const waiter of waiting) waiter(applied);
  };

  const onAnnouncement = (_channel: string, message: string) => {
    let ids: unknown;
    try {
      ids = JSON.parse(message);
    } catch {
      return;
    }
    if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'string') settle(id, true);
  };

  const committed = (eventIds: string[]) =>
    options.committedOf(eventIds).catch((error: unknown) => {
      trouble('applied.check_failed', error, 'could not ask processed_events whether awaited CRM events were applied; asking again');
      return new Set<string>();
    });

  /** The check that catches what an announcement missed. */
  async function sweep(): Promise<void> {
    if (sweeping || waiters.size === 0) return;
    sweeping = true;
    try {
      const found = await committed([...waiters.keys()]);
      if (found.size > 0) logger.debug({ event: 'applied.found_by_sweep', count: found.size }, 'CRM events found applied without their announcement');
      for (const id of found) settle(id, true);
    } finally {
      sweeping = false;
    }
  }

  return {
    announce(partition, entries) {
      let ids: string[] | undefined;
      for (const { event } of entries) if (AWAITED_TYPES.has(event.type)) (ids ??= []).push(event.id);
      if (!ids) return;
      // This instance's own waiters need no round trip.
      for (const id of ids) settle(id, true);
      const channel = appliedChannel(keys, partition);
      const message = JSON.stringify(ids);
      (sharded ? redis.spublish(channel, message) : redis.publish(channel, message)).catch((error: unknown) =>
        trouble('applied.announce_failed', error, "could not announce applied CRM events; other instances' waiters find them in processed_events"),
      );
    },

    async publishAndWait(eventId, publish, timeoutMs) {
      let waiter!: (applied: boolean) => void;
      const woken = new Promise<boolean>((resolve) => (waiter = resolve));
      // Before the XADD: the owner may commit before the XADD's reply reaches this process.
      waiters.set(eventId, (waiters.get(eventId) ?? new Set()).add(waiter));
      // A closing instance waits no more: the answer is the last look.
      const timer = setTimeout(() => waiter(false), closing ? 0 : timeoutMs);
      try {
        await publish();
        if (await woken) return true;
        // The last look: a missed announcement must not turn an applied event into a 202.
        return (await committed([eventId])).has(eventId);
      } finally {
        clearTimeout(timer);
        const waiting = waiters.get(eventId);
        waiting?.delete(waiter);
        if (waiting?.size === 0) waiters.delete(eventId);
      }
    },

    async start() {
      const connection = options.subscriber();
      subscriber = connection;
      connection.on(sharded ? 'smessage' : 'message', onAnnouncement);
      // ioredis subscribes again by itself after a reconnect; what was announced while it was away is looked up at once.
      connection.on(sharded ? '+subscriber' : 'ready', () => void sweep());
      if (connection.status === 'wait') await connection.connect();
      const channels = Array.from({ length: options.partitions }, (_, partition) => appliedChannel(keys, partition));
      // On Cluster each channel may live on another node: one SSUBSCRIBE each.
      if (sharded) await Promise.all(channels.map((channel) => connection.ssubscribe(channel)));
      else await connection.subscribe(...channels);
      sweeper = setInterval(() => void sweep(), options.sweepMs ?? SWEEP_MS);
    },

    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        for (const id of [...waiters.keys()]) settle(id, false);
        subscriber?.disconnect();
      })();
      return closing;
    },
  };
}
