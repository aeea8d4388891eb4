/**
 * `bun run bench:retention`: storage stays flat under the retention settings
 * (issue 21), and the purge does not slow the worker.
 *
 * Two phases on fresh databases, each with steady traffic for several
 * retention periods: new subscribers keep arriving (RATE messages a second,
 * a new subscriber every 10 messages), each message answered by the bot on
 * WhatsApp. Phase "purge on": every retention RETENTION_S seconds, the purge
 * every 2 s. Phase "purge off": retention of years. Every 10 s the row count
 * and the on-disk size (pg_total_relation_size) of every table that grows,
 * and the Redis id map, are sampled; the latency is webhook 200 → the bot's
 * reply at the Graph fake, its p99 per phase.
 *
 * Then a short measure of the alternative, time partitions: deleting the
 * oldest half of a table in 500-row batches against dropping its partition.
 *
 * Settings: RATE (100), RETENTION_S (20), PERIODS (5). Writes docs/bench-retention.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { loadConfig } from '../src/config';
import { startService } from '../src/index';
import { signBody } from '../src/lib/security';
import { createLogger } from '../src/logger';
import { startPrivatePostgres } from './soak/private-postgres';
import { userTextWebhook } from './support';
import { measurePartitioning } from './retention/partitioning';

const RATE = Number(process.env.RATE ?? 100);
const RETENTION_S = Number(process.env.RETENTION_S ?? 20);
const PERIODS = Number(process.env.PERIODS ?? 5);
const SAMPLE_S = 10;
const SECRET = 'bench-retention-secret';
const TABLES = ['processed_events', 'messages', 'outbox', 'conversations', 'tickets', 'ticket_events', 'ticket_kpis', 'timers'];
const DAY_S = 24 * 3600;

interface Sample {
  at: number;
  rows: Record<string, number>;
  bytes: Record<string, number>;
  userIds: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/** A database of the phase's own on the benchmark's Postgres: nothing another phase bloated. */
async function freshDatabase(adminUrl: string, name: string) {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  return { url: adminUrl.replace(/\/[^/]*$/, `/${name}`) };
}

async function phase(adminUrl: string, name: 'purge on' | 'purge off') {
  const database = await freshDatabase(adminUrl, `bench_${name.replace(' ', '_')}`);
  const pending = new Map<string, number[]>();
  const latencies: { at: number; ms: number }[] = [];
  let wamid = 0;
  const graph = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const body = (await request.json()) as { to?: string };
      const sent = pending.get(body.to ?? '')?.shift();
      if (sent !== undefined) latencies.push({ at: performance.now(), ms: performance.now() - sent });
      return Response.json({ messaging_product: 'whatsapp', messages: [{ id: `wamid.ret.${++wamid}` }] });
    },
  });
  const crm = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json({ success: true }) });
  const retentionDays = name === 'purge on' ? String(RETENTION_S / DAY_S) : '3650';
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'warn',
    DATABASE_URL: database.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `bench-retention:${process.pid}:${name.replace(' ', '-')}:`,
    META_WEBHOOK_SECRET: SECRET,
    WHATSAPP_API_URL: `http://127.0.0.1:${graph.port}/v21.0`,
    WHATSAPP_TOKEN: 'bench',
    WHATSAPP_PHONE_NUMBER_ID: '1234567890',
    CRM_BASE_URL: `http://127.0.0.1:${crm.port}`,
    WHATSAPP_SENDS_PER_SECOND: '100000',
    STREAM_RETENTION_S: String(Math.min(RETENTION_S, 3600)),
    RETENTION_DEDUPE_DAYS: retentionDays,
    RETENTION_OUTBOX_DAYS: retentionDays,
    RETENTION_HISTORY_DAYS: retentionDays,
    RETENTION_KPI_DAYS: retentionDays,
    RETENTION_DEAD_LETTERS_DAYS: retentionDays,
    RETENTION_PURGE_INTERVAL_S: name === 'purge on' ? '2' : String(DAY_S),
  });
  const service = await startService(config, createLogger('warn'));
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const redis = new Bun.RedisClient(config.REDIS_URL);
  const samples: Sample[] = [];
  const startedAt = performance.now();
  const sample = async () => {
    const rows: Record<string, number> = {};
    const bytes: Record<string, number> = {};
    for (const table of TABLES) {
      const [row] = await sql.unsafe(`select count(*)::int as n, pg_total_relation_size('${table}')::bigint as size from ${table}`);
      rows[table] = row!.n;
      bytes[table] = Number(row!.size);
    }
    const userIds = Number(await redis.send('HLEN', [`${config.REDIS_KEY_PREFIX}users`]));
    samples.push({ at: (performance.now() - startedAt) / 1000, rows, bytes, userIds });
  };
  const durationMs = RETENTION_S * PERIODS * 1000;
  let sent = 0;
  const sampler = setInterval(() => void sample(), SAMPLE_S * 1000);
  // Steady traffic: each tick sends what is due so far, so a slow tick does not lower the rate.
  while (performance.now() - startedAt < durationMs) {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * RATE);
    const batch: Promise<unknown>[] = [];
    for (; sent < due; sent++) {
      const phone = `5739${String(Math.floor(sent / 10)).padStart(8, '0')}`;
      const body = userTextWebhook(phone, `wamid.in.${name.replace(' ', '')}.${sent}`, 'hola');
      const post = fetch(`${service.url}/webhook`, {
        method: 'POST',
        body,
        headers: { 'x-hub-signature-256': signBody(SECRET, body), 'content-type': 'application/json' },
      });
      batch.push(
        post.then((response) => {
          if (response.status === 200) pending.set(phone, [...(pending.get(phone) ?? []), performance.now()]);
        }),
      );
    }
    await Promise.all(batch);
    await Bun.sleep(10);
  }
  clearInterval(sampler);
  await Bun.sleep(2000);
  await sample();
  await service.stop();
  await sql.end();
  redis.close();
  graph.stop(true);
  crm.stop(true);
  // The first period fills the tables: the comparison is over the steady part after it.
  const steady = latencies.filter((latency) => (latency.at - startedAt) / 1000 > RETENTION_S).map((latency) => latency.ms);
  return { name, sent, replies: latencies.length, p50: percentile(steady, 50), p99: percentile(steady, 99), samples };
}

const kb = (bytes: number) => `${Math.round(bytes / 1024)}`;

function report(phases: Awaited<ReturnType<typeof phase>>[], partitioning: Awaited<ReturnType<typeof measurePartitioning>>) {
  const [on, off] = phases as [(typeof phases)[0], (typeof phases)[0]];
  const lines = [
    '# bench:retention: storage stays flat, the worker unslowed',
    '',
    `Run: \`bun run bench:retention\` (RATE=${RATE} messages/s, RETENTION_S=${RETENTION_S}, PERIODS=${PERIODS}; ${new Date().toISOString().slice(0, 10)}).`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, shared with other developers' work;`,
    "Postgres a server of the benchmark's own (initdb, stock settings, autovacuum on with a 5 s naptime), Redis the shared local one,",
    'the service in the benchmark process. Each phase has a fresh database.',
    '',
    'Traffic: a new subscriber every 10 messages, each message answered by the bot on WhatsApp (a Graph fake).',
    `Phase "purge on": every RETENTION_*_DAYS set to ${RETENTION_S} s, the purge every 2 s. Phase "purge off": retention of ten years.`,
    '',
    '## Latency, webhook 200 → the bot’s reply at Graph (after the first period)',
    '',
    '| phase | messages | p50 ms | p99 ms |',
    '|---|---|---|---|',
    ...phases.map((p) => `| ${p.name} | ${p.sent} | ${p.p50.toFixed(1)} | ${p.p99.toFixed(1)} |`),
    '',
    `p99 with the purge / without: ${((on.p99 / off.p99) * 100).toFixed(0)} % (budget: within 110 %).`,
    '',
    ...phases.flatMap((p) => [
      `## Rows and size (KiB) by table, every ${SAMPLE_S} s: ${p.name}`,
      '',
      `| s | ${TABLES.map((table) => `${table} rows / KiB`).join(' | ')} | Redis id map |`,
      `|---|${TABLES.map(() => '---').join('|')}|---|`,
      ...p.samples.map((s) => `| ${Math.round(s.at)} | ${TABLES.map((table) => `${s.rows[table]} / ${kb(s.bytes[table]!)}`).join(' | ')} | ${s.userIds} |`),
      '',
    ]),
    '## Time partitions instead of batched deletes',
    '',
    ...partitioning,
  ];
  writeFileSync(join(import.meta.dir, '../docs/bench-retention.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
}

// A Postgres of the benchmark's own with autovacuum on, as production runs it (a shared test server may have it off), its
// naptime 5 s instead of a minute: a run of a few retention periods sees what a day sees at the default.
const server = await startPrivatePostgres();
try {
  const admin = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`alter system set autovacuum_naptime = '5s'`);
  await admin`select pg_reload_conf()`;
  await admin.end();
  const phases = [await phase(server.adminUrl, 'purge on'), await phase(server.adminUrl, 'purge off')];
  const partitioning = await measurePartitioning(server.adminUrl);
  report(phases, partitioning);
} finally {
  await server.stop();
}
process.exit(0);
