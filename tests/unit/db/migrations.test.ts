import { expect, test } from 'bun:test';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { openDatabase } from '../../../src/db/client';
import { createTestDatabase } from '../../support/harness';

const MIGRATIONS = fileURLToPath(new URL('../../../src/db/migrations', import.meta.url));

/** The committed migrations up to `tag`, in a folder of their own: the database as a release before the next one left it. */
function migrationsUpTo(tag: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'migrations-'));
  cpSync(MIGRATIONS, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  journal.entries = journal.entries.slice(0, journal.entries.findIndex((entry) => entry.tag === tag) + 1);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

test('the conversation-key migration renames: rows written before it are there after it, and the indexes still hold', async () => {
  const fresh = await createTestDatabase('migrate_conversation_key', { fresh: true });
  const before = migrationsUpTo('0010_partition_watermark');
  const sql = postgres(fresh.url, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(sql), { migrationsFolder: before });
    await sql`insert into conversations (phone, user_phone, state, snapshot) values ('573001112233', '573001112233', '"menu"', '{}')`;
    await sql`insert into tickets (id, phone, category, priority, status, phase, requested_at, last_activity_at, snapshot)
              values ('TK-2026-000001', '573001112233', 'soporte_agente', 'media', 'active', 'with_agent', now(), now(), '{}')`;
    await sql`insert into messages (phone, direction, author, type, status, created_at) values ('573001112233', 'inbound', 'user', 'text', 'received', now())`;
    await sql`insert into timers (id, key, timer, due_at) values ('conversation-x/survey', '573001112233', 'survey', now())`;

    const database = await openDatabase({ databaseUrl: fresh.url, dataDir: '' });
    await database.close();

    const key = '573001112233';
    expect([...(await sql`select conversation_key from conversations`)]).toEqual([{ conversation_key: key }]);
    expect([...(await sql`select id, conversation_key from tickets`)]).toEqual([{ id: 'TK-2026-000001', conversation_key: key }]);
    expect([...(await sql`select conversation_key from messages`)]).toEqual([{ conversation_key: key }]);
    expect([...(await sql`select conversation_key from timers`)]).toEqual([{ conversation_key: key }]);
    const indexes = await sql`select indexname from pg_indexes where indexname like '%conversation_key%' or indexname like '%phone%' order by 1`;
    expect(indexes.map((row) => row.indexname)).toEqual([
      'conversations_user_phone_idx',
      'customers_phone_idx',
      'messages_conversation_key_idx',
      'tickets_conversation_key_idx',
      'tickets_one_open_per_conversation_key',
    ]);
    // The renamed partial unique index still refuses a second open ticket for the same user.
    const twin = await sql`insert into tickets (id, conversation_key, category, priority, status, phase, requested_at, last_activity_at, snapshot)
                           values ('TK-2026-000002', ${key}, 'soporte_agente', 'media', 'pending', 'waiting_agent', now(), now(), '{}')`.catch(
      (error: { code?: string }) => error.code,
    );
    expect(twin).toBe('23505');
  } finally {
    await sql.end();
    rmSync(before, { recursive: true, force: true });
    await fresh.drop();
  }
});

test('the hot tables keep room for HOT updates and are vacuumed early; an open outbox row is one not completed, whatever its status', async () => {
  const fresh = await createTestDatabase('migrate_hot_tables', { fresh: true });
  const before = migrationsUpTo('0017_kpi_rollups');
  const sql = postgres(fresh.url, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(sql), { migrationsFolder: before });
    // A row finished before completed_at was the open-row test, and one left without it: both are finished after.
    await sql`insert into outbox (kind, lane, payload, idempotency_key, status, completed_at) values
              ('crm.user_message', 'crm:a', '{}', 'k-done', 'done', now()), ('crm.user_message', 'crm:a', '{}', 'k-failed', 'failed', null),
              ('crm.user_message', 'crm:a', '{}', 'k-open', 'pending', null)`;
    const database = await openDatabase({ databaseUrl: fresh.url, dataDir: '' });
    await database.close();

    const open = await sql<{ key: string }[]>`select idempotency_key as key from outbox where completed_at is null`;
    expect(open.map((row) => row.key)).toEqual(['k-open']);
    const options = await sql<{ table: string; options: string[] }[]>`
      select relname as table, reloptions as options from pg_class where relname in ('outbox', 'timers', 'messages') order by relname`;
    expect(options.find((row) => row.table === 'outbox')!.options).toEqual(
      expect.arrayContaining(['fillfactor=50', 'autovacuum_vacuum_scale_factor=0.02']),
    );
    expect(options.find((row) => row.table === 'timers')!.options).toContain('autovacuum_vacuum_scale_factor=0.02');
    expect(options.find((row) => row.table === 'messages')!.options).toContain('autovacuum_vacuum_insert_scale_factor=0.05');
  } finally {
    await sql.end();
    rmSync(before, { recursive: true, force: true });
    await fresh.drop();
  }
});
