import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import Redis from 'ioredis';
import { Counter, Gauge, Registry } from 'prom-client';
import { openDatabase, type Database } from '../../../src/db/client';
import { messages, outbox, type NewMessage, type NewOutboxRow, type OutboxRow } from '../../../src/db/schema';
import type { PipelineEvent } from '../../../src/events';
import { createCrmClient } from '../../../src/integrations/crm';
import { createCustomerDirectory } from '../../../src/integrations/customers';
import { createWhatsAppClient } from '../../../src/integrations/whatsapp';
import { textMessage } from '../../../src/integrations/whatsapp-messages';
import { createLogger } from '../../../src/logger';
import { createDispatcher, type DispatcherDeps } from '../../../src/outbox/dispatcher';
import { createOutboxRepository } from '../../../src/outbox/repository';
import { decodeEvent, streamKeys } from '../../../src/streams/codec';
import { createProducer } from '../../../src/streams/producer';
import { json, startFakeCrm, startFakeDirectory, startFakeGraph, type FakeServer, type RecordedRequest } from '../../support/fakes';
import { createTestDatabase, DIRECTORY, eventually, REDIS_URL, SECRETS } from '../../support/harness';

/**
 * The dispatcher end to end: rows in a Postgres of this file's own, the CRM,
 * Graph and the directory faked on loopback, feedback events on real Redis.
 * Backoffs, leases and the reconcile window are passed by moving the rows'
 * timestamps, never by sleeping.
 */
const PHONE = '573001112233';
const OTHER_PHONE = '573004445566';
const HTTP_TIMEOUT_MS = 300;

let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
let redis: Redis;
let crm: FakeServer;
let graph: FakeServer;
let directory: FakeServer;
const keys = streamKeys(`hbtest:outbox-dispatcher:${process.pid}:`);

beforeAll(async () => {
  testDatabase = await createTestDatabase('outbox_dispatcher');
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
  await database.db.execute(sql`truncate outbox, messages restart identity`);
  await redis.del(keys.partition(0));
  for (const fake of [crm, graph, directory]) fake.requests.length = 0;
});
afterEach(() => {
  for (const fake of [crm, graph, directory]) fake.respond(null);
});

function dispatcher(overrides: Partial<DispatcherDeps> = {}) {
  const registry = new Registry();
  const metrics = {
    outboxDeliveries: new Counter({ name: 'deliveries', help: 'test', labelNames: ['kind', 'outcome'], registers: [registry] }),
    circuitOpen: new Gauge({ name: 'circuit_open', help: 'test', labelNames: ['destination'], registers: [registry] }),
  };
  const instance = createDispatcher({
    database,
    crm: createCrmClient({
      baseUrl: crm.url,
      agentRequestUrl: `${crm.url}/api/bot/agent-request`,
      botApiToken: SECRETS.botToken,
      signingSecret: SECRETS.botSigning,
      timeoutMs: HTTP_TIMEOUT_MS,
    }),
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
    reengageTemplate: null,
    reconcileAfterMs: 60_000,
    ...overrides,
  });
  return { ...instance, metrics };
}

let keyCounter = 0;
async function insertRow(values: Partial<NewOutboxRow> = {}): Promise<OutboxRow> {
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
const userMessage = (message: string, phone = PHONE) => insertRow({ lane: `crm:${phone}`, payload: { ticketId: 'TK-1', userPhone: phone, message } });
const agentRequest = () =>
  insertRow({ kind: 'crm.agent_request', ticketId: 'TK-2026-000001', payload: { ticketId: 'TK-2026-000001', userPhone: PHONE, priority: 'media' } });
const lookup = (document: string) => insertRow({ kind: 'customer.lookup', lane: `lookup:${PHONE}`, payload: { phone: PHONE, document } });
/** A send with its history row, as the runtime writes them. */
async function send(body: string, message: Partial<NewMessage> = {}): Promise<OutboxRow> {
  const row = await insertRow({ kind: 'whatsapp.send', lane: `wa:${PHONE}`, ticketId: 'TK-2026-000001', payload: textMessage(PHONE, body) });
  await database.db.insert(messages).values({
    phone: PHONE,
    ticketId: 'TK-2026-000001',
    direction: 'outbound',
    author: 'agent',
    type: 'text',
    body,
    status: 'queued',
    outboxKey: row.idempotencyKey,
    createdAt: new Date(),
    ...message,
  });
  return row;
}

const rowOf = async (row: OutboxRow) => (await database.db.select().from(outbox).where(eq(outbox.id, row.id)))[0]!;
const messageOf = async (row: OutboxRow) => (await database.db.select().from(messages).where(eq(messages.outboxKey, row.idempotencyKey)))[0]!;
const bodyOf = (request: RecordedRequest) => request.body as Record<string, any>;
const crmMessages = () => crm.to('/api/bot/user-message').map((request) => bodyOf(request).message);
const sendsOf = (body: string) => graph.requests.filter((request) => bodyOf(request)?.text?.body === body);
const events = async (): Promise<PipelineEvent[]> => (await redis.xrange(keys.partition(0), '-', '+')).map(([, fields]) => decodeEvent(fields));
const makeDue = () => database.db.execute(sql`update outbox set next_attempt_at = now() where status = 'pending'`);

/** Drains until nothing is left to claim, passing every backoff at once. */
async function settle(target: { drainOnce(): Promise<number> }): Promise<void> {
  for (let round = 0; round < 20; round++) {
    await makeDue();
    if ((await target.drainOnce()) === 0) return;
  }
  throw new Error('the outbox did not settle in 20 rounds');
}

describe('order and retries', () => {
  test('a lane goes out in id order, one row at a time, while a failing row holds only its own lane', async () => {
    let refusals = 0;
    crm.respond((request) => (bodyOf(request).message === 'uno' && refusals++ === 0 ? json({ error: 'maintenance' }, 503) : undefined));
    const uno = await userMessage('uno');
    const dos = await userMessage('dos');
    await userMessage('otra persona', OTHER_PHONE);
    const outbox = dispatcher();

    expect(await outbox.drainOnce()).toBe(2);
    expect(crmMessages().sort()).toEqual(['otra persona', 'uno']);

    await settle(outbox);
    expect(crmMessages()).toEqual(['uno', 'otra persona', 'uno', 'dos']);
    expect(await rowOf(uno)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await rowOf(dos)).toMatchObject({ status: 'done', attempts: 1 });
  });

  test('a transient failure is retried with the same Idempotency-Key until delivered, each try an attempt', async () => {
    let refusals = 0;
    crm.respond(() => (refusals++ < 2 ? json({ error: 'maintenance' }, 503) : undefined));
    const row = await userMessage('reintento');
    await settle(dispatcher());
    expect(await rowOf(row)).toMatchObject({ status: 'done', attempts: 3, lastError: null });
    const keys = crm.to('/api/bot/user-message').map((request) => request.headers.get('idempotency-key'));
    expect(keys).toEqual([row.idempotencyKey, row.idempotencyKey, row.idempotencyKey]);
  });

  test('retries stop at the last attempt: the row fails with the last error', async () => {
    crm.respond(() => json({ error: 'maintenance' }, 503));
    const row = await userMessage('nunca');
    await settle(dispatcher({ maxAttempts: 3 }));
    expect(await rowOf(row)).toMatchObject({ status: 'failed', attempts: 3 });
    expect((await rowOf(row)).lastError).toContain('answered 503');
    expect(crmMessages()).toHaveLength(3);
  });

  test('a 4xx from the CRM fails the row at once: the request itself is wrong', async () => {
    crm.respond(() => json({ error: 'invalid ticket' }, 400));
    const row = await userMessage('mal formado');
    await settle(dispatcher());
    expect(await rowOf(row)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(crmMessages()).toEqual(['mal formado']);
  });
});

describe('circuits', () => {
  test('while the CRM’s circuit is open its rows wait without a call or an attempt, and WhatsApp goes on', async () => {
    crm.respond(() => json({ error: 'down' }, 503));
    const rows = [await userMessage('a', '573000000001'), await userMessage('b', '573000000002'), await userMessage('c', '573000000003')];
    const sendRow = await send('sigue');
    // One row at a time, so the breaker sees the failures in order.
    const outbox = dispatcher({ concurrency: 1, breaker: { threshold: 2, halfOpenAfterMs: 60_000 } });
    for (let n = 0; n < 4; n++) await outbox.drainOnce();

    expect(crmMessages()).toEqual(['a', 'b']);
    expect(await rowOf(rows[2]!)).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await rowOf(rows[2]!)).nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
    expect(await rowOf(sendRow)).toMatchObject({ status: 'done' });
    expect((await outbox.metrics.circuitOpen.get()).values.find((value) => value.labels.destination === 'crm')?.value).toBe(1);
  });
});

describe('WhatsApp sends', () => {
  test('a Graph 500 whose code is outside the retry list is retried, and the message is delivered exactly once', async () => {
    let first = true;
    graph.respond(() => {
      if (!first) return undefined;
      first = false;
      return json({ error: { message: 'Invalid parameter', type: 'OAuthException', code: 100 } }, 500);
    });
    const row = await send('error del servidor');
    await settle(dispatcher());
    expect(sendsOf('error del servidor').map((request) => request.status)).toEqual([500, 200]);
    expect(await rowOf(row)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await messageOf(row)).toMatchObject({ status: 'sent' });
  });

  test('an accepted send is done and its message is sent with the wamid Graph gave', async () => {
    const row = await send('hola');
    await settle(dispatcher());
    const [accepted] = sendsOf('hola');
    expect(bodyOf(accepted!).biz_opaque_callback_data).toBe(row.idempotencyKey);
    expect((await messageOf(row)).waMessageId).toStartWith('wamid.fake.');
    expect(await rowOf(row)).toMatchObject({ status: 'done' });
  });

  test('a send refused for its own fault is failed with its message and reported to the CRM', async () => {
    graph.respond(() => json({ error: { message: 'Message undeliverable', code: 131026 } }, 400));
    const row = await send('no entregable');
    await settle(dispatcher());
    expect(await rowOf(row)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(await messageOf(row)).toMatchObject({ status: 'failed' });
    const [report] = crm.to('/api/bot/ticket-update').map(bodyOf);
    expect(report).toMatchObject({ ticketId: 'TK-2026-000001', reason: 'message_failed', error: { code: 131026, title: 'Message undeliverable' } });
  });

  test('131047 with a template configured: an agent message goes out once more as the template, and the row keeps it', async () => {
    graph.respond((request) => (bodyOf(request).type === 'text' ? json({ error: { message: 'Re-engagement message', code: 131047 } }, 400) : undefined));
    const row = await send('fuera de ventana');
    await settle(dispatcher({ reengageTemplate: { name: 'seguimiento_agente', languageCode: 'es' } }));
    expect(graph.requests.map((request) => [bodyOf(request).type, request.status])).toEqual([
      ['text', 400],
      ['template', 200],
    ]);
    expect((await rowOf(row)).payload).toMatchObject({ type: 'template', template: { name: 'seguimiento_agente' } });
    expect(await rowOf(row)).toMatchObject({ status: 'done', attempts: 1 });
  });

  test('131047 for a bot message is not re-cut: the message fails', async () => {
    graph.respond(() => json({ error: { message: 'Re-engagement message', code: 131047 } }, 400));
    const row = await send('menú', { author: 'bot' });
    await settle(dispatcher({ reengageTemplate: { name: 'seguimiento_agente', languageCode: 'es' } }));
    expect(graph.requests).toHaveLength(1);
    expect(await messageOf(row)).toMatchObject({ status: 'failed' });
  });
});

describe('sends in doubt', () => {
  /** Graph takes the first send but its answer never comes back within the client's timeout. */
  const loseFirstAnswer = () => {
    let first = true;
    graph.respond(() => {
      if (!first) return undefined;
      first = false;
      return Bun.sleep(HTTP_TIMEOUT_MS * 4).then(() => json({ messages: [{ id: 'wamid.late' }] }));
    });
  };

  test('a send whose answer is lost waits in doubt; a status naming it settles the row without a resend', async () => {
    loseFirstAnswer();
    const row = await send('respuesta perdida');
    const outbox = dispatcher();
    await outbox.drainOnce();
    expect((await rowOf(row)).inDoubtSince).toBeInstanceOf(Date);

    // The status webhook's work: the message row learns what WhatsApp did with it.
    await database.db.update(messages).set({ status: 'delivered', waMessageId: 'wamid.late' }).where(eq(messages.outboxKey, row.idempotencyKey));
    await settle(outbox);
    expect(await rowOf(row)).toMatchObject({ status: 'done', response: { reconciledBy: 'delivered' }, inDoubtSince: null });
    expect(sendsOf('respuesta perdida')).toHaveLength(1);
  });

  test('a send in doubt with no status is not resent inside the reconcile window, and is resent once after it', async () => {
    loseFirstAnswer();
    const row = await send('sin noticias');
    const outbox = dispatcher();
    await outbox.drainOnce();
    await makeDue();
    await outbox.drainOnce();
    expect(sendsOf('sin noticias')).toHaveLength(1);
    expect(await rowOf(row)).toMatchObject({ status: 'pending', attempts: 1 });

    await database.db.execute(sql`update outbox set in_doubt_since = now() - interval '2 minutes' where id = ${row.id}`);
    await settle(outbox);
    expect(sendsOf('sin noticias')).toHaveLength(2);
    expect(await rowOf(row)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await messageOf(row)).toMatchObject({ status: 'sent' });
  });
});

describe('leases', () => {
  test('a row held by a dispatcher that died is left alone during its lease and delivered once it runs out', async () => {
    const row = await userMessage('huérfano');
    await createOutboxRepository(database, { leaseMs: 60_000, concurrency: 10 }).claim();
    const outbox = dispatcher();
    expect(await outbox.drainOnce()).toBe(0);

    await database.db.execute(sql`update outbox set locked_until = now() - interval '1 second' where id = ${row.id}`);
    await settle(outbox);
    expect(await rowOf(row)).toMatchObject({ status: 'done', attempts: 2 });
    expect(crmMessages()).toEqual(['huérfano']);
  });

  test('a send held by a dispatcher that died is treated as in doubt: not resent before the reconcile window', async () => {
    const row = await send('tal vez enviado');
    await createOutboxRepository(database, { leaseMs: 60_000, concurrency: 10 }).claim();
    await database.db.execute(sql`update outbox set locked_until = now() - interval '1 second' where id = ${row.id}`);
    const outbox = dispatcher();
    await outbox.drainOnce();
    await makeDue();
    await outbox.drainOnce();
    expect(graph.requests).toHaveLength(0);
    expect(await rowOf(row)).toMatchObject({ status: 'pending', attempts: 1 });
    expect((await rowOf(row)).inDoubtSince).toBeInstanceOf(Date);
  });
});

describe('feedback events', () => {
  test('an accepted agent request tells the ticket who the CRM picked and the queue position', async () => {
    crm.respond(() => json({ success: true, agentAssigned: { id: 7, name: 'María González', estimatedResponseTime: '5-10 minutes' }, queuePosition: 3 }));
    const row = await agentRequest();
    await settle(dispatcher());
    expect(await events()).toEqual([
      expect.objectContaining({
        type: 'crm.agent_request.result',
        key: PHONE,
        id: `outbox:${row.id}:result`,
        data: {
          ticketId: 'TK-2026-000001',
          outcome: 'accepted',
          agentAssigned: { id: '7', name: 'María González', estimatedResponseTime: '5-10 minutes' },
          queuePosition: 3,
        },
      }),
    ]);
  });

  test('an agent request that fails for good tells the ticket so, once', async () => {
    crm.respond(() => json({ error: 'down' }, 503));
    const row = await agentRequest();
    await settle(dispatcher({ maxAttempts: 2 }));
    const published = await events();
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      type: 'crm.agent_request.result',
      id: `outbox:${row.id}:result`,
      data: { ticketId: 'TK-2026-000001', outcome: 'failed' },
    });
    expect(await rowOf(row)).toMatchObject({ status: 'failed' });
  });

  test('a lookup tells the conversation the subscriber it found', async () => {
    const row = await lookup('1010101010');
    await settle(dispatcher());
    expect(await events()).toEqual([
      expect.objectContaining({
        type: 'customer.lookup.result',
        id: `outbox:${row.id}:result`,
        data: { document: '1010101010', outcome: 'found', customer: { customerId: 'C-100', customerName: 'Juan Pérez', isInactive: true } },
      }),
    ]);
    expect(directory.requests[0]!.query.get('phone')).toBe(PHONE);
  });

  test('a lookup of an unknown document tells the conversation it was not found', async () => {
    await lookup('9999999999');
    await settle(dispatcher());
    expect((await events()).map((event) => event.data)).toEqual([{ document: '9999999999', outcome: 'not_found' }]);
  });

  test('a lookup that fails for good tells the conversation so', async () => {
    directory.respond(() => json({ error: 'down' }, 503));
    const row = await lookup('1010101010');
    await settle(dispatcher({ maxAttempts: 2 }));
    expect(await events()).toEqual([
      expect.objectContaining({
        type: 'customer.lookup.result',
        id: `outbox:${row.id}:result`,
        data: expect.objectContaining({ document: '1010101010', outcome: 'failed' }),
      }),
    ]);
    expect(directory.requests).toHaveLength(2);
  });
});

test('once started, a poke delivers new rows without waiting for the poll, and close waits for the round in hand', async () => {
  const outbox = dispatcher({ pollMs: 60_000 });
  outbox.start();
  try {
    const row = await userMessage('ahora');
    outbox.poke();
    await eventually(async () => (await rowOf(row)).status === 'done', 'delivered row');
  } finally {
    await outbox.close();
  }
  expect(crmMessages()).toEqual(['ahora']);
});
