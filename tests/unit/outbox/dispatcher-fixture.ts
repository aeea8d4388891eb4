import { afterAll, afterEach, beforeAll, beforeEach } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import Redis from 'ioredis';
import { Counter, Gauge, Registry } from 'prom-client';
import { openDatabase, type Database } from '../../../src/db/client';
import { messages, outbox, type NewMessage, type NewOutboxRow, type OutboxRow } from '../../../src/db/schema';
import type { PipelineEvent } from '../../../src/domain/events';
import { createCrmClient } from '../../../src/integrations/crm';
import { createCustomerDirectory } from '../../../src/integrations/customers';
import { createWhatsAppClient } from '../../../src/integrations/whatsapp';
import { textMessage } from '../../../src/integrations/whatsapp-messages';
import { createLogger } from '../../../src/logger';
import { createDispatcher, type DispatcherDeps } from '../../../src/outbox/dispatcher';
import { decodeEvent, streamKeys } from '../../../src/streams/codec';
import { createProducer } from '../../../src/streams/producer';
import { startFakeCrm, startFakeDirectory, startFakeGraph, type FakeServer, type RecordedRequest } from '../../support/fakes';
import { createTestDatabase, DIRECTORY, REDIS_URL, SECRETS } from '../../support/harness';

/**
 * The dispatcher end to end, for one test file: rows in a Postgres of the
 * file's own, the CRM, Graph and the directory faked on loopback, feedback
 * events on real Redis under the file's own key prefix. Backoffs, leases and
 * the reconcile window are passed by moving the rows' timestamps, never by
 * sleeping.
 */
export const PHONE = '573001112233';
export const OTHER_PHONE = '573004445566';
export const HTTP_TIMEOUT_MS = 300;

let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
let redis: Redis;
let crm: FakeServer;
let graph: FakeServer;
let directory: FakeServer;

let keys = streamKeys('unset:');

/** Registers the file's hooks: its own database, Redis key prefix and fakes, emptied before each test. */
export function useDispatcherFixture(label: string): void {
  beforeAll(async () => {
    keys = streamKeys(`hbtest:${label}:${process.pid}:`);
    testDatabase = await createTestDatabase(label);
    database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '' });
    redis = new Redis(REDIS_URL);
    [crm, graph, directory] = [startFakeCrm(), startFakeGraph(), startFakeDirectory(DIRECTORY)];
  });
  afterAll(async () => {
    await redis.del(keys.partition(0));
    redis.disconnect();
    await Promise.all([crm.stop(), graph.stop(), directory.stop()]);
    await database.close();
    await testDatabase.drop();
  });
  beforeEach(async () => {
    // DELETE, not TRUNCATE: a TRUNCATE makes and syncs new files for every table, a tenth of a second per test.
    await database.db.execute(sql`delete from outbox; delete from messages`);
    await redis.del(keys.partition(0));
    for (const fake of [crm, graph, directory]) fake.requests.length = 0;
  });
  afterEach(() => {
    for (const fake of [crm, graph, directory]) fake.respond(null);
  });
}

/** The fakes (for the tests to script their answers and read what reached them) and the database. */
export const fixture = {
  get crm() {
    return crm;
  },
  get graph() {
    return graph;
  },
  get directory() {
    return directory;
  },
  get database() {
    return database;
  },
};

/** The CRM client the dispatchers use, giving up after `timeoutMs`. */
export const crmClient = (timeoutMs = HTTP_TIMEOUT_MS) =>
  createCrmClient({
    baseUrl: crm.url,
    agentRequestUrl: `${crm.url}/api/bot/agent-request`,
    botApiToken: SECRETS.botToken,
    signingSecret: SECRETS.botSigning,
    timeoutMs,
  });

export function dispatcher(overrides: Partial<DispatcherDeps> = {}) {
  const registry = new Registry();
  const metrics = {
    outboxDeliveries: new Counter({ name: 'deliveries', help: 'test', labelNames: ['kind', 'outcome'], registers: [registry] }),
    circuitOpen: new Gauge({ name: 'circuit_open', help: 'test', labelNames: ['destination'], registers: [registry] }),
  };
  const instance = createDispatcher({
    database,
    crm: crmClient(),
    whatsapp: createWhatsAppClient({ apiUrl: `${graph.url}/v21.0`, token: SECRETS.whatsappToken, phoneNumberId: '1234567890', timeoutMs: HTTP_TIMEOUT_MS }),
    customers: createCustomerDirectory({ url: `${directory.url}/customers`, token: 'directory-token', timeoutMs: HTTP_TIMEOUT_MS }, database.db),
    producer: createProducer(redis, keys, 1),
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    maxAttempts: 5,
    concurrency: 10,
    pollMs: 50,
    leaseMs: 60_000,
    metrics,
    breaker: { threshold: 5, halfOpenAfterMs: 60_000 },
    sendPermit: async () => {},
    reconcileAfterMs: 60_000,
    ...overrides,
  });
  return { ...instance, metrics };
}

let keyCounter = 0;
export async function insertRow(values: Partial<NewOutboxRow> = {}): Promise<OutboxRow> {
  const [row] = await database.db
    .insert(outbox)
    .values({
      kind: 'crm.user_message',
      lane: `crm:${PHONE}`,
      payload: { ticketId: 'TK-1', userPhone: PHONE, message: 'hola' },
      idempotencyKey: `key-${++keyCounter}`,
      ...values,
    })
    .returning();
  return row!;
}
export const userMessage = (message: string, phone = PHONE) => insertRow({ lane: `crm:${phone}`, payload: { ticketId: 'TK-1', userPhone: phone, message } });
export const agentRequest = () =>
  insertRow({ kind: 'crm.agent_request', ticketId: 'TK-2026-000001', payload: { ticketId: 'TK-2026-000001', userPhone: PHONE, priority: 'media' } });
export const lookup = (document: string) => insertRow({ kind: 'customer.lookup', lane: `lookup:${PHONE}`, payload: { phone: PHONE, document } });
/** A send with its history row, as the runtime writes them. */
export async function send(body: string, message: Partial<NewMessage> = {}): Promise<OutboxRow> {
  const author = message.author ?? 'agent';
  const row = await insertRow({ kind: 'whatsapp.send', lane: `wa:${PHONE}`, ticketId: 'TK-2026-000001', payload: textMessage({ to: PHONE }, body), author });
  await database.db.insert(messages).values({
    conversationKey: PHONE,
    ticketId: 'TK-2026-000001',
    direction: 'outbound',
    author,
    type: 'text',
    body,
    status: 'queued',
    outboxKey: row.idempotencyKey,
    createdAt: new Date(),
    ...message,
  });
  return row;
}

export const rowOf = async (row: OutboxRow) => (await database.db.select().from(outbox).where(eq(outbox.id, row.id)))[0]!;
export const messageOf = async (row: OutboxRow) => (await database.db.select().from(messages).where(eq(messages.outboxKey, row.idempotencyKey)))[0]!;
export const bodyOf = (request: RecordedRequest) => request.body as Record<string, any>;
export const crmMessages = () => crm.to('/api/bot/user-message').map((request) => bodyOf(request).message);
export const sendsOf = (body: string) => graph.requests.filter((request) => bodyOf(request)?.text?.body === body);
export const events = async (): Promise<PipelineEvent[]> => (await redis.xrange(keys.partition(0), '-', '+')).map(([, fields]) => decodeEvent(fields));
export const makeDue = () => database.db.execute(sql`update outbox set next_attempt_at = now() where status = 'pending'`);

/** Drains until nothing is left to claim, passing every backoff at once. */
export async function settle(target: { drainOnce(): Promise<number> }): Promise<void> {
  for (let round = 0; round < 20; round++) {
    await makeDue();
    if ((await target.drainOnce()) === 0) return;
  }
  throw new Error('the outbox did not settle in 20 rounds');
}
