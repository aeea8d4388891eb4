import { describe, expect, test } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import { messages } from '../../../src/db/schema';
import { json } from '../../support/fakes';
import {
  bodyOf,
  dispatcher,
  events,
  fixture,
  HTTP_TIMEOUT_MS,
  makeDue,
  messageOf,
  rowOf,
  send,
  sendsOf,
  settle,
  useDispatcherFixture,
} from './dispatcher-fixture';

/**
 * The dispatcher's WhatsApp sends end to end (see dispatcher-fixture.ts):
 * Graph's refusals fed back to the ticket, and sends in doubt.
 */
useDispatcherFixture('outbox-dispatcher-sends');

describe('WhatsApp sends', () => {
  test('a Graph 500 whose code is outside the retry list is retried, and the message is delivered exactly once', async () => {
    let first = true;
    fixture.graph.respond(() => {
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

  test("an agent's send refused for its own fault is failed with its message, and its ticket is told, not the CRM directly", async () => {
    fixture.graph.respond(() => json({ error: { message: 'Message undeliverable', code: 131026 } }, 400));
    const row = await send('no entregable');
    await settle(dispatcher());
    expect(await rowOf(row)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(await messageOf(row)).toMatchObject({ status: 'failed' });
    expect(fixture.crm.to('/api/bot/ticket-update')).toEqual([]);
    const failures = (await events()).filter((event) => event.type === 'whatsapp.agent_message.failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      key: row.payload && (row.payload as { to: string }).to,
      id: `outbox:${row.id}:failed`,
      data: {
        ticketId: 'TK-2026-000001',
        outboxKey: row.idempotencyKey,
        reason: 'refused',
        sentAs: 'free_form',
        message: { type: 'text', body: 'no entregable', waMessageId: null },
        error: { code: 131026, title: 'Message undeliverable' },
      },
    });
  });

  test('131047 is sent once, never re-cut here: the row fails and its ticket hears it was outside the window', async () => {
    fixture.graph.respond(() => json({ error: { message: 'Re-engagement message', code: 131047 } }, 400));
    const row = await send('fuera de ventana');
    await settle(dispatcher());
    expect(fixture.graph.requests.map((request) => [bodyOf(request).type, request.status])).toEqual([['text', 400]]);
    expect(await rowOf(row)).toMatchObject({ status: 'failed', attempts: 1 });
    const [failure] = (await events()).filter((event) => event.type === 'whatsapp.agent_message.failed');
    expect(failure?.data).toMatchObject({ reason: 'outside_window', sentAs: 'free_form', error: { code: 131047 } });
  });

  test('a bot message refused for good fails with no one to tell: the CRM did not write it', async () => {
    fixture.graph.respond(() => json({ error: { message: 'Re-engagement message', code: 131047 } }, 400));
    const row = await send('menú', { author: 'bot' });
    await settle(dispatcher());
    expect(fixture.graph.requests).toHaveLength(1);
    expect(await messageOf(row)).toMatchObject({ status: 'failed' });
    expect((await events()).filter((event) => event.type === 'whatsapp.agent_message.failed')).toEqual([]);
  });
});

describe('sends in doubt', () => {
  /** Graph takes the first send but its answer never comes back within the client's timeout. */
  const loseFirstAnswer = () => {
    let first = true;
    fixture.graph.respond(() => {
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
    await fixture.database.db.update(messages).set({ status: 'delivered', waMessageId: 'wamid.late' }).where(eq(messages.outboxKey, row.idempotencyKey));
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

    await fixture.database.db.execute(sql`update outbox set in_doubt_since = now() - interval '2 minutes' where id = ${row.id}`);
    await settle(outbox);
    expect(sendsOf('sin noticias')).toHaveLength(2);
    expect(await rowOf(row)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await messageOf(row)).toMatchObject({ status: 'sent' });
  });
});
