/**
 * What an outbox row costs Postgres from its insert to `done`: the
 * repository's own statements (src/outbox/repository.ts: the claim, and the
 * group commit that records deliveries), driven as the dispatcher drives
 * them but without HTTP, on a private database. Reports the row updates and
 * how many were HOT (no index entry written), the index entries left behind
 * (index size), WAL bytes per row, and rows a second through claim + done.
 * Writes docs/bench-outbox.md.
 *
 *   bun run bench:outbox              # ROWS=50000 LANES=2000 CLAIM=256
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { openDatabase } from '../src/db/client';
import { createOutboxRepository } from '../src/outbox/repository';

const ROWS = Number(process.env.ROWS ?? 50_000);
const LANES = Number(process.env.LANES ?? 2_000);
const CLAIM = Number(process.env.CLAIM ?? 256);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const root = join(import.meta.dir, '..');

const name = `hb_bench_outbox_${Date.now().toString(36)}`;
const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);

try {
  const database = await openDatabase({ databaseUrl, dataDir: '', poolSize: 4 });
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  // As the worker writes them: one WhatsApp send per row, LANES users, each lane's rows in id order.
  const insert = (from: number, to: number) =>
    sql.unsafe(`
      insert into outbox (kind, lane, payload, idempotency_key, author)
      select 'whatsapp.send', 'wa:57300' || lpad((n % ${LANES})::text, 7, '0'), jsonb_build_object('type', 'text', 'text', jsonb_build_object('body', 'Hola ' || n)),
             'send:' || n, 'agent'
      from generate_series(${from}, ${to}) as n`);
  // A backlog first (the agents' burst arrives faster than WhatsApp takes it), then rows keep coming while it drains.
  const BACKLOG = Math.floor(ROWS / 2);
  await insert(1, BACKLOG);
  await sql`vacuum analyze outbox`;
  const indexSize = async () =>
    Object.fromEntries(
      (
        (await sql`select indexrelid::regclass::text as name, pg_relation_size(indexrelid)::bigint as bytes from pg_index where indrelid = 'outbox'::regclass`) as unknown as {
          name: string;
          bytes: string;
        }[]
      ).map((row) => [row.name, Number(row.bytes)]),
    );
  const sizesBefore = await indexSize();
  const [{ lsn: walBefore }] = (await sql`select pg_current_wal_lsn()::text as lsn`) as unknown as [{ lsn: string }];

  const repository = createOutboxRepository(database, { leaseMs: 30_000, concurrency: CLAIM });
  const start = performance.now();
  let delivered = 0;
  let inserted = BACKLOG;
  for (;;) {
    if (inserted < ROWS) {
      const next = Math.min(ROWS, inserted + CLAIM / 2);
      await insert(inserted + 1, next);
      inserted = next;
    }
    const rows = await repository.claim();
    if (rows.length === 0) break;
    await repository.doneAll(rows.map((row) => ({ row, response: { messages: [{ id: `wamid.${row.id}` }] }, waMessageId: `wamid.${row.id}` })));
    delivered += rows.length;
  }
  const seconds = (performance.now() - start) / 1000;
  const [{ bytes: walBytes }] = (await sql`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${walBefore}::pg_lsn)::bigint as bytes`) as unknown as [{ bytes: string }];
  await database.close();
  // The closed connections have flushed their statistics.
  await Bun.sleep(1500);
  const [table] = (await sql`select n_tup_upd::int as updates, n_tup_hot_upd::int as hot from pg_stat_user_tables where relname = 'outbox'`) as unknown as [
    { updates: number; hot: number },
  ];
  const sizesAfter = await indexSize();
  const [{ server_version }] = (await sql`show server_version`) as unknown as [{ server_version: string }];
  await sql.end();

  if (delivered !== ROWS) throw new Error(`delivered ${delivered} of ${ROWS}`);
  const indexGrowth = Object.entries(sizesAfter)
    .map(([index, bytes]) => `| ${index} | ${(sizesBefore[index]! / 1024).toFixed(0)} KiB | ${(bytes / 1024).toFixed(0)} KiB |`)
    .join('\n');
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Bun ${Bun.version}, PostgreSQL ${server_version}`;
  const result = {
    rowsPerSecond: Math.round(ROWS / seconds),
    updatesPerRow: table.updates / ROWS,
    hotShare: table.hot / Math.max(1, table.updates),
    walBytesPerRow: Math.round(Number(walBytes) / ROWS),
  };
  console.log(result);
  if (process.env.WRITE !== '0') {
    await Bun.write(
      join(root, 'docs/bench-outbox.md'),
      `# Benchmark: what an outbox row costs Postgres (\`bun run bench:outbox\`)

What: ${ROWS.toLocaleString('en')} WhatsApp sends in ${LANES.toLocaleString('en')} lanes, inserted as the worker writes them (half of
them first, a backlog, then ${CLAIM / 2} more before each claim while it drains), delivered through the repository's own
statements (src/outbox/repository.ts), as the dispatcher runs them but with no HTTP in between: a claim of up
to ${CLAIM} lane heads, then one statement recording them done. The rate counts the inserts too.
Counted on a private database: row updates (pg_stat_user_tables) and how many were HOT (no index entry
written), WAL bytes (pg_current_wal_lsn, the whole server: other databases' writes count too, so this
figure is an upper bound on a shared machine), and each index's size before and after.

Machine: ${machine}. Run on ${new Date().toISOString().slice(0, 10)}.

| Rows a second (claim + done) | Updates a row | HOT | WAL a row |
|---|---|---|---|
| ${result.rowsPerSecond.toLocaleString('en')} | ${result.updatesPerRow.toFixed(2)} | ${(result.hotShare * 100).toFixed(0)} % | ${result.walBytesPerRow.toLocaleString('en')} B |

| Index | Before delivery | After |
|---|---|---|
${indexGrowth}

Rerun: \`bun run bench:outbox\` (\`ROWS\`, \`LANES\`, \`CLAIM\` override; \`BENCH_DATABASE_ADMIN_URL\` another
Postgres). It creates and drops its own database.
`,
    );
    console.log('wrote docs/bench-outbox.md');
  }
} finally {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
