import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { errorSummary } from '../errors';
import type { Logger } from '../logger';

/**
 * The live view's change signal: "some ticket changed", published on one
 * Redis channel by whichever instance committed the change, heard by every
 * instance that has a live view open, which then reads the board again. It
 * carries nothing (the board is read from Postgres, the one truth), so a
 * signal lost while a subscriber reconnects costs only a read on reconnect.
 * Plain PUBLISH, not the partitions' sharded channels: one channel for all,
 * broadcast to every node of a Cluster, at most a few messages a second.
 */
export const liveChannel = (keyPrefix: string) => `${keyPrefix}live:tickets`;

/** At most one signal per this long per instance: a burst of batches is one signal, the board read once. */
const SIGNAL_INTERVAL_MS = 200;
const TROUBLE_LOG_INTERVAL_MS = 10_000;

export interface ChangeSignal {
  /** A committed batch changed tickets. Never throws; published at once, or at the end of the interval. */
  touch(): void;
  close(): void;
}

export function createChangeSignal(redis: Redis, keyPrefix: string, logger: Logger, intervalMs = SIGNAL_INTERVAL_MS): ChangeSignal {
  const channel = liveChannel(keyPrefix);
  let lastAt = -Infinity;
  let pending: ReturnType<typeof setTimeout> | undefined;
  let loggedAt = -Infinity;
  const publish = () => {
    pending = undefined;
    lastAt = performance.now();
    redis.publish(channel, '1').catch((error: unknown) => {
      if (performance.now() - loggedAt < TROUBLE_LOG_INTERVAL_MS) return;
      loggedAt = performance.now();
      logger.warn(
        { event: 'live.signal_failed', error: errorSummary(error) },
        'could not signal a ticket change to the live views; they catch up on the next one',
      );
    });
  };
  return {
    touch() {
      if (pending) return;
      const waitMs = lastAt + intervalMs - performance.now();
      if (waitMs <= 0) publish();
      else pending = setTimeout(publish, waitMs);
    },
    close() {
      clearTimeout(pending);
      pending = undefined;
    },
  };
}

export interface ChangeListener {
  /** Resolves once subscribed. */
  ready: Promise<void>;
  close(): void;
}

/** Calls `onChange` for every signal, and once after each reconnect (what was signalled meanwhile is unknown). */
export function listenForChanges(redis: Redis, keyPrefix: string, onChange: () => void): ChangeListener {
  const connection = redis.isCluster
    ? ((redis as unknown as Cluster).duplicate() as unknown as Redis)
    : redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, enableAutoPipelining: false });
  connection.on('error', () => {
    // ioredis reconnects by itself; the 'ready' that follows reads the board again.
  });
  let subscribed = false;
  connection.on('message', () => onChange());
  connection.on('ready', () => {
    if (subscribed) onChange();
  });
  const ready = (async () => {
    if (connection.status === 'wait') await connection.connect();
    await connection.subscribe(liveChannel(keyPrefix));
    subscribed = true;
  })();
  return { ready, close: () => connection.disconnect() };
}
