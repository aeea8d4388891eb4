import type Redis from 'ioredis';
import { errorSummary } from '../errors';
import type { Logger } from '../logger';
import type { StreamKeys } from './codec';

/** A partition this instance owns, as the worker reading it sees it. */
export interface Lease {
  partition: number;
  /** The fencing token: higher than any earlier owner's. */
  token: number;
  owner: string;
  acquiredAt: number;
  /**
   * True while the lease is surely still ours, by this process's monotonic
   * clock: the last renewal was sent less than a TTL (minus a margin) ago. A
   * process frozen past its lease sees it lapse the moment it runs again.
   */
  valid(): boolean;
}

export interface PartitionLeasesOptions {
  redis: Redis;
  keys: StreamKeys;
  partitions: number;
  /** CONSUMER_NAME: tells instances apart in logs and in the stream's consumer group. */
  consumer: string;
  ttlMs: number;
  logger: Logger;
  /** The fence Postgres holds for a partition: a new token must exceed it, even if Redis lost its counters. */
  fenceOf(partition: number): Promise<number>;
  /** The partition is ours: start reading it (pending entries first). */
  onAcquired(lease: Lease): void;
  /** Stop reading the partition; resolves once the batch in hand is finished. */
  onReleased(partition: number): Promise<void>;
}

/** Takes the lease if it is free (or already ours), with a token above both Redis's counter and Postgres's fence. */
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then
  local holder, token = string.match(current, '^(.*)|(%d+)$')
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(token)
  end
  return false
end
if tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[3]) then redis.call('SET', KEYS[2], ARGV[3]) end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token
`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * How often leases are renewed and free partitions looked for: a third of
 * the TTL, at most half a second, so a dead instance's partitions are taken
 * within the TTL plus about a second whatever the TTL.
 */
export const roundMsFor = (ttlMs: number) => Math.min(ttlMs / 3, 500);

/** A lease is given up locally this long before Redis would let it lapse: network delay and timer lateness. */
const SAFETY_MARGIN = 0.2;

interface Held extends Lease {
  value: string;
  validUntil: number;
}

/**
 * Partition ownership by lease (DESIGN 5). Every round each instance
 * heartbeats, counts the live instances N, renews its leases, gives back
 * those above its share ⌈P/N⌉ when another instance lacks its share, and
 * takes free ones up to its share (any free one still free a round later).
 * A joining instance thus gets partitions as the others shed theirs; a dead
 * one's leases lapse after the TTL and the survivors take them. Each
 * acquisition draws a new fencing token, which the batch transaction checks.
 */
export function createPartitionLeases(options: PartitionLeasesOptions) {
  const { redis, keys, logger, ttlMs } = options;
  const holder = `${options.consumer}#${crypto.randomUUID().slice(0, 8)}`;
  const held = new Map<number, Held>();
  // Each instance prefers different partitions, so two joining at once rarely race for the same ones.
  const offset = Bun.hash.crc32(holder) % options.partitions;
  const preference = Array.from({ length: options.partitions }, (_, index) => (index + offset) % options.partitions);
  let acquisitions = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let ticking: Promise<void> = Promise.resolve();
  let stopped = false;

  const now = () => performance.now();

  /** Heartbeats, then the instances whose heartbeat has not lapsed (this one included). */
  async function liveInstances(): Promise<string[]> {
    // Wall clocks of different hosts compare here: a skew of a fraction of the TTL only delays a rebalance.
    const wall = Date.now();
    const reply = await redis
      .multi()
      .zadd(keys.instances, wall + ttlMs, holder)
      .zremrangebyscore(keys.instances, '-inf', wall)
      .zrange(keys.instances, '0', '-1')
      .exec();
    const members = (reply?.[2]?.[1] as string[] | undefined) ?? [];
    return members.includes(holder) ? members : [...members, holder];
  }

  /** Who holds each partition now (one GET per partition: each lives in its own slot). */
  async function holders(): Promise<(string | null)[]> {
    const values = await Promise.all(Array.from({ length: options.partitions }, (_, partition) => redis.get(keys.lease(partition))));
    return values.map((value) => (value ? value.slice(0, value.lastIndexOf('|')) : null));
  }

  /** Drops still finishing their batch in hand: close() waits for them. */
  const dropping = new Set<Promise<void>>();

  /**
   * Stops reading the partition, lets the batch in hand finish, then frees
   * the lease (unless it was lost). Not awaited by the lease round: a slow
   * batch must not hold up the renewal of the other leases.
   */
  function drop(lease: Held, reason: 'lost' | 'rebalanced' | 'stopping'): Promise<void> {
    if (held.get(lease.partition) !== lease) return Promise.resolve();
    held.delete(lease.partition);
    const done = (async () => {
      await options.onReleased(lease.partition);
      if (reason !== 'lost') await redis.eval(RELEASE, 1, keys.lease(lease.partition), lease.value).catch(() => 0);
      logger.info({ event: 'partition.released', partition: lease.partition, fence: lease.token, reason }, `partition ${lease.partition} released (${reason})`);
    })().finally(() => dropping.delete(done));
    dropping.add(done);
    return done;
  }

  async function renew(lease: Held): Promise<void> {
    const sentAt = now();
    try {
      const renewed = Number(await redis.eval(RENEW, 1, keys.lease(lease.partition), lease.value, ttlMs));
      if (renewed === 1) {
        lease.validUntil = sentAt + ttlMs * (1 - SAFETY_MARGIN);
        return;
      }
      logger.warn({ event: 'partition.lost', partition: lease.partition, fence: lease.token }, `lease of partition ${lease.partition} was taken over`);
      void drop(lease, 'lost');
    } catch (error) {
      // Redis unreachable: the lease may still be ours until it lapses; past that the worker stops reading by itself.
      if (!lease.valid()) void drop(lease, 'lost');
      logger.warn({ event: 'partition.renew_failed', partition: lease.partition, error: errorSummary(error) }, 'could not renew a partition lease');
    }
  }

  async function acquire(partition: number): Promise<boolean> {
    const sentAt = now();
    const floor = await options.fenceOf(partition);
    const token = await redis.eval(ACQUIRE, 2, keys.lease(partition), keys.leaseToken(partition), holder, ttlMs, floor);
    if (token === null) return false;
    const lease: Held = {
      partition,
      token: Number(token),
      owner: options.consumer,
      acquiredAt: Date.now(),
      value: `${holder}|${token}`,
      validUntil: sentAt + ttlMs * (1 - SAFETY_MARGIN),
      valid: () => !stopped && held.get(partition) === lease && now() < lease.validUntil,
    };
    held.set(partition, lease);
    acquisitions++;
    options.onAcquired(lease);
    return true;
  }

  /** Partitions seen free in the previous round: still free now, they are taken even above this instance's share. */
  let freeBefore = new Set<number>();

  async function tick(): Promise<void> {
    const live = await liveInstances();
    await Promise.all([...held.values()].map(renew));
    const owners = await holders();
    const share = Math.ceil(options.partitions / live.length);
    const floor = Math.floor(options.partitions / live.length);
    const countOf = (name: string) => owners.filter((owner) => owner === name).length;
    // Give partitions back only to an instance that lacks its share: never to nobody.
    if (held.size > share && live.some((name) => name !== holder && countOf(name) < floor)) {
      const surplus = [...held.values()].sort((a, b) => preference.indexOf(b.partition) - preference.indexOf(a.partition)).slice(0, held.size - share);
      for (const lease of surplus) void drop(lease, 'rebalanced');
    }
    const free = new Set(preference.filter((partition) => owners[partition] === null && !held.has(partition)));
    for (const partition of free) {
      if (stopped) break;
      // A dead instance's partitions are taken by whoever is under its share first; one round later by anyone.
      if ((held.size < share || freeBefore.has(partition)) && (await acquire(partition))) free.delete(partition);
    }
    freeBefore = free;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      ticking = tick()
        .catch((error: unknown) => logger.warn({ event: 'partition.tick_failed', error: errorSummary(error) }, 'partition lease round failed; retrying'))
        .finally(schedule);
    }, roundMsFor(ttlMs));
  }

  return {
    holder,
    async start(): Promise<void> {
      await tick().catch((error: unknown) => logger.warn({ event: 'partition.tick_failed', error: errorSummary(error) }, 'first lease round failed; retrying'));
      schedule();
    },
    /** The worker found itself fenced: the partition is someone else's now. */
    async fenced(partition: number): Promise<void> {
      const lease = held.get(partition);
      if (lease) await drop(lease, 'lost');
    },
    /** Graceful handover: finish the batches in hand, then free every lease at once (others take them within a tick). */
    async close(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await ticking;
      await Promise.all([...held.values()].map((lease) => drop(lease, 'stopping')));
      await Promise.all(dropping);
      await redis.zrem(keys.instances, holder).catch(() => 0);
    },
    status(): { owned: { partition: number; token: number; ageMs: number }[]; acquisitions: number } {
      const at = Date.now();
      return {
        owned: [...held.values()]
          .sort((a, b) => a.partition - b.partition)
          .map((lease) => ({ partition: lease.partition, token: lease.token, ageMs: at - lease.acquiredAt })),
        acquisitions,
      };
    },
  };
}

export type PartitionLeases = ReturnType<typeof createPartitionLeases>;
