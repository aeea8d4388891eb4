/**
 * What the soak watches from outside while the traffic runs, every second
 * (the worst of each minute is kept) and at each minute's end:
 *   worker lag  per partition stream, XINFO GROUPS `lag` (entries not yet read) and `pending`
 *               (read, not acknowledged), and the age of the oldest entry not yet acknowledged;
 *   outbox      rows still to deliver and the age of the oldest (read-only SQL);
 *   RSS         of each instance, from /proc;
 *   Postgres    at each minute's end: every table's total size, dead tuples, autovacuum and
 *               autoanalyze runs (pg_stat_user_tables); Redis's used memory.
 */
import { loadavg } from 'node:os';
import Redis from 'ioredis';
import postgres from 'postgres';
import { rssOf, type Instance } from './stack';

export interface TableStat {
  table: string;
  bytes: number;
  live: number;
  dead: number;
  autovacuums: number;
  autoanalyzes: number;
}

export interface MinuteProbe {
  lag: number;
  pending: number;
  /** The oldest entry any partition has not acknowledged yet, in ms (0: none). */
  oldestUnappliedMs: number;
  outboxOpen: number;
  outboxOldestMs: number;
  /** Instance name → its RSS at the minute's end and its highest within it. */
  rss: Record<string, { last: number; max: number }>;
  redisBytes: number;
  load: number[];
  tables: TableStat[];
}

const entryMs = (id: string) => Number(id.split('-')[0]);

export function startProbes(options: { redisUrl: string; prefix: string; partitions: number; databaseUrl: string; instances: () => Instance[] }) {
  const redis = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const sql = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
  const streams = Array.from({ length: options.partitions }, (_, partition) => `${options.prefix}events:{${partition}}`);
  const fresh = (): Omit<MinuteProbe, 'redisBytes' | 'load' | 'tables'> => ({
    lag: 0,
    pending: 0,
    oldestUnappliedMs: 0,
    outboxOpen: 0,
    outboxOldestMs: 0,
    rss: {},
  });
  let current = fresh();

  async function streamLag(): Promise<{ lag: number; pending: number; oldestMs: number }> {
    let lag = 0;
    let pending = 0;
    let oldest = Infinity;
    const [[, time]] = (await redis.multi().time().exec()) as [[null, [string, string]]];
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    for (const stream of streams) {
      const groups = (await redis.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[][];
      for (const group of groups) {
        const fields = new Map<string, unknown>();
        for (let n = 0; n < group.length; n += 2) fields.set(String(group[n]), group[n + 1]);
        const groupPending = Number(fields.get('pending') ?? 0);
        // Redis cannot always count the lag (nil after some trims): the entries past the last delivered are counted then, up to 10,000.
        const after = () => redis.call('XRANGE', stream, `(${fields.get('last-delivered-id')}`, '+', 'COUNT', '10000') as Promise<[string][]>;
        const groupLag = fields.get('lag') === null ? (await after()).length : Number(fields.get('lag') ?? 0);
        lag += groupLag;
        pending += groupPending;
        if (groupPending > 0) {
          // Acknowledged since XINFO answered: then there is no smallest.
          const [, smallest] = (await redis.call('XPENDING', stream, String(fields.get('name')))) as [number, string | null];
          if (smallest) oldest = Math.min(oldest, entryMs(smallest));
        } else if (groupLag > 0) {
          const [first] = await after();
          if (first) oldest = Math.min(oldest, entryMs(first[0]));
        }
      }
    }
    return { lag, pending, oldestMs: oldest === Infinity ? 0 : now - oldest };
  }

  async function sample(): Promise<void> {
    const [stream, [outbox], rss] = await Promise.all([
      streamLag(),
      sql`select count(*)::int as open, coalesce(extract(epoch from now() - min(created_at)) * 1000, 0)::float8 as oldest_ms
          from outbox where status in ('pending', 'in_flight')`,
      Promise.all(options.instances().map(async (instance) => [instance.name, await rssOf(instance.child.pid).catch(() => 0)] as const)),
    ]);
    current.lag = Math.max(current.lag, stream.lag);
    current.pending = Math.max(current.pending, stream.pending);
    current.oldestUnappliedMs = Math.max(current.oldestUnappliedMs, stream.oldestMs);
    current.outboxOpen = Math.max(current.outboxOpen, outbox!.open as number);
    current.outboxOldestMs = Math.max(current.outboxOldestMs, outbox!.oldest_ms as number);
    for (const [name, bytes] of rss) current.rss[name] = { last: bytes, max: Math.max(bytes, current.rss[name]?.max ?? 0) };
  }

  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(sample).catch((error: unknown) => console.error(`probe failed: ${(error as Error).message}`));
  }, 1000);

  async function tables(): Promise<TableStat[]> {
    const rows = await sql`select relname as table, pg_total_relation_size(relid)::float8 as bytes, n_live_tup::float8 as live,
                                  n_dead_tup::float8 as dead, autovacuum_count::int as autovacuums, autoanalyze_count::int as autoanalyzes
                           from pg_stat_user_tables order by relname`;
    return rows as unknown as TableStat[];
  }

  return {
    tables,
    /** The server's version and the settings that shape the figures. */
    async settings(): Promise<string> {
      const rows = await sql`select name, setting, unit from pg_settings
                             where name in ('server_version', 'autovacuum', 'autovacuum_naptime', 'shared_buffers', 'synchronous_commit', 'fsync') order by name`;
      return rows.map((row) => `${row.name} ${row.setting}${row.unit ? ` × ${row.unit}` : ''}`).join(', ');
    },
    /** Closes the minute: its worst samples, and the tables and Redis memory as they are now. */
    async minute(): Promise<MinuteProbe> {
      await sampling;
      const memory = await redis.info('memory');
      const closed = { ...current, redisBytes: Number(/used_memory:(\d+)/.exec(memory)?.[1] ?? 0), load: loadavg(), tables: await tables() };
      current = fresh();
      return closed;
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await sampling;
      redis.disconnect();
      await sql.end();
    },
  };
}
