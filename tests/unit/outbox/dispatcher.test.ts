import { describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { createOutboxRepository } from '../../../src/outbox/repository';
import { json } from '../../support/fakes';
import { eventually } from '../../support/harness';
import {
  agentRequest,
  bodyOf,
  crmClient,
  crmMessages,
  dispatcher,
  events,
  fixture,
  lookup,
  makeDue,
  OTHER_PHONE,
  PHONE,
  rowOf,
  send,
  settle,
  useDispatcherFixture,
  userMessage,
} from './dispatcher-fixture';

/**
 * The dispatcher's loop end to end (see dispatcher-fixture.ts): lane order,
 * retries, open circuits, leases and the feedback events for the actors.
 */
useDispatcherFixture('outbox-dispatcher');

describe('order and retries', () => {
  test('a lane goes out in id order, one row at a time, while a failing row holds only its own lane', async () => {
    let refusals = 0;
    fixture.crm.respond((request) => (bodyOf(request).message === 'uno' && refusals++ === 0 ? json({ error: 'maintenance' }, 503) : undefined));
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
    fixture.crm.respond(() => (refusals++ < 2 ? json({ error: 'maintenance' }, 503) : undefined));
    const row = await userMessage('reintento');
    await settle(dispatcher());
    expect(await rowOf(row)).toMatchObject({ status: 'done', attempts: 3, lastError: null });
    const keys = fixture.crm.to('/api/bot/user-message').map((request) => request.headers.get('idempotency-key'));
    expect(keys).toEqual([row.idempotencyKey, row.idempotencyKey, row.idempotencyKey]);
  });

  test('retries stop at the last attempt: the row fails with the last error', async () => {
    fixture.crm.respond(() => json({ error: 'maintenance' }, 503));
    const row = await userMessage('nunca');
    await settle(dispatcher({ maxAttempts: 3 }));
    expect(await rowOf(row)).toMatchObject({ status: 'failed', attempts: 3 });
    expect((await rowOf(row)).lastError).toContain('answered 503');
    expect(crmMessages()).toHaveLength(3);
  });

  test('a 4xx from the CRM fails the row at once: the request itself is wrong', async () => {
    fixture.crm.respond(() => json({ error: 'invalid ticket' }, 400));
    const row = await userMessage('mal formado');
    await settle(dispatcher());
    expect(await rowOf(row)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(crmMessages()).toEqual(['mal formado']);
  });
});

describe('circuits', () => {
  test('while the CRM’s circuit is open its rows wait without a call or an attempt, and WhatsApp goes on', async () => {
    fixture.crm.respond(() => json({ error: 'down' }, 503));
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

describe('leases', () => {
  test('a row held by a dispatcher that died is left alone during its lease and delivered once it runs out', async () => {
    const row = await userMessage('huérfano');
    await createOutboxRepository(fixture.database, { leaseMs: 60_000, concurrency: 10 }).claim();
    const outbox = dispatcher();
    expect(await outbox.drainOnce()).toBe(0);

    await fixture.database.db.execute(sql`update outbox set locked_until = now() - interval '1 second' where id = ${row.id}`);
    await settle(outbox);
    expect(await rowOf(row)).toMatchObject({ status: 'done', attempts: 2 });
    expect(crmMessages()).toEqual(['huérfano']);
  });

  test('a send held by a dispatcher that died is treated as in doubt: not resent before the reconcile window', async () => {
    const row = await send('tal vez enviado');
    await createOutboxRepository(fixture.database, { leaseMs: 60_000, concurrency: 10 }).claim();
    await fixture.database.db.execute(sql`update outbox set locked_until = now() - interval '1 second' where id = ${row.id}`);
    const outbox = dispatcher();
    await outbox.drainOnce();
    await makeDue();
    await outbox.drainOnce();
    expect(fixture.graph.requests).toHaveLength(0);
    expect(await rowOf(row)).toMatchObject({ status: 'pending', attempts: 1 });
    expect((await rowOf(row)).inDoubtSince).toBeInstanceOf(Date);
  });
});

describe('renewed leases', () => {
  test('a dispatcher that stalls past its lease before the call sends nothing and records nothing: the row is left to whoever holds it now', async () => {
    const row = await userMessage('tarde');
    // The process freezes between the claim and the call: its clock has moved a minute on by the time it looks.
    let clock = 0;
    const stalled = dispatcher({ monotonicNow: () => (clock += 60_000) });
    expect(await stalled.drainOnce()).toBe(1);
    expect(crmMessages()).toEqual([]);
    expect(await rowOf(row)).toMatchObject({ status: 'in_flight', attempts: 1 });
  });

  test('a call longer than the lease keeps its row: the lease is renewed while it runs, and no other dispatcher takes it', async () => {
    const answered = Promise.withResolvers<void>();
    fixture.crm.respond(async () => {
      await answered.promise;
      return json({ success: true });
    });
    const row = await userMessage('lenta');
    // Leases far shorter than the call, which lasts until the test answers it (its client would wait 10 s).
    const slow = dispatcher({ leaseMs: 300, crm: crmClient(10_000) });
    slow.start();
    await eventually(() => fixture.crm.to('/api/bot/user-message').length === 1, 'the call under way');
    const claimedUntil = (await rowOf(row)).lockedUntil!.getTime();
    await eventually(async () => (await rowOf(row)).lockedUntil!.getTime() > claimedUntil + 600, 'the lease renewed past twice its length', 5000);
    expect(await dispatcher({ leaseMs: 300 }).drainOnce()).toBe(0);
    answered.resolve();
    await eventually(async () => (await rowOf(row)).status === 'done', 'the row recorded');
    await slow.close();
    expect(fixture.crm.to('/api/bot/user-message')).toHaveLength(1);
    expect(await rowOf(row)).toMatchObject({ attempts: 1 });
  });
});

describe('feedback events', () => {
  test('an accepted agent request tells the ticket who the CRM picked and the queue position', async () => {
    fixture.crm.respond(() =>
      json({ success: true, agentAssigned: { id: 7, name: 'María González', estimatedResponseTime: '5-10 minutes' }, queuePosition: 3 }),
    );
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
    fixture.crm.respond(() => json({ error: 'down' }, 503));
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
    expect(fixture.directory.requests[0]!.query.get('phone')).toBe(PHONE);
  });

  test('a lookup of an unknown document tells the conversation it was not found', async () => {
    await lookup('9999999999');
    await settle(dispatcher());
    expect((await events()).map((event) => event.data)).toEqual([{ document: '9999999999', outcome: 'not_found' }]);
  });

  test('a lookup that fails for good tells the conversation so', async () => {
    fixture.directory.respond(() => json({ error: 'down' }, 503));
    const row = await lookup('1010101010');
    await settle(dispatcher({ maxAttempts: 2 }));
    expect(await events()).toEqual([
      expect.objectContaining({
        type: 'customer.lookup.result',
        id: `outbox:${row.id}:result`,
        data: expect.objectContaining({ document: '1010101010', outcome: 'failed' }),
      }),
    ]);
    expect(fixture.directory.requests).toHaveLength(2);
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
