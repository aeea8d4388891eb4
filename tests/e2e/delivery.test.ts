import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { json, type RecordedRequest } from '../support/fakes';
import { activeTicketFor, crmCall, eventually, outboxSettled, sendStatus, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * Delivery guarantees toward WhatsApp and the CRM, with the fakes misbehaving
 * the way the real ones do: Graph error codes, responses lost after a send
 * was accepted, outages long enough to open a circuit, bursts over the
 * sending rate. What is counted is what reached the fakes. Each test has its
 * own user and its own misbehaviour (an override that claims only its
 * requests); a test that breaks a destination for everyone has its own service.
 */
const ACTIVE_SUBSCRIBER = '2020202020';
const TIMEOUT_MS = 30_000;
/** Longer than the sends' HTTP timeout, so that a delayed answer is one the service gave up on. */
const LATE_ANSWER_MS = 1500;

let sends: TestStack;
let graphDown: TestStack;
let burst: TestStack;
let reengage: TestStack;

beforeAll(async () => {
  [sends, graphDown, burst, reengage] = await Promise.all([
    // A high breaker threshold: these tests' deliberate failures, at once, must not open the circuit for each other.
    startStack('delivery', { HTTP_TIMEOUT_MS: '800', WHATSAPP_RECONCILE_MS: '1000', CIRCUIT_BREAKER_THRESHOLD: '100' }),
    startStack('graphdown', { CIRCUIT_BREAKER_THRESHOLD: '3', CIRCUIT_BREAKER_HALF_OPEN_MS: '1000' }),
    startStack('burst', { WHATSAPP_SENDS_PER_SECOND: '5' }),
    startStack('reengage', { WHATSAPP_REENGAGE_TEMPLATE: 'seguimiento_agente' }),
  ]);
});
afterAll(() => Promise.all([sends, graphDown, burst, reengage].map((stack) => stack?.stop())));

const bodyOf = (request: RecordedRequest) => request.body as Record<string, any>;
const graphTexts = (stack: TestStack, body: string) => stack.graph.requests.filter((request) => bodyOf(request)?.text?.body === body);
const ticketUpdates = (stack: TestStack, reason: string) =>
  stack.crm
    .to('/api/bot/ticket-update')
    .map(bodyOf)
    .filter((update) => update.reason === reason);
const agentSays = (stack: TestStack, ticketId: string, phone: string, message: string) =>
  crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, agentId: 'agent_007', message, messageType: 'text' });
const graphError = (code: number, status = 400) => json({ error: { message: `graph error ${code}`, type: 'OAuthException', code } }, status);
const metric = async (stack: TestStack, line: string) =>
  (await (await fetch(`${stack.service.url}/metrics`)).text()).split('\n').find((row) => row.startsWith(line));

/** A user with a ticket an agent holds, on the shared `sends` service. */
async function agentConversation(phone: string) {
  return { stack: sends, phone, ticketId: await activeTicketFor(sends, phone, ACTIVE_SUBSCRIBER) };
}

describe.concurrent('WhatsApp sends', () => {
  test(
    '130429 (too fast) is retried with backoff and the message arrives once',
    async () => {
      const { stack, phone, ticketId } = await agentConversation('573000000601');
      let refusals = 0;
      stack.graph.respond((request) => (bodyOf(request)?.text?.body === 'reintento' && refusals++ < 2 ? graphError(130429) : undefined));
      expect((await agentSays(stack, ticketId, phone, 'reintento')).status).toBe(200);
      await eventually(
        async () => (await stack.sql`select status from messages where body = 'reintento'`)[0]?.status === 'sent',
        'sent after two refusals',
        15_000,
      );
      expect(graphTexts(stack, 'reintento')).toHaveLength(3);
    },
    TIMEOUT_MS,
  );

  test(
    'an agent message the CRM sends twice with the same Idempotency-Key reaches the user once',
    async () => {
      const { stack, phone, ticketId } = await agentConversation('573000000607');
      const send = () =>
        crmCall(
          stack,
          'POST',
          '/api/crm/send-message',
          { ticketId, userPhone: phone, agentId: 'agent_007', message: 'una sola vez', messageType: 'text' },
          {
            'Idempotency-Key': `once-${ticketId}`,
          },
        );
      expect((await send()).status).toBe(200);
      expect((await send()).status).toBe(200);
      // The user's next word comes after both copies in the user's partition: once it is relayed, both were applied.
      await sendUser(stack, phone, text('recibido'));
      await eventually(
        () => stack.crm.to('/api/bot/user-message').some((request) => bodyOf(request).userPhone === phone && bodyOf(request).message === 'recibido'),
        'the next relay',
      );
      const stored = await stack.sql`select status from messages where body = 'una sola vez'`;
      expect(stored).toHaveLength(1);
      await eventually(async () => (await stack.sql`select status from messages where body = 'una sola vez'`)[0]?.status === 'sent', 'the send');
      expect(graphTexts(stack, 'una sola vez')).toHaveLength(1);
    },
    TIMEOUT_MS,
  );

  test(
    '131047 (outside the window) without a template is not retried: the message is failed and the CRM is told',
    async () => {
      const { stack, phone, ticketId } = await agentConversation('573000000602');
      stack.graph.respond((request) => (bodyOf(request)?.text?.body === 'fuera de ventana' ? graphError(131047) : undefined));
      await agentSays(stack, ticketId, phone, 'fuera de ventana');
      const reports = () => ticketUpdates(stack, 'message_failed').filter((update) => update.ticketId === ticketId);
      const [report] = await eventually(() => reports().length > 0 && reports(), 'failure report');
      expect(report).toMatchObject({
        ticketId,
        userPhone: phone,
        status: 'active',
        message: { type: 'text', body: 'fuera de ventana' },
        error: { code: 131047, title: 'graph error 131047' },
      });
      expect(graphTexts(stack, 'fuera de ventana')).toHaveLength(1);
      const [message] = await stack.sql`select status from messages where body = 'fuera de ventana'`;
      expect(message!.status).toBe('failed');
    },
    TIMEOUT_MS,
  );

  test(
    'a failed status webhook for a delivered agent message is reported to the CRM once',
    async () => {
      const { stack, phone, ticketId } = await agentConversation('573000000603');
      await agentSays(stack, ticketId, phone, 'no llega');
      const [sent] = await eventually(async () => {
        const rows = await stack.sql`select wa_message_id, outbox_key from messages where body = 'no llega' and status = 'sent'`;
        return rows.length > 0 && rows;
      }, 'accepted send');
      const failed = { id: sent!.wa_message_id, recipient: phone, status: 'failed' as const, errors: [{ code: 131026, title: 'Message undeliverable' }] };
      await sendStatus(stack, failed);
      await sendStatus(stack, failed);
      await eventually(() => ticketUpdates(stack, 'message_failed').some((update) => update.message.body === 'no llega'), 'failure report');
      // The user's next word travels the same partition and the same CRM lane: once it reaches the CRM, so had any second report.
      await sendUser(stack, phone, text('sigo aquí'));
      await eventually(
        () => stack.crm.to('/api/bot/user-message').some((request) => bodyOf(request).userPhone === phone && bodyOf(request).message === 'sigo aquí'),
        'the next relay',
      );
      const reports = ticketUpdates(stack, 'message_failed').filter((update) => update.message.body === 'no llega');
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ error: { code: 131026, title: 'Message undeliverable' }, message: { waMessageId: sent!.wa_message_id } });
    },
    TIMEOUT_MS,
  );

  test(
    'a send whose response is lost is recognised by its status webhook and not sent again',
    async () => {
      const { stack, phone, ticketId } = await agentConversation('573000000604');
      stack.graph.respond((request) => {
        if (bodyOf(request)?.text?.body !== 'respuesta perdida') return undefined;
        // Graph took it (the status webhook echoes our key) but the answer never comes back in time.
        setTimeout(
          () => void sendStatus(stack, { id: 'wamid.lost.1', recipient: phone, status: 'sent', callbackData: bodyOf(request).biz_opaque_callback_data }),
          100,
        );
        return Bun.sleep(LATE_ANSWER_MS).then(() => json({ messaging_product: 'whatsapp', messages: [{ id: 'wamid.lost.1' }] }));
      });
      await agentSays(stack, ticketId, phone, 'respuesta perdida');
      await eventually(
        async () =>
          (await stack.sql`select o.status from outbox o join messages m on m.outbox_key = o.idempotency_key where m.body = 'respuesta perdida'`)[0]?.status ===
          'done',
        'settled send',
        15_000,
      );
      // Done is final: a blind resend after the reconcile window would have come before it.
      expect(graphTexts(stack, 'respuesta perdida')).toHaveLength(1);
      const [message] = await stack.sql`select status, wa_message_id from messages where body = 'respuesta perdida'`;
      expect(message).toMatchObject({ status: 'sent', wa_message_id: 'wamid.lost.1' });
    },
    TIMEOUT_MS,
  );

  test(
    'a send that timed out and never reached WhatsApp is sent again after the reconcile window, once',
    async () => {
      const { stack, phone, ticketId } = await agentConversation('573000000605');
      let first = true;
      stack.graph.respond((request) => {
        if (bodyOf(request)?.text?.body !== 'sin respuesta' || !first) return undefined;
        first = false;
        return Bun.sleep(LATE_ANSWER_MS).then(() => graphError(131016, 503));
      });
      await agentSays(stack, ticketId, phone, 'sin respuesta');
      await eventually(async () => (await stack.sql`select status from messages where body = 'sin respuesta'`)[0]?.status === 'sent', 'resent', 15_000);
      expect(graphTexts(stack, 'sin respuesta')).toHaveLength(2);
      expect(await metric(stack, 'handover_outbox_deliveries_total{kind="whatsapp.send",outcome="in_doubt"}')).toBeDefined();
    },
    TIMEOUT_MS,
  );
  test(
    'a send left in flight by a dispatcher that died is reconciled first: not repeated if WhatsApp has it, sent once if not',
    async () => {
      const { stack, phone, ticketId } = await agentConversation('573000000606');
      for (const [key, body, status] of [
        ['lease-had-it', 'lo tenía WhatsApp', 'sent'],
        ['lease-lost-it', 'no llegó a WhatsApp', 'queued'],
      ] as const) {
        await stack.sql`insert into messages (conversation_key, ticket_id, direction, author, type, body, status, outbox_key, created_at)
          values (${phone}, ${ticketId}, 'outbound', 'agent', 'text', ${body}, ${status}, ${key}, now())`;
        await stack.sql`insert into outbox (kind, lane, payload, idempotency_key, ticket_id, status, attempts, locked_until)
          values ('whatsapp.send', ${`wa:${phone}:${key}`}, ${stack.sql.json({ messaging_product: 'whatsapp', to: phone, type: 'text', text: { body } })},
                  ${key}, ${ticketId}, 'in_flight', 1, now() - interval '1 second')`;
      }
      const outcome = (key: string) => stack.sql`select status, response from outbox where idempotency_key = ${key}`.then((rows) => rows[0]);
      await eventually(async () => (await outcome('lease-had-it'))?.status === 'done', 'reconciled row');
      expect((await outcome('lease-had-it'))!.response).toEqual({ reconciledBy: 'sent' });
      await eventually(async () => (await outcome('lease-lost-it'))?.status === 'done', 'resent row', 15_000);
      expect(graphTexts(stack, 'lo tenía WhatsApp')).toHaveLength(0);
      expect(graphTexts(stack, 'no llegó a WhatsApp')).toHaveLength(1);
    },
    TIMEOUT_MS,
  );
});

describe.concurrent('outages and bursts', () => {
  test(
    'Graph down: the circuit opens, rows wait without spending attempts, and every user gets one menu when it is back',
    async () => {
      const stack = graphDown;
      stack.graph.respond(() => graphError(2, 500));
      const phones = Array.from({ length: 5 }, (_, n) => `57300000061${n}`);
      for (const phone of phones) await sendUser(stack, phone, text('Hola'));
      await eventually(
        async () => (await metric(stack, 'handover_circuit_open{destination="whatsapp"}')) === 'handover_circuit_open{destination="whatsapp"} 1',
        'open circuit',
      );
      await eventually(
        async () => (await metric(stack, 'handover_outbox_deliveries_total{kind="whatsapp.send",outcome="deferred"}')) !== undefined,
        'deferred rows',
      );
      // Held back by the open circuit, the rows have not burnt their attempts.
      const [spent] = await stack.sql`select max(attempts)::int as most from outbox where kind = 'whatsapp.send' and status = 'pending'`;
      expect(spent!.most).toBeLessThanOrEqual(3);

      stack.graph.respond(null);
      await eventually(
        () => phones.every((phone) => sentTo(stack, phone).filter((message) => message.type === 'interactive').length === 1),
        'menus after the outage',
        20_000,
      );
      await outboxSettled(stack);
      expect(phones.map((phone) => sentTo(stack, phone).length)).toEqual(phones.map(() => 1));
      const failed = await stack.sql`select id from outbox where status = 'failed'`;
      expect(failed).toHaveLength(0);
      expect(await metric(stack, 'handover_circuit_open{destination="whatsapp"}')).toBe('handover_circuit_open{destination="whatsapp"} 0');
    },
    TIMEOUT_MS,
  );

  test(
    'CRM down: the user messages wait and reach the agent later, in order, once each',
    async () => {
      const { stack, phone, ticketId } = await agentConversation('573000000621');
      const mine = (request: RecordedRequest) => request.path === '/api/bot/user-message' && bodyOf(request).userPhone === phone;
      const restore = stack.crm.respond((request) => (mine(request) ? json({ error: 'maintenance' }, 503) : undefined));
      for (const word of ['uno', 'dos', 'tres']) await sendUser(stack, phone, text(word));
      // Refused twice: the first message is being retried, the others wait behind it in the user's lane.
      await eventually(() => stack.crm.requests.filter(mine).length >= 2, 'failed attempts');
      restore();
      const accepted = () =>
        stack.crm
          .to('/api/bot/user-message')
          .map(bodyOf)
          .filter((body) => body.ticketId === ticketId);
      await eventually(
        async () => {
          const open = await stack.sql`select id from outbox where lane = ${`crm:${phone}`} and status <> 'done'`;
          return open.length === 0;
        },
        'delivered backlog',
        20_000,
      );
      // The fake logs refused calls too: the last delivery of each message is what the CRM kept.
      const kept = new Map(accepted().map((body) => [body.waMessageId, body.message]));
      expect([...kept.values()]).toEqual(['uno', 'dos', 'tres']);
    },
    TIMEOUT_MS,
  );

  test(
    'a burst over the sending rate queues: nobody is dropped and no second carries more than two windows of sends',
    async () => {
      const stack = burst;
      const phones = Array.from({ length: 15 }, (_, n) => `5730000007${String(n).padStart(2, '0')}`);
      const before = stack.graph.requests.length;
      await Promise.all(phones.map((phone) => sendUser(stack, phone, text('Hola'))));
      await eventually(() => phones.every((phone) => sentTo(stack, phone).length === 1), 'every menu', 20_000);
      const arrivals = stack.graph.requests.slice(before).map((request) => request.receivedAt);
      expect(arrivals).toHaveLength(15);
      const busiest = Math.max(...arrivals.map((start) => arrivals.filter((at) => at >= start && at < start + 1000).length));
      // A fixed one-second window admits 5; two adjacent windows can meet inside one sliding second.
      expect(busiest).toBeLessThanOrEqual(10);
    },
    TIMEOUT_MS,
  );
});

test.concurrent(
  '131047 with a re-engagement template configured: the agent message goes out as the template, once',
  async () => {
    const stack = reengage;
    const phone = '573000000631';
    const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    stack.graph.respond((request) => (bodyOf(request)?.text?.body === 'reloj desfasado' ? graphError(131047) : undefined));
    await agentSays(stack, ticketId, phone, 'reloj desfasado');
    const template = await eventually(() => sentTo(stack, phone).find((message) => message.type === 'template'), 'template send');
    expect(template.template).toMatchObject({
      name: 'seguimiento_agente',
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'reloj desfasado' }] }],
    });
    await outboxSettled(stack);
    expect(sentTo(stack, phone).filter((message) => message.type === 'template')).toHaveLength(1);
    expect(ticketUpdates(stack, 'message_failed')).toEqual([]);
  },
  TIMEOUT_MS,
);
