import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq, inArray, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../../src/db/client';
import { nextTicketNumber, readFirst, write, type BatchWrites, type FirstReads } from '../../../src/db/runtime-store';
import { messages, outbox, timers, type NewMessage } from '../../../src/db/schema';
import { ADMIN_URL, createTestDatabase } from '../../support/harness';

/** The runtime's statements against the real Postgres: what the core decides on is what these read, what it decides is what these write. */
let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;

beforeAll(async () => {
  testDatabase = await createTestDatabase('runtime_store');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 2 });
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

const NO_READS: FirstReads = { keys: [], repliedTo: [], statusWamids: [], statusCallbacks: [] };
const NO_WRITES: BatchWrites = {
  statusChanges: [],
  settledSends: [],
  conversations: [],
  tickets: [],
  kpis: [],
  ticketEvents: [],
  messages: [],
  outbox: [],
  clearedTimers: [],
  armedTimers: [],
  messageRevisions: [],
};

let sequence = 0;
async function message(values: Partial<NewMessage>): Promise<number> {
  const base: NewMessage = {
    conversationKey: 'store',
    direction: 'outbound',
    author: 'bot',
    type: 'text',
    status: 'queued',
    createdAt: new Date(),
    outboxKey: `store#${++sequence}`,
  };
  const [row] = await database.db
    .insert(messages)
    .values({ ...base, ...values })
    .returning({ id: messages.id });
  return row!.id;
}

const sentIds = (reads: Partial<FirstReads>) =>
  database.db.transaction(async (tx) => (await readFirst(tx, [], { ...NO_READS, ...reads })).sentMessages.map((row) => row.id));

describe('the messages a status names', () => {
  test('are found by wamid, or by the outbox key WhatsApp echoes while they have no wamid yet; never a user’s own', async () => {
    const byWamid = await message({ waMessageId: 'wamid.store.1' });
    const lost = await message({ outboxKey: 'store-lost#0' });
    const knownKeyed = await message({ outboxKey: 'store-known#0', waMessageId: 'wamid.store.other' });
    await message({ direction: 'inbound', author: 'user', status: 'received', waMessageId: 'wamid.store.in', outboxKey: null });

    const found = await sentIds({ statusWamids: ['wamid.store.1', 'wamid.store.in', 'wamid.store.2'], statusCallbacks: ['store-lost#0', 'store-known#0'] });

    expect(found).toEqual([byWamid, lost]);
    expect(found).not.toContain(knownKeyed);
  });

  test('are locked until the batch commits: the dispatcher cannot mark them sent behind its decision', async () => {
    const id = await message({ waMessageId: 'wamid.store.locked' });
    const [{ name }] = (await database.rows<{ name: string }>(database.db, sql`select current_database() as name`)) as [{ name: string }];
    const other = postgres(ADMIN_URL.replace(/\/[^/]*$/, `/${name}`), { max: 1, onnotice: () => {} });
    try {
      const blocked = await database.db.transaction(async (tx) => {
        await readFirst(tx, [], { ...NO_READS, statusWamids: ['wamid.store.locked'] });
        return other
          .begin(async (sql) => {
            await sql`set local lock_timeout = '100ms'`;
            await sql`update messages set status = 'sent' where id = ${id}`;
          })
          .then(() => 'updated')
          .catch((error: { code?: string }) => error.code);
      });
      expect(blocked).toBe('55P03');
    } finally {
      await other.end();
    }
  });
});

describe('the write', () => {
  test('moves the statuses decided and settles only the sends still in doubt', async () => {
    const id = await message({ outboxKey: 'store-doubt#0' });
    const [inDoubt, claimed] = await database.db
      .insert(outbox)
      .values([
        { kind: 'whatsapp.send', lane: 'wa:store', payload: {}, idempotencyKey: 'store-doubt#0', inDoubtSince: new Date() },
        { kind: 'whatsapp.send', lane: 'wa:store', payload: {}, idempotencyKey: 'store-doubt#1', status: 'in_flight' },
      ])
      .returning();
    const statusAt = new Date('2026-11-30T15:00:01.000Z');

    await database.db.transaction((tx) =>
      write(tx, {
        ...NO_WRITES,
        statusChanges: [
          { id, status: 'delivered', statusAt, waMessageId: 'wamid.store.doubt', error: null, billable: null, pricingModel: null, pricingCategory: null },
        ],
        settledSends: [
          { outboxKey: 'store-doubt#0', status: 'delivered' },
          { outboxKey: 'store-doubt#1', status: 'sent' },
        ],
      }),
    );

    const [row] = await database.db.select().from(messages).where(eq(messages.id, id));
    expect(row).toMatchObject({ status: 'delivered', statusAt, waMessageId: 'wamid.store.doubt' });
    const settled = await database.db
      .select()
      .from(outbox)
      .where(inArray(outbox.id, [inDoubt!.id, claimed!.id]));
    expect(settled.find((item) => item.id === inDoubt!.id)).toMatchObject({ status: 'done', inDoubtSince: null, response: { reconciledBy: 'delivered' } });
    expect(settled.find((item) => item.id === claimed!.id)).toMatchObject({ status: 'in_flight', response: null });
  });

  test('re-arms a timer (due again, to be enqueued afresh) and clears another', async () => {
    await database.db.insert(timers).values([
      { id: 'store/assign', conversationKey: 'store', timer: 'assign', dueAt: new Date('2026-11-30T15:00:00Z'), enqueuedAt: new Date(), enqueueCount: 2 },
      { id: 'store/idle', conversationKey: 'store', timer: 'idle', dueAt: new Date('2026-11-30T15:00:00Z') },
    ]);
    const dueAt = new Date('2026-11-30T15:05:00Z');

    await database.db.transaction((tx) =>
      write(tx, {
        ...NO_WRITES,
        armedTimers: [{ id: 'store/assign', conversationKey: 'store', ticketId: null, timer: 'assign', dueAt, enqueuedAt: null }],
        clearedTimers: ['store/idle'],
      }),
    );

    const rows = await database.db.select().from(timers).where(eq(timers.conversationKey, 'store'));
    expect(rows).toEqual([expect.objectContaining({ id: 'store/assign', dueAt, enqueuedAt: null, enqueueCount: 0 })]);
  });
});

test('ticket numbers come from one sequence, each once', async () => {
  const [first, second] = await database.db.transaction(async (tx) => [await nextTicketNumber(tx), await nextTicketNumber(tx)]);
  expect(second).toBe(first! + 1);
});
