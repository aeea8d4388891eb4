import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { asc, eq, sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../../../src/db/client';
import { anyOfTexts, deleteWhereIn, inOrder, inTexts, insertRows, preparedStatement, runPrepared, updateRows, upsertTail } from '../../../src/db/bulk';
import { messages, outbox, processedEvents, tickets, timers } from '../../../src/db/schema';
import { createTestDatabase } from '../../support/harness';

/** Multi-row writes as one jsonb parameter: what drizzle's VALUES did, with a text that does not depend on the rows. */
let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;

beforeAll(async () => {
  testDatabase = await createTestDatabase('bulk');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 2 });
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

describe('insertRows', () => {
  test('writes the rows in their order (serial ids follow it), with their dates, jsonb values and NULLs as given', async () => {
    const at = new Date('2026-11-28T10:00:00.123Z');
    const rows = Array.from({ length: 5 }, (_, n) => ({
      kind: 'whatsapp.send' as const,
      lane: `wa:bulk-order`,
      payload: { n, nested: { list: [n, 'ü', null] } },
      idempotencyKey: `bulk-order-${n}`,
      ticketId: null,
      author: n % 2 === 0 ? ('bot' as const) : undefined,
      nextAttemptAt: at,
    }));
    await insertRows(database.db, outbox, rows);
    const stored = await database.db.select().from(outbox).where(eq(outbox.lane, 'wa:bulk-order')).orderBy(asc(outbox.id));
    expect(stored.map((row) => row.idempotencyKey)).toEqual(rows.map((row) => row.idempotencyKey));
    expect(stored.map((row) => row.payload)).toEqual(rows.map((row) => row.payload));
    expect(stored.map((row) => row.author)).toEqual(['bot', null, 'bot', null, 'bot']);
    expect(stored.every((row) => row.nextAttemptAt.toISOString() === at.toISOString())).toBe(true);
    // Left out: the table's defaults.
    expect(stored.every((row) => row.status === 'pending' && row.attempts === 0)).toBe(true);
  });

  for (const where of ['pool', 'transaction'] as const) {
    test(`a row that leaves a defaulted column out gets its default even between rows that give it, and the order holds (${where})`, async () => {
      const given = new Date('2026-01-01T00:00:00.000Z');
      const lane = `crm:bulk-defaults-${where}`;
      const base = { kind: 'crm.user_message' as const, lane, payload: {}, ticketId: null };
      const rows = [
        { ...base, idempotencyKey: `${lane}-0`, nextAttemptAt: given },
        { ...base, idempotencyKey: `${lane}-1` },
        { ...base, idempotencyKey: `${lane}-2`, nextAttemptAt: given },
      ];
      if (where === 'pool') await insertRows(database.db, outbox, rows);
      else await database.db.transaction((tx) => insertRows(tx, outbox, rows));
      const stored = await database.db.select().from(outbox).where(eq(outbox.lane, lane)).orderBy(asc(outbox.id));
      expect(stored.map((row) => row.idempotencyKey)).toEqual(rows.map((row) => row.idempotencyKey));
      expect(stored[0]!.nextAttemptAt.toISOString()).toBe(given.toISOString());
      expect(stored[1]!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(stored[2]!.nextAttemptAt.toISOString()).toBe(given.toISOString());
    });
  }

  test('returns what `returning` gives, and `on conflict do nothing` keeps the first write', async () => {
    const first = await insertRows(database.db, processedEvents, [{ id: 'bulk:a', streamEntryId: '1-0' }], 'on conflict do nothing returning "id"');
    const again = await insertRows(
      database.db,
      processedEvents,
      [
        { id: 'bulk:a', streamEntryId: '2-0' },
        { id: 'bulk:b', streamEntryId: '2-1' },
      ],
      'on conflict do nothing returning "id"',
    );
    expect(first).toEqual([{ id: 'bulk:a' }]);
    expect(again).toEqual([{ id: 'bulk:b' }]);
  });

  test('an upsert changes what may change and keeps what is fixed; an extra assignment counts', async () => {
    const now = new Date();
    const ticket = {
      id: 'TK-BULK-1',
      conversationKey: '573001110000',
      category: 'soporte_agente' as const,
      priority: 'media' as const,
      status: 'pending' as const,
      phase: 'waiting_agent',
      requestedAt: now,
      lastActivityAt: now,
      snapshot: { value: 'waitingAgent' },
    };
    const tail = upsertTail(tickets, tickets.id, ['id', 'conversationKey', 'revision'], { revision: '"tickets"."revision" + 1' });
    await insertRows(database.db, tickets, [ticket], tail);
    await insertRows(database.db, tickets, [{ ...ticket, conversationKey: '573009999999', status: 'active', agentName: 'Laura' }], tail);
    const [stored] = await database.db.select().from(tickets).where(eq(tickets.id, 'TK-BULK-1'));
    expect(stored).toMatchObject({ conversationKey: '573001110000', status: 'active', agentName: 'Laura', revision: 2, snapshot: { value: 'waitingAgent' } });
  });

  test('a value the column refuses fails the statement with Postgres’s own error (a data error, class 22)', async () => {
    const refused = await insertRows(database.db, messages, [
      { conversationKey: '573001110001', direction: 'inbound', author: 'user', type: 'text', body: 'hola\u0000', status: 'received', createdAt: new Date() },
    ]).catch((error: Error & { cause?: { code?: string } }) => error.cause?.code ?? (error as { code?: string }).code);
    expect(String(refused)).toStartWith('22');
  });

  test('a lone surrogate is stored as U+FFFD, as postgres.js sent it; an escaped backslash before "ud800" stays text', async () => {
    const base = {
      conversationKey: '573001110004',
      direction: 'inbound' as const,
      author: 'user' as const,
      type: 'text',
      status: 'received' as const,
      createdAt: new Date(),
    };
    await insertRows(database.db, messages, [
      { ...base, body: 'antes \ud83d después', details: { note: '\ude00' } },
      { ...base, body: String.raw`literal \ud800` },
    ]);
    const stored = await database.db
      .select({ body: messages.body, details: messages.details })
      .from(messages)
      .where(eq(messages.conversationKey, '573001110004'))
      .orderBy(asc(messages.id));
    expect(stored).toEqual([
      { body: 'antes \ufffd después', details: { note: '\ufffd' } },
      { body: String.raw`literal \ud800`, details: null },
    ]);
  });

  test('an invalid date or an infinite number is refused before anything is sent (a RangeError), not written as NULL', async () => {
    const base = { kind: 'crm.user_message' as const, lane: 'crm:bulk-invalid', payload: {}, ticketId: null };
    await expect(insertRows(database.db, outbox, [{ ...base, idempotencyKey: 'bulk-invalid-0', completedAt: new Date(Number.NaN) }])).rejects.toThrow(
      RangeError,
    );
    await expect(insertRows(database.db, outbox, [{ ...base, idempotencyKey: 'bulk-invalid-1', attempts: Number.POSITIVE_INFINITY }])).rejects.toThrow(
      RangeError,
    );
    expect(await database.db.select().from(outbox).where(eq(outbox.lane, 'crm:bulk-invalid'))).toEqual([]);
  });

  test('the statement text does not grow with the rows: one prepared statement serves every batch size', async () => {
    // One transaction is one connection, whose prepared statements pg_prepared_statements lists.
    const prepared = await database.db.transaction(async (tx) => {
      for (const count of [1, 2, 7]) {
        await insertRows(
          tx,
          timers,
          Array.from({ length: count }, (_, n) => ({
            id: `bulk-timer-${count}-${n}`,
            ticketId: null,
            conversationKey: '573001110002',
            timer: 'survey',
            dueAt: new Date(),
          })),
        );
      }
      return database.rows<{ statement: string }>(tx, sql`select statement from pg_prepared_statements where statement like 'insert into "timers"%'`);
    });
    expect(prepared).toHaveLength(1);
  });
});

test('deleteWhereIn removes exactly the ids given', async () => {
  const ids = ['bulk-del-1', 'bulk-del-2', 'bulk-del-3'];
  await insertRows(
    database.db,
    timers,
    ids.map((id) => ({ id, ticketId: null, conversationKey: '573001110003', timer: 'survey', dueAt: new Date() })),
  );
  await deleteWhereIn(database.db, timers, timers.id, ['bulk-del-1', 'bulk-del-3', 'bulk-absent']);
  const left = await database.db.select({ id: timers.id }).from(timers).where(inTexts(timers.id, ids));
  expect(left).toEqual([{ id: 'bulk-del-2' }]);
});

describe('updateRows', () => {
  test('sets each row its own values (enums, dates, jsonb, NULL), touches no other row, and keeps one text for any number of rows', async () => {
    const base = { conversationKey: '573001110004', direction: 'outbound' as const, author: 'bot' as const, type: 'text', status: 'queued' as const, createdAt: new Date() };
    const inserted = await database.db
      .insert(messages)
      .values([1, 2, 3].map((n) => ({ ...base, outboxKey: `bulk-update#${n}`, error: { old: n } })))
      .returning({ id: messages.id });
    const [one, two, three] = inserted.map((row) => row.id) as [number, number, number];
    const at = new Date('2026-11-30T15:00:00.500Z');

    const prepared = await database.db.transaction(async (tx) => {
      await updateRows(tx, messages, 'id', [{ id: one, status: 'delivered', statusAt: at, waMessageId: 'wamid.bulk.1', error: null }]);
      await updateRows(tx, messages, 'id', [
        { id: two, status: 'failed', statusAt: at, waMessageId: 'wamid.bulk.2', error: [{ code: 131026 }] },
        { id: one, status: 'read', statusAt: at, waMessageId: 'wamid.bulk.1', error: null },
      ]);
      return database.rows<{ statement: string }>(tx, sql`select statement from pg_prepared_statements where statement like 'update "messages" as t%'`);
    });

    const rows = await database.db.select().from(messages).where(inTexts(messages.outboxKey, ['bulk-update#1', 'bulk-update#2', 'bulk-update#3'])).orderBy(asc(messages.id));
    expect(rows.map((row) => [row.id, row.status, row.statusAt?.toISOString() ?? null, row.waMessageId, row.error])).toEqual([
      [one, 'read', at.toISOString(), 'wamid.bulk.1', null],
      [two, 'failed', at.toISOString(), 'wamid.bulk.2', [{ code: 131026 }]],
      [three, 'queued', null, null, { old: 3 }],
    ]);
    expect(prepared).toHaveLength(1);
  });

  test('rows that name different columns are refused before anything is sent', async () => {
    const rows = [{ id: 1, status: 'read' as const }, { id: 2, waMessageId: 'wamid.x' }];
    await expect(updateRows(database.db, messages, 'id', rows)).rejects.toThrow('every row must name the same columns');
  });
});

test('a fixed statement runs prepared, with its parameters, on the pool or in a transaction', async () => {
  const statement = preparedStatement('select $1::int + 1 as n');
  expect(await runPrepared(database.db, statement, [41])).toEqual([{ n: 42 }]);
  const inTransaction = await database.db.transaction((tx) => runPrepared(tx, statement, [1]));
  expect(inTransaction).toEqual([{ n: 2 }]);
});

test('statements started together run in the order started, and the first failure is the one reported', async () => {
  const step = preparedStatement("select nextval('bulk_probe') as n");
  await database.rows(database.db, sql`create sequence if not exists bulk_probe`);
  const numbers = await database.db.transaction((tx) => inOrder([runPrepared(tx, step, []), runPrepared(tx, step, []), runPrepared(tx, step, [])]));
  const [first, second, third] = numbers.map((rows) => Number((rows as { n: string }[])[0]!.n));
  expect([second! - first!, third! - second!]).toEqual([1, 1]);

  const failure = await database.db
    .transaction((tx) => inOrder([runPrepared(tx, step, []), runPrepared(tx, preparedStatement('select 1 / 0'), []), runPrepared(tx, step, [])]))
    .catch((error: Error & { cause?: { code?: string } }) => error.cause?.code ?? (error as { code?: string }).code);
  // Division by zero (22012), not the aborted transaction (25P02) the statement after it met.
  expect(failure).toBe('22012');
});

describe('anyOfTexts', () => {
  test('two of them in an `or` are index scans joined, not a filter over every row (the status webhooks’ lookup of their messages)', async () => {
    await database.db.execute(sql`
      insert into messages (conversation_key, direction, author, type, body, status, wa_message_id, outbox_key, created_at)
      select '5730' || n, 'outbound', 'agent', 'text', 'hola', 'sent', 'wamid.any.' || n, 'send:any:' || n, now() from generate_series(1, 20000) n`);
    await database.db.execute(sql`analyze messages`);
    const condition = sql`${anyOfTexts(messages.waMessageId, ['wamid.any.7', 'wamid.any.70'])} or (${anyOfTexts(messages.outboxKey, ['send:any:9'])} and ${messages.waMessageId} is null)`;
    const plan = (await database.rows<{ 'QUERY PLAN': string }>(database.db, sql`explain select id from messages where ${condition}`)).map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toContain('BitmapOr');
    expect(plan).not.toContain('Seq Scan');
    const found = await database.rows<{ wa_message_id: string }>(database.db, sql`select wa_message_id from messages where ${condition} order by id`);
    expect(found.map((row) => row.wa_message_id)).toEqual(['wamid.any.7', 'wamid.any.70']);
    // The `in (select …)` form it replaced: a filter tested against each row.
    const before = (
      await database.rows<{ 'QUERY PLAN': string }>(
        database.db,
        sql`explain select id from messages where ${inTexts(messages.waMessageId, ['wamid.any.7'])} or (${inTexts(messages.outboxKey, ['send:any:9'])} and ${messages.waMessageId} is null)`,
      )
    )
      .map((row) => row['QUERY PLAN'])
      .join('\n');
    expect(before).toContain('hashed SubPlan');
  });
});
