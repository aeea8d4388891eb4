import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { eq, sql, type SQL } from 'drizzle-orm';
import { openDatabase, type Database } from '../../../src/db/client';
import { messages, outbox, type NewMessage, type NewOutboxRow, type OutboxRow } from '../../../src/db/schema';
import { claimQuery, createOutboxRepository, RECORD_DONE } from '../../../src/outbox/repository';
import { createTestDatabase } from '../../support/harness';

/** The outbox's SQL against a real Postgres of this file's own. */
let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
const PHONE = '573001112233';
const LEASE_MS = 60_000;

beforeAll(async () => {
  testDatabase = await createTestDatabase('outbox_repository');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '' });
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});
beforeEach(async () => {
  // DELETE, not TRUNCATE: a TRUNCATE makes and syncs new files for every table, a tenth of a second per test.
  await database.db.execute(sql`delete from outbox; delete from messages; delete from tickets`);
});

const repository = (concurrency = 10) => createOutboxRepository(database, { leaseMs: LEASE_MS, concurrency });
let keys = 0;
async function insertRow(values: Partial<NewOutboxRow> = {}): Promise<OutboxRow> {
  const [row] = await database.db
    .insert(outbox)
    .values({ kind: 'crm.user_message', lane: `crm:${PHONE}`, payload: { message: 'hola' }, idempotencyKey: `key-${++keys}`, ...values })
    .returning();
  return row!;
}
const sendRow = (key: string) =>
  insertRow({
    kind: 'whatsapp.send',
    lane: `wa:${PHONE}`,
    idempotencyKey: key,
    payload: { messaging_product: 'whatsapp', to: PHONE, type: 'text', text: { body: 'hola' } },
  });
async function insertMessage(outboxKey: string, values: Partial<NewMessage> = {}) {
  await database.db.insert(messages).values({
    conversationKey: PHONE,
    direction: 'outbound',
    author: 'agent',
    type: 'text',
    body: 'hola',
    status: 'queued',
    outboxKey,
    createdAt: new Date(),
    ...values,
  });
}
const rowOf = async (id: number) => (await database.db.select().from(outbox).where(eq(outbox.id, id)))[0]!;
const messageOf = async (outboxKey: string) => (await database.db.select().from(messages).where(eq(messages.outboxKey, outboxKey)))[0]!;
const ids = (rows: OutboxRow[]) => rows.map((row) => row.id);
const past = () => new Date(Date.now() - 1000);
const future = () => new Date(Date.now() + LEASE_MS);

describe('claiming rows', () => {
  test('the first open row of each lane is claimed, in id order; the lane’s later rows wait', async () => {
    const first = await insertRow({ lane: 'crm:573000000001' });
    await insertRow({ lane: 'crm:573000000001' });
    const other = await insertRow({ lane: 'crm:573000000002' });
    const claimed = await repository().claim();
    expect(ids(claimed)).toEqual([first.id, other.id]);
    expect(claimed.map((row) => [row.status, row.attempts])).toEqual([
      ['in_flight', 1],
      ['in_flight', 1],
    ]);
    expect(claimed[0]!.lockedUntil!.getTime()).toBeGreaterThan(Date.now());
  });

  test('a lane has one row in flight: its next row is claimed only once the first is recorded', async () => {
    const first = await insertRow();
    const second = await insertRow();
    const repo = repository();
    expect(ids(await repo.claim())).toEqual([first.id]);
    expect(await repo.claim()).toEqual([]);
    await repo.done(first, { response: null });
    expect(ids(await repo.claim())).toEqual([second.id]);
  });

  test('a row in flight holds its lane, whichever lane it is: the rows behind it wait, and one whose lease ran out is claimed again itself', async () => {
    // Lanes in index order: a free one first, so the in-flight heads are found by the skip scan's later probes too.
    const free = await insertRow({ lane: 'crm:573000000001' });
    await insertRow({ lane: 'crm:573000000002', status: 'in_flight', attempts: 1, lockedUntil: future() });
    await insertRow({ lane: 'crm:573000000002' });
    const lapsed = await insertRow({ lane: 'crm:573000000003', status: 'in_flight', attempts: 1, lockedUntil: past() });
    await insertRow({ lane: 'crm:573000000003' });
    await insertRow({ lane: 'crm:573000000004', status: 'in_flight', attempts: 1, lockedUntil: future() });
    await insertRow({ lane: 'crm:573000000004' });

    const repo = repository();
    expect(ids(await repo.claim())).toEqual([free.id, lapsed.id]);
    // Each lane's head is now in flight: nothing behind any of them moves until it is recorded.
    expect(await repo.claim()).toEqual([]);
  });

  test('a row waiting for its next attempt is not claimed, and holds its lane', async () => {
    await insertRow({ nextAttemptAt: future() });
    await insertRow();
    expect(await repository().claim()).toEqual([]);
  });

  test('no more rows than the concurrency are claimed at once', async () => {
    for (let n = 0; n < 3; n++) await insertRow({ lane: `crm:57300000000${n}` });
    expect(await repository(2).claim()).toHaveLength(2);
  });

  test('two dispatchers claiming at once never take the same row', async () => {
    const rows = await Promise.all(Array.from({ length: 6 }, (_, n) => insertRow({ lane: `crm:57300000001${n}` })));
    const [one, two] = await Promise.all([repository(4).claim(), repository(4).claim()]);
    const claimed = [...ids(one!), ...ids(two!)];
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.length).toBe(rows.length);
  });

  test('a row whose lease is still running is not claimed again', async () => {
    await insertRow({ status: 'in_flight', attempts: 1, lockedUntil: future() });
    expect(await repository().claim()).toEqual([]);
  });

  test('a row whose lease ran out (its dispatcher died) is claimed again with one more attempt', async () => {
    const held = await insertRow({ status: 'in_flight', attempts: 1, lockedUntil: past() });
    const [claimed] = await repository().claim();
    expect(claimed).toMatchObject({ id: held.id, status: 'in_flight', attempts: 2, inDoubtSince: null });
  });

  test('a send whose lease ran out is marked in doubt: WhatsApp may have it', async () => {
    const held = await insertRow({ kind: 'whatsapp.send', lane: `wa:${PHONE}`, status: 'in_flight', attempts: 1, lockedUntil: past() });
    const [claimed] = await repository().claim();
    expect(claimed!.id).toBe(held.id);
    expect(claimed!.inDoubtSince).toBeInstanceOf(Date);
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
}
const planNodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(planNodes)];
/** Every node of the plan Postgres would run for `query` (not run: EXPLAIN without ANALYZE). */
async function explainNodes(query: SQL): Promise<PlanNode[]> {
  const [explained] = await database.rows<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(database.db, sql`explain (format json) `.append(query));
  return planNodes(explained!['QUERY PLAN'][0]!.Plan);
}

describe('plans that hold whatever the statistics say', () => {
  test('each lane head is one probe of outbox_open_lane_idx, never a scan and sort of the open rows', async () => {
    // What the last analyze saw: a drained outbox, every row done (a quiet desk).
    await database.db.execute(sql`insert into outbox (kind, lane, payload, idempotency_key, status, completed_at)
      select 'crm.user_message', 'crm:' || (n % 50), '{}', 'done-' || n, 'done', now() from generate_series(1, 2000) as n`);
    await database.db.execute(sql`analyze outbox`);
    // Then a backlog (WhatsApp's rate limit binding, a CRM outage): thousands of open rows over many lanes.
    await database.db.execute(sql`insert into outbox (kind, lane, payload, idempotency_key)
      select 'whatsapp.send', 'wa:' || (n % 100), '{}', 'open-' || n from generate_series(1, 3000) as n`);

    // Its SQL appended, not the query interpolated: a query interpolated into sql`` is parenthesised, and EXPLAIN takes none.
    const plan = await explainNodes(claimQuery(database.db, { claimant: 'plan', lease: '1 minute', limit: 10 }).getSQL());
    const heads = plan.find((node) => node['Subplan Name'] === 'CTE heads');
    const inHeads = planNodes(heads!);
    // A sort under the heads means each step read every open row of the later lanes: a claim's cost grew with the backlog.
    expect(inHeads.filter((node) => node['Node Type'] === 'Sort')).toEqual([]);
    const reads = inHeads.filter((node) => node['Relation Name'] === 'outbox');
    expect(reads).toHaveLength(2);
    expect(reads.map((node) => node['Index Name'])).toEqual(['outbox_open_lane_idx', 'outbox_open_lane_idx']);
  });

  test('recording deliveries finds their rows by index on tables the statistics saw small', async () => {
    // A young desk: a couple of thousand rows when analyzed (Postgres then guesses 100 rows for the deliveries' jsonb).
    await database.db.execute(sql`insert into outbox (kind, lane, payload, idempotency_key, status, completed_at)
      select 'whatsapp.send', 'wa:' || (n % 50), '{}', 'sent-' || n, 'done', now() from generate_series(1, 2000) as n`);
    await database.db.execute(sql`insert into messages (conversation_key, direction, author, type, status, outbox_key, created_at)
      select 'wa:' || (n % 50), 'outbound', 'agent', 'text', 'sent', 'sent-' || n, now() from generate_series(1, 2000) as n`);
    await database.db.execute(sql`analyze outbox; analyze messages`);
    const delivered = JSON.stringify([{ id: 1, key: 'sent-1', response: {}, wa: 'wamid.1', payload: null }]);

    const plan = await explainNodes(sql.raw(RECORD_DONE.text.replace('$1', `'${delivered}'`)));
    const scans = plan.filter((node) => node['Node Type'] === 'Seq Scan');
    expect(scans.map((node) => node['Relation Name'])).toEqual([]);
  });
});

describe('renewing leases', () => {
  test('a dispatcher extends the lease of the rows it holds, and only of those', async () => {
    await insertRow();
    const mine = createOutboxRepository(database, { leaseMs: LEASE_MS, concurrency: 10, claimant: 'instance-a' });
    const [claimed] = await mine.claim();
    const theirs = await insertRow({ lane: 'crm:573009998877', status: 'in_flight', attempts: 1, lockedUntil: future(), claimedBy: 'instance-b' });
    await database.db
      .update(outbox)
      .set({ lockedUntil: new Date(Date.now() + 1000) })
      .where(eq(outbox.id, claimed!.id));

    expect(await mine.renew([claimed!.id, theirs.id])).toEqual([claimed!.id]);
    expect((await rowOf(claimed!.id)).lockedUntil!.getTime()).toBeGreaterThan(Date.now() + LEASE_MS / 2);
  });

  test('a row another dispatcher claimed after this one stalled is not renewed: it is no longer held', async () => {
    await insertRow();
    const stalled = createOutboxRepository(database, { leaseMs: LEASE_MS, concurrency: 10, claimant: 'stalled' });
    const [claimed] = await stalled.claim();
    await database.db.update(outbox).set({ lockedUntil: past() }).where(eq(outbox.id, claimed!.id));
    await createOutboxRepository(database, { leaseMs: LEASE_MS, concurrency: 10, claimant: 'successor' }).claim();

    expect(await stalled.renew([claimed!.id])).toEqual([]);
    expect((await rowOf(claimed!.id)).claimedBy).toBe('successor');
  });
});

describe('recording outcomes', () => {
  test('a deferred row gives its attempt back and waits, unlocked', async () => {
    await insertRow();
    const repo = repository();
    const [row] = await repo.claim();
    await repo.defer(row!, LEASE_MS);
    expect(await rowOf(row!.id)).toMatchObject({ status: 'pending', attempts: 0, lockedUntil: null });
    expect((await rowOf(row!.id)).nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
  });

  test('a retried row keeps its attempt and its error, and waits for the backoff', async () => {
    await insertRow();
    const repo = repository();
    const [row] = await repo.claim();
    await repo.retry(row!, 'answered 503', LEASE_MS);
    expect(await rowOf(row!.id)).toMatchObject({ status: 'pending', attempts: 1, lockedUntil: null, lastError: 'answered 503' });
    expect((await rowOf(row!.id)).nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
  });

  test('a send in doubt waits for its status webhook, marked since when', async () => {
    await sendRow('send-in-doubt');
    const repo = repository();
    const [row] = await repo.claim();
    await repo.markInDoubt(row!, 'timed out after 800 ms', LEASE_MS);
    const recorded = await rowOf(row!.id);
    expect(recorded).toMatchObject({ status: 'pending', lockedUntil: null, lastError: 'timed out after 800 ms' });
    expect(recorded.inDoubtSince).toBeInstanceOf(Date);
    expect(recorded.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
  });

  test('a delivered send is done and its message learns the wamid and becomes sent', async () => {
    await sendRow('send-done');
    await insertMessage('send-done');
    const repo = repository();
    const [row] = await repo.claim();
    await repo.done(row!, { response: { messages: [{ id: 'wamid.1' }] }, waMessageId: 'wamid.1' });
    expect(await rowOf(row!.id)).toMatchObject({ status: 'done', lockedUntil: null, lastError: null, response: { messages: [{ id: 'wamid.1' }] } });
    expect((await rowOf(row!.id)).completedAt).toBeInstanceOf(Date);
    expect(await messageOf('send-done')).toMatchObject({ status: 'sent', waMessageId: 'wamid.1' });
  });

  test('a status webhook that came before the send’s answer keeps the last word on the message', async () => {
    await sendRow('send-overtaken');
    await insertMessage('send-overtaken', { status: 'delivered', waMessageId: 'wamid.2' });
    const repo = repository();
    const [row] = await repo.claim();
    await repo.done(row!, { response: null, waMessageId: 'wamid.2' });
    expect((await messageOf('send-overtaken')).status).toBe('delivered');
  });

  test('a CRM call failed for good is failed with its error', async () => {
    await insertRow();
    const repo = repository();
    const [row] = await repo.claim();
    await repo.fail(row!, { error: 'answered 400' });
    expect(await rowOf(row!.id)).toMatchObject({ status: 'failed', lockedUntil: null, lastError: 'answered 400' });
  });

  test('a send that fails for good is failed with its message, and the repository writes nothing else (the ticket decides)', async () => {
    await sendRow('agent-send');
    await insertMessage('agent-send', { ticketId: 'TK-2026-000001' });
    const repo = repository();
    const [row] = await repo.claim();
    await repo.fail(row!, { error: 'answered 400 (code 131026)' });
    expect(await messageOf('agent-send')).toMatchObject({ status: 'failed', error: { message: 'answered 400 (code 131026)' } });
    expect(await database.db.select().from(outbox).where(eq(outbox.kind, 'crm.ticket_update'))).toEqual([]);
  });

  test('a send that fails after a status webhook said it was sent leaves the message as the webhook said, unreported', async () => {
    await sendRow('sent-then-failed');
    await insertMessage('sent-then-failed', { status: 'sent', waMessageId: 'wamid.3' });
    const repo = repository();
    const [row] = await repo.claim();
    await repo.fail(row!, { error: 'no attempt left' });
    expect((await messageOf('sent-then-failed')).status).toBe('sent');
    expect(await database.db.select().from(outbox).where(eq(outbox.kind, 'crm.ticket_update'))).toEqual([]);
  });
});

describe('a send’s delivery status', () => {
  test('is what the status webhooks last said of the send’s message, found by the send’s key', async () => {
    const row = await sendRow('with-message');
    await insertMessage('with-message', { status: 'read' });
    expect(await repository().deliveryStatusOf(row)).toBe('read');
  });

  test('is unknown for a row without a message', async () => {
    expect(await repository().deliveryStatusOf(await sendRow('no-message'))).toBeUndefined();
  });
});
