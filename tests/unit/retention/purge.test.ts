import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { Counter } from 'prom-client';
import { openDatabase, type Database } from '../../../src/db/client';
import { createRetentionStore } from '../../../src/db/retention-store';
import { conversations, messages, outbox, processedEvents, ticketEvents, ticketKpis, tickets, timers } from '../../../src/db/schema';
import { createLogger } from '../../../src/logger';
import { createRetentionPurge, type RetentionPeriods } from '../../../src/retention/purge';
import { createTestDatabase } from '../../support/harness';
import { redisFixture } from '../streams/redis-fixture';

/** Each store past its retention is deleted, and nothing younger, against the real Postgres and Redis. */
const DAY_MS = 24 * 3600 * 1000;
// The real clock: rows the test's traffic writes carry the database's now().
const NOW = Date.now();
const PERIODS: RetentionPeriods = { dedupeMs: 8 * DAY_MS, outboxMs: 7 * DAY_MS, historyMs: 365 * DAY_MS, kpiMs: 730 * DAY_MS, deadLettersMs: 30 * DAY_MS };
const daysAgo = (days: number) => new Date(NOW - days * DAY_MS);

let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
let fixture: ReturnType<typeof redisFixture>;
const logLines: string[] = [];
const logger = createLogger('info', { write: (line: string) => void logLines.push(line) });

beforeAll(async () => {
  testDatabase = await createTestDatabase('retention_purge');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 4 });
  fixture = redisFixture('retention-purge');
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
  await fixture.drop();
});
beforeEach(async () => {
  logLines.length = 0;
  await database.db.execute(sql`truncate processed_events, outbox, messages, ticket_events, ticket_kpis, tickets, conversations, timers`);
  await fixture.redis.del(fixture.keys.users, fixture.keys.deadLetter);
});

function purge(options: { batchSize?: number; redis?: typeof fixture.redis } = {}) {
  return createRetentionPurge({
    store: createRetentionStore(database),
    redis: options.redis ?? fixture.redis,
    keys: fixture.keys,
    periods: PERIODS,
    batchSize: options.batchSize ?? 500,
    intervalMs: 60_000,
    logger,
    metrics: { retentionDeleted: new Counter({ name: 'retention_deleted_test', help: 'test', labelNames: ['store'], registers: [] }) },
    now: () => NOW,
  });
}

const ids = async () => (await database.db.select({ id: processedEvents.id }).from(processedEvents)).map((row) => row.id).sort();

describe('each store keeps what is younger than its retention and loses what is older', () => {
  test('dedupe records: past RETENTION_DEDUPE_DAYS, in as many batches as it takes', async () => {
    const old = Array.from({ length: 7 }, (_, n) => ({ id: `wa:msg:old-${n}`, streamEntryId: '1-0', processedAt: daysAgo(9) }));
    await database.db.insert(processedEvents).values([...old, { id: 'wa:msg:young', streamEntryId: '2-0', processedAt: daysAgo(7) }]);

    const deleted = await purge({ batchSize: 2 }).runOnce();

    expect(deleted.dedupe).toBe(7);
    expect(await ids()).toEqual(['wa:msg:young']);
  });

  test('outbox: delivered rows past RETENTION_OUTBOX_DAYS, failed ones past the dead letters’, open ones never; an erasure notice once delivered', async () => {
    const row = (
      idempotencyKey: string,
      status: 'pending' | 'done' | 'failed',
      days: number,
      kind: 'crm.ticket_update' | 'crm.subscriber_erased' = 'crm.ticket_update',
    ) => ({
      kind,
      lane: 'crm:573001112233',
      payload: {},
      idempotencyKey,
      status,
      createdAt: daysAgo(days),
    });
    await database.db
      .insert(outbox)
      .values([
        row('done-old', 'done', 8),
        row('done-young', 'done', 6),
        row('failed-mid', 'failed', 8),
        row('failed-old', 'failed', 31),
        row('pending-old', 'pending', 400),
        row('erased-done', 'done', 0, 'crm.subscriber_erased'),
        row('erased-pending', 'pending', 0, 'crm.subscriber_erased'),
      ]);

    expect((await purge().runOnce()).outbox).toBe(3);

    const left = await database.db.select({ key: outbox.idempotencyKey }).from(outbox);
    expect(left.map((r) => r.key).sort()).toEqual(['done-young', 'erased-pending', 'failed-mid', 'pending-old']);
  });

  test('history: messages, and closed tickets with their events, past RETENTION_HISTORY_DAYS; open tickets and the KPIs stay', async () => {
    const message = (days: number) => ({
      conversationKey: '573001112233',
      direction: 'inbound' as const,
      author: 'user' as const,
      type: 'text',
      body: `${days}`,
      status: 'received' as const,
      createdAt: daysAgo(days),
    });
    await database.db.insert(messages).values([message(366), message(400), message(364)]);
    const ticket = (id: string, status: 'closed' | 'active', requested: number, closed: number | null) => ({
      id,
      conversationKey: `key-${id}`,
      category: 'soporte_agente' as const,
      priority: 'media' as const,
      status,
      phase: status,
      requestedAt: daysAgo(requested),
      closedAt: closed === null ? null : daysAgo(closed),
      lastActivityAt: daysAgo(closed ?? requested),
      snapshot: {},
    });
    await database.db
      .insert(tickets)
      .values([ticket('TK-old', 'closed', 400, 370), ticket('TK-recent', 'closed', 400, 300), ticket('TK-open', 'active', 400, null)]);
    await database.db
      .insert(ticketEvents)
      .values(['TK-old', 'TK-old', 'TK-recent', 'TK-open'].map((ticketId) => ({ ticketId, type: 'closed', at: daysAgo(370) })));
    await database.db
      .insert(ticketKpis)
      .values({ ticketId: 'TK-old', requestedAt: daysAgo(400), status: 'closed', category: 'soporte_agente', priority: 'media' });

    const deleted = await purge().runOnce();

    expect({ messages: deleted.messages, tickets: deleted.tickets }).toEqual({ messages: 2, tickets: 1 });
    expect((await database.db.select({ body: messages.body }).from(messages)).map((row) => row.body)).toEqual(['364']);
    expect((await database.db.select({ id: tickets.id }).from(tickets)).map((row) => row.id).sort()).toEqual(['TK-open', 'TK-recent']);
    expect((await database.db.select({ id: ticketEvents.ticketId }).from(ticketEvents)).map((row) => row.id).sort()).toEqual(['TK-open', 'TK-recent']);
    expect(await database.db.select({ id: ticketKpis.ticketId }).from(ticketKpis)).toEqual([{ id: 'TK-old' }]);
  });

  test('KPI rows past RETENTION_KPI_DAYS', async () => {
    const kpi = (ticketId: string, days: number) => ({
      ticketId,
      requestedAt: daysAgo(days),
      status: 'closed' as const,
      category: 'soporte_agente' as const,
      priority: 'media' as const,
    });
    await database.db.insert(ticketKpis).values([kpi('TK-kpi-old', 731), kpi('TK-kpi-young', 729)]);

    expect((await purge().runOnce()).kpis).toBe(1);
    expect(await database.db.select({ id: ticketKpis.ticketId }).from(ticketKpis)).toEqual([{ id: 'TK-kpi-young' }]);
  });

  test('conversations idle past the history, without an open ticket or a deadline, go with their ids in the Redis map', async () => {
    const conversation = (key: string, days: number, userPhone: string | null, bsuid: string | null) => ({
      conversationKey: key,
      userPhone,
      bsuid,
      state: 'menu',
      snapshot: {},
      updatedAt: daysAgo(days),
    });
    await database.db.insert(conversations).values([
      conversation('573001110001', 400, '573001110001', 'CO.1110001'),
      conversation('573001110002', 400, '573001110002', null),
      conversation('573001110003', 400, '573001110003', null),
      conversation('573001110004', 30, '573001110004', null),
      // A user keyed by BSUID whose old phone was reassigned to someone else: the phone's entry is not theirs to remove.
      conversation('CO.1110005', 400, '573001110009', 'CO.1110005'),
    ]);
    await database.db.insert(tickets).values({
      id: 'TK-still-open',
      conversationKey: '573001110002',
      category: 'soporte_agente',
      priority: 'media',
      status: 'pending',
      phase: 'waiting_agent',
      requestedAt: daysAgo(400),
      lastActivityAt: daysAgo(400),
      snapshot: {},
    });
    await database.db.insert(timers).values({ id: '573001110003/survey', conversationKey: '573001110003', timer: 'survey', dueAt: daysAgo(399) });
    const users = fixture.keys.users;
    await fixture.redis.hset(users, {
      'id:573001110001': '573001110001',
      'id:CO.1110001': '573001110001',
      'bsuid:573001110001': 'CO.1110001',
      'id:573001110002': '573001110002',
      'id:CO.1110005': 'CO.1110005',
      'bsuid:CO.1110005': 'CO.1110005',
      'id:573001110009': '573001110009',
    });

    expect((await purge().runOnce()).conversations).toBe(2);

    const left = await database.db.select({ key: conversations.conversationKey }).from(conversations);
    expect(left.map((row) => row.key).sort()).toEqual(['573001110002', '573001110003', '573001110004']);
    expect(await fixture.redis.hgetall(users)).toEqual({ 'id:573001110002': '573001110002', 'id:573001110009': '573001110009' });
  });

  test('dead letters past RETENTION_DEAD_LETTERS_DAYS', async () => {
    await fixture.redis.xadd(fixture.keys.deadLetter, `${NOW - 31 * DAY_MS}-0`, 'error', 'old');
    await fixture.redis.xadd(fixture.keys.deadLetter, `${NOW - 29 * DAY_MS}-0`, 'error', 'young');

    expect((await purge().runOnce()).dead_letters).toBe(1);
    expect((await fixture.redis.xrange(fixture.keys.deadLetter, '-', '+')).map(([, fields]) => fields[1])).toEqual(['young']);
  });
});

describe('off the hot path', () => {
  test('a row the worker holds is skipped, not waited for; the rest go while new rows keep arriving', async () => {
    await database.db
      .insert(processedEvents)
      .values(Array.from({ length: 50 }, (_, n) => ({ id: `old-${n}`, streamEntryId: '1-0', processedAt: daysAgo(30) })));
    const worker = postgres(testDatabase.url, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // The worker's transaction: it holds one old row (as a batch re-applying that event would) until the purge is done.
    const transaction = worker.begin(async (tx) => {
      await tx`select id from processed_events where id = 'old-0' for update`;
      locked();
      await held;
    });
    await isLocked;
    let arriving = true;
    let arrived = 0;
    const traffic = (async () => {
      while (arriving) await database.db.insert(processedEvents).values({ id: `new-${++arrived}`, streamEntryId: '2-0' });
    })();
    try {
      const deleted = await purge({ batchSize: 7 }).runOnce();
      expect(deleted.dedupe).toBe(49);
    } finally {
      arriving = false;
      await traffic;
      release();
      await transaction;
      await worker.end();
    }
    const left = await ids();
    expect(left.filter((id) => id.startsWith('old-'))).toEqual(['old-0']);
    expect(left.filter((id) => id.startsWith('new-'))).toHaveLength(arrived);
  });

  test('when Redis cannot forget a user’s ids, their conversation stays for the next pass, the failure is logged, and the other stores are purged', async () => {
    await database.db
      .insert(conversations)
      .values({ conversationKey: '573001119999', userPhone: '573001119999', state: 'menu', snapshot: {}, updatedAt: daysAgo(400) });
    await database.db.insert(processedEvents).values({ id: 'old', streamEntryId: '1-0', processedAt: daysAgo(30) });
    const brokenRedis = redisFixture('retention-broken');
    await brokenRedis.drop();

    const deleted = await purge({ redis: brokenRedis.redis }).runOnce();

    expect(deleted).toMatchObject({ conversations: 0, dedupe: 1 });
    expect(await database.db.select({ key: conversations.conversationKey }).from(conversations)).toEqual([{ key: '573001119999' }]);
    const failures = logLines.map((line) => JSON.parse(line)).filter((line) => line.event === 'retention.purge_failed');
    expect(failures.map((line) => line.store)).toEqual(['conversations', 'dead_letters']);
    expect(failures[0].msg).toContain('tried again at the next pass');
  });
});
