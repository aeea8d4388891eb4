/**
 * How a CRM route learns that another instance committed its event (DESIGN
 * 2.1, "a CRM 200 means applied"): the candidates measured side by side, each
 * telling a listener on its own connection COUNT times at RATE a second.
 *
 *   redis pub/sub      PUBLISH → SUBSCRIBE (one Redis)
 *   redis sharded      SPUBLISH → SSUBSCRIBE (what Redis Cluster needs; one node here)
 *   postgres notify    select pg_notify() after the commit → postgres-js sql.listen
 *   poll every N ms    the committed id inserted in a table; a poller asks `id = any($ids)` every N ms
 *
 * For each: the wake-up latency (from the commit, or the notifier's call, to
 * the listener's callback), what the notifier waits for, and what the
 * listener costs the database. Prints the table; writes nothing.
 *
 *   bun run bench:wakeups
 *   COUNT=4000 RATE=400 bun run bench:wakeups
 */
import { loadavg } from 'node:os';
import Redis from 'ioredis';
import postgres from 'postgres';

const COUNT = Number(process.env.COUNT ?? 2000);
const RATE = Number(process.env.RATE ?? 200);
const POLL_MS = [10, 50];
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Result {
  name: string;
  latencies: number[];
  notifierWait: number[];
  listenerQueries: number;
  seconds: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/** Sends COUNT notifications at RATE a second through `notify`; `heard` resolves the latency of each by its id. */
async function drive(name: string, notify: (id: string) => Promise<void>, heard: Map<string, (at: number) => void>, listenerQueries: () => number) {
  const latencies: number[] = [];
  const notifierWait: number[] = [];
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let n = 0; n < COUNT; n++) {
    const id = `${name}:${n}:${crypto.randomUUID()}`;
    const sentAt = performance.now();
    pending.push(new Promise<void>((resolve) => heard.set(id, (at) => (latencies.push(at - sentAt), resolve()))));
    await notify(id);
    notifierWait.push(performance.now() - sentAt);
    const wait = started + ((n + 1) * 1000) / RATE - performance.now();
    if (wait > 0) await Bun.sleep(wait);
  }
  await Promise.race([Promise.all(pending), Bun.sleep(10_000)]);
  return { name, latencies, notifierWait, listenerQueries: listenerQueries(), seconds: (performance.now() - started) / 1000 } satisfies Result;
}

const heard = new Map<string, (at: number) => void>();
const hear = (id: string) => {
  heard.get(id)?.(performance.now());
  heard.delete(id);
};
const results: Result[] = [];

// Redis, plain and sharded.
for (const sharded of [false, true]) {
  const publisher = new Redis(REDIS_URL);
  const subscriber = new Redis(REDIS_URL);
  const channel = `bench:wakeups:{1}:${crypto.randomUUID()}`;
  subscriber.on(sharded ? 'smessage' : 'message', (_channel: string, id: string) => hear(id));
  await (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel));
  results.push(
    await drive(
      sharded ? 'redis sharded' : 'redis pub/sub',
      async (id) => void (await (sharded ? publisher.spublish(channel, id) : publisher.publish(channel, id))),
      heard,
      () => 0,
    ),
  );
  subscriber.disconnect();
  publisher.disconnect();
}

// Postgres: a scratch database of its own.
const databaseName = `hb_wakeups_${Date.now().toString(36)}`;
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${databaseName}`);
const url = ADMIN_URL.replace(/\/[^/]*$/, `/${databaseName}`);
try {
  const notifier = postgres(url, { max: 2, onnotice: () => {} });
  const listener = postgres(url, { max: 1, onnotice: () => {} });
  await listener.listen('hb_applied', hear);
  results.push(
    await drive(
      'postgres notify',
      async (id) => void (await notifier`select pg_notify('hb_applied', ${id})`),
      heard,
      () => 0,
    ),
  );
  await listener.end();

  await notifier`create table committed (id text primary key)`;
  for (const pollMs of POLL_MS) {
    const poller = postgres(url, { max: 1, onnotice: () => {} });
    let queries = 0;
    let polling = true;
    const loop = (async () => {
      while (polling) {
        await Bun.sleep(pollMs);
        const waiting = [...heard.keys()];
        if (waiting.length === 0) continue;
        queries++;
        for (const row of await poller`select id from committed where id = any(${waiting})`) hear(row.id as string);
      }
    })();
    // The commit is the insert; latency counts from it, as the other rows count from their notify.
    results.push(
      await drive(
        `poll every ${pollMs} ms`,
        async (id) => void (await notifier`insert into committed values (${id})`),
        heard,
        () => queries,
      ),
    );
    polling = false;
    await loop;
    await poller.end();
  }
  await notifier.end();
} finally {
  await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
  await admin.end();
}

const ms = (value: number) => `${value.toFixed(2)} ms`;
console.log(
  `${COUNT} wake-ups at ${RATE}/s; load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(', ')}`,
);
console.log('| Mechanism | wake-up p50 | p99 | max | notifier waits (p50) | listener queries/s | heard |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.name} | ${ms(percentile(r.latencies, 50))} | ${ms(percentile(r.latencies, 99))} | ${ms(Math.max(...r.latencies))} | ${ms(percentile(r.notifierWait, 50))} | ${(r.listenerQueries / r.seconds).toFixed(0)} | ${r.latencies.length}/${COUNT} |`,
  );
}
