import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { DateTime } from 'luxon';
import { json } from '../support/fakes';
import {
  activeTicketFor,
  crmCall,
  eventually,
  handOverToAgent,
  openTicketFor,
  readable,
  sendUser,
  sentTo,
  startStack,
  text,
  type TestStack,
} from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * DESIGN 4's lifecycle rules through the real service, Redis and Postgres,
 * with deadlines of a second or two: each rule seen from outside, as the user
 * (the Graph fake), the CRM (the CRM fake) and the status endpoint see it.
 * Every test has its own user (and, where its settings differ, its own
 * service), so they all wait for their deadlines at once.
 */
const ACTIVE_SUBSCRIBER = '2020202020';
/** Deadlines fire through the scheduler's poll, the stream and the outbox: seconds, not milliseconds. */
const RULE_TIMEOUT_MS = 30_000;
/** Long enough that an agent who answers at once always beats it, on a loaded machine too; the test never waits it out. */
const AGENT_REPLY_TIMEOUT_S = 5;
/**
 * Long enough for a ticket to be opened and handed to an agent inside it, and for each step the tests time against
 * it to keep seconds of slack: with every core busy, a sleep wakes a second or more late.
 */
const WINDOW_S = 6;
const USER_ABANDON_TIMEOUT_S = 6;

let ladder: TestStack;
let silent: TestStack;
let answered: TestStack;
let waiting: TestStack;
let windowed: TestStack;
let templated: TestStack;

beforeAll(async () => {
  [ladder, silent, answered, waiting, windowed, templated] = await Promise.all([
    startStack('ladder', { HANDOVER_ASSIGN_TIMEOUT_S: '1', HANDOVER_MAX_ESCALATIONS: '1', HANDOVER_SUPERVISOR_QUEUE: 'true', QUEUE_UPDATE_INTERVAL_S: '600' }),
    // The assignment deadline out of the way: the ticket must reach its agent before anything climbs the ladder.
    startStack('silent', {
      HANDOVER_ASSIGN_TIMEOUT_S: '600',
      HANDOVER_MAX_ESCALATIONS: '1',
      HANDOVER_SUPERVISOR_QUEUE: 'true',
      AGENT_REPLY_TIMEOUT_S: '1',
      QUEUE_UPDATE_INTERVAL_S: '600',
    }),
    startStack('answered', { AGENT_REPLY_TIMEOUT_S: String(AGENT_REPLY_TIMEOUT_S), QUEUE_UPDATE_INTERVAL_S: '600', SURVEY_TIMEOUT_S: '1' }),
    // Abandonment six queue updates away: the user's word, sent after the first one, lands before it even when every
    // core is busy and the first update comes seconds late.
    startStack('waiting', { HANDOVER_ASSIGN_TIMEOUT_S: '600', QUEUE_UPDATE_INTERVAL_S: '1', USER_ABANDON_TIMEOUT_S: String(USER_ABANDON_TIMEOUT_S) }),
    startStack('window', { WHATSAPP_WINDOW_S: String(WINDOW_S), AGENT_REPLY_TIMEOUT_S: '600', HANDOVER_ASSIGN_TIMEOUT_S: '600' }),
    startStack('template', {
      WHATSAPP_WINDOW_S: String(WINDOW_S),
      AGENT_REPLY_TIMEOUT_S: '600',
      WHATSAPP_REENGAGE_TEMPLATE: 'seguimiento_agente',
      WHATSAPP_TEMPLATE_LANGUAGE: 'es_CO',
    }),
  ]);
  waiting.crm.respond((request) =>
    request.path === '/api/bot/agent-request' ? json({ success: true, queuePosition: 4, ticketId: (request.body as any).ticketId }) : undefined,
  );
});
afterAll(() => Promise.all([ladder, silent, answered, waiting, windowed, templated].map((stack) => stack?.stop())));

const updatesFor = (stack: TestStack, ticketId: string) =>
  stack.crm
    .to('/api/bot/ticket-update')
    .map((request) => request.body as Record<string, any>)
    .filter((body) => body.ticketId === ticketId);

const statusOf = async (stack: TestStack, ticketId: string) => (await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body;

const ticketEvents = async (stack: TestStack, ticketId: string) =>
  (await stack.sql`select type, data, at from ticket_events where ticket_id = ${ticketId} order by id`) as unknown as { type: string; data: any; at: Date }[];

const armedTimers = async (stack: TestStack, ticketId: string) =>
  (await stack.sql`select timer from timers where ticket_id = ${ticketId}`).map((row) => row.timer as string);

const agentSays = (stack: TestStack, ticketId: string, phone: string, message: string) =>
  crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, agentId: 'agent_007', message, messageType: 'text' });

describe.concurrent('escalation ladder and agent silence', () => {
  test(
    'no agent: re-request with a higher priority, the supervisor queue, then the emergency number and the menu',
    async () => {
      const stack = ladder;
      const phone = '573000000301';
      const ticketId = await openTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      await eventually(() => updatesFor(stack, ticketId).some((update) => update.status === 'pending' && update.reason === 'escalated'), 'escalation', 10_000);
      expect(await statusOf(stack, ticketId)).toMatchObject({ status: 'pending', phase: 'escalated', priority: 'alta', escalations: 1 });

      await eventually(() => updatesFor(stack, ticketId).some((update) => update.reason === 'supervisor_queue'), 'supervisor queue', 10_000);
      expect(await statusOf(stack, ticketId)).toMatchObject({ status: 'pending', phase: 'supervisor_queue' });

      await eventually(() => updatesFor(stack, ticketId).some((update) => update.reason === 'fallback'), 'fallback', 10_000);
      expect(updatesFor(stack, ticketId).map(({ status, reason, priority }) => ({ status, reason, priority }))).toEqual([
        { status: 'pending', reason: 'escalated', priority: 'alta' },
        { status: 'pending', reason: 'supervisor_queue', priority: 'alta' },
        { status: 'closed', reason: 'fallback', priority: 'alta' },
      ]);
      const texts = await eventually(() => {
        const all = sentTo(stack, phone).map(readable);
        return all.some((body) => body.includes('¿En qué te podemos ayudar?') && all.indexOf(body) > 3) && all;
      }, 'menu after the fallback');
      const fallback = texts.find((body) => body.includes('ningún agente está disponible'));
      expect(fallback).toContain('3242156679');
      expect(fallback).toContain(ticketId);
      expect(await statusOf(stack, ticketId)).toMatchObject({ status: 'closed', phase: 'closed', closeReason: 'fallback', escalations: 1 });
      const history = (await ticketEvents(stack, ticketId)).map((event) => event.type);
      expect(history.filter((type) => ['escalated', 'supervisor_queue', 'closed'].includes(type))).toEqual(['escalated', 'supervisor_queue', 'closed']);
      const armed = await stack.sql`select id from timers where ticket_id = ${ticketId}`;
      expect(armed).toHaveLength(0);
    },
    RULE_TIMEOUT_MS,
  );

  test(
    'a silent agent: the CRM is reminded, then the ladder, then the emergency number',
    async () => {
      const stack = silent;
      const phone = '573000000302';
      const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      await eventually(() => updatesFor(stack, ticketId).some((update) => update.reason === 'fallback'), 'fallback', 15_000);
      expect(updatesFor(stack, ticketId).map(({ status, reason }) => `${status}:${reason}`)).toEqual([
        'active:agent_reminder',
        'active:escalated',
        'active:supervisor_queue',
        'closed:fallback',
      ]);
      expect(await statusOf(stack, ticketId)).toMatchObject({ status: 'closed', closeReason: 'fallback' });
      await eventually(
        () =>
          sentTo(stack, phone)
            .map(readable)
            .some((body) => body.includes('ningún agente está disponible')),
        'fallback text',
      );
    },
    RULE_TIMEOUT_MS,
  );

  test(
    'an agent who answers is not escalated; the unanswered survey is recorded as expired and told to the CRM',
    async () => {
      const stack = answered;
      const phone = '573000000303';
      const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      expect(await armedTimers(stack, ticketId)).toContain('agentReply');
      expect((await agentSays(stack, ticketId, phone, 'Hola, ¿en qué te ayudo?')).status).toBe(200);
      // The answer disarms the agent's deadline: nothing is left that could escalate the ticket.
      await eventually(async () => !(await armedTimers(stack, ticketId)).includes('agentReply'), 'agent deadline disarmed');
      expect(updatesFor(stack, ticketId)).toEqual([]);
      await crmCall(stack, 'POST', '/api/crm/handover', { ticketId, userPhone: phone, handoverType: 'human_to_bot' });
      await eventually(() => sentTo(stack, phone).some((message) => message.type === 'interactive' && message.interactive.type === 'list'), 'survey');
      const updates = await eventually(() => updatesFor(stack, ticketId).length > 0 && updatesFor(stack, ticketId), 'survey outcome', 10_000);
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({ status: 'closed', reason: 'survey_expired' });
      expect(await statusOf(stack, ticketId)).toMatchObject({ closeReason: 'resolved', survey: { status: 'expired', csat: null } });
      // The bot had nothing more to say; the user's next word brings the menu.
      const before = sentTo(stack, phone).length;
      await sendUser(stack, phone, text('hola'));
      await eventually(
        () =>
          sentTo(stack, phone)
            .slice(before)
            .some((message) => readable(message).includes('¿En qué te podemos ayudar?')),
        'menu',
      );
    },
    RULE_TIMEOUT_MS,
  );
});

describe.concurrent('the waiting user', () => {
  test(
    'hears "sigues en la fila" with the queue position, and is closed as abandoned after staying silent',
    async () => {
      const stack = waiting;
      const phone = '573000000311';
      const ticketId = await openTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      await eventually(
        () =>
          sentTo(stack, phone)
            .map(readable)
            .some((body) => body.includes('vas en el puesto 4')),
        'queue update',
      );
      // A queue update comes a second after the opening: abandonment counted from the opening would be due before this word's.
      const lastWord = Date.now();
      await sendUser(stack, phone, text('sigo esperando'));
      await eventually(() => updatesFor(stack, ticketId).some((update) => update.reason === 'abandoned'), 'abandonment', 20_000);
      const closed = (await ticketEvents(stack, ticketId)).find((event) => event.type === 'closed')!;
      expect(closed.data).toEqual({ reason: 'abandoned' });
      // The count started again at the user's last message.
      expect(closed.at.getTime()).toBeGreaterThanOrEqual(lastWord + USER_ABANDON_TIMEOUT_S * 1000 - 50);
      expect(await statusOf(stack, ticketId)).toMatchObject({ status: 'closed', closeReason: 'abandoned' });
      const texts = await eventually(
        () =>
          sentTo(stack, phone)
            .map(readable)
            .some((body) => body.includes('no recibimos respuesta')) && sentTo(stack, phone).map(readable),
        'abandoned text',
      );
      const updates = texts.filter((body) => body.startsWith('Sigues en la fila'));
      expect(updates.length).toBeGreaterThanOrEqual(2);
      expect(updates.every((body) => body.includes('vas en el puesto 4'))).toBe(true);
    },
    RULE_TIMEOUT_MS,
  );
});

describe.concurrent(`WhatsApp's 24-hour window (shortened to ${WINDOW_S} s)`, () => {
  test(
    'an agent message past the window is refused with 409; the idle ticket closes silently and the bot takes the user back',
    async () => {
      const stack = windowed;
      const phone = '573000000321';
      const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      const { lastUserMessage } = await statusOf(stack, ticketId);
      const windowEnds = Date.parse(lastUserMessage) + WINDOW_S * 1000;
      expect((await agentSays(stack, ticketId, phone, 'Hola')).status).toBe(200);
      await Bun.sleep(Math.max(0, windowEnds - Date.now() - 2000));
      expect((await agentSays(stack, ticketId, phone, '¿Sigues ahí?')).status).toBe(200);
      await Bun.sleep(Math.max(0, windowEnds - Date.now() + 100));
      const refused = await agentSays(stack, ticketId, phone, 'Te escribo de nuevo');
      expect(refused.status).toBe(409);
      expect(refused.body.error).toBe('outside_window');

      await eventually(() => updatesFor(stack, ticketId).some((update) => update.reason === 'window_expired'), 'idle close', 10_000);
      expect(await statusOf(stack, ticketId)).toMatchObject({ status: 'closed', closeReason: 'window_expired' });
      const sent = sentTo(stack, phone).map(readable);
      expect(sent.filter((body) => body === 'Te escribo de nuevo')).toEqual([]);
      expect(sent.at(-1)).toBe('¿Sigues ahí?');
      await sendUser(stack, phone, text('hola'));
      await eventually(() => readable(sentTo(stack, phone).at(-1)!).includes('¿En qué te podemos ayudar?'), 'menu');
    },
    RULE_TIMEOUT_MS,
  );

  test(
    'with a template configured, the agent message goes out as that template',
    async () => {
      const phone = '573000000322';
      const ticketId = await activeTicketFor(templated, phone, ACTIVE_SUBSCRIBER);
      const { lastUserMessage } = await statusOf(templated, ticketId);
      // The agent's first word halfway through the window: the idle close it defers comes half a window after the
      // window's own close, and the message below lands between the two.
      await Bun.sleep(Math.max(0, Date.parse(lastUserMessage) + (WINDOW_S * 1000) / 2 - Date.now()));
      expect((await agentSays(templated, ticketId, phone, 'Hola')).status).toBe(200);
      await Bun.sleep(Math.max(0, Date.parse(lastUserMessage) + WINDOW_S * 1000 + 100 - Date.now()));
      expect((await agentSays(templated, ticketId, phone, 'Ya quedó tu servicio')).status).toBe(200);
      const template = await eventually(() => sentTo(templated, phone).find((message) => message.type === 'template'), 'template send');
      expect(template.template).toEqual({
        name: 'seguimiento_agente',
        language: { code: 'es_CO' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ya quedó tu servicio' }] }],
      });
    },
    RULE_TIMEOUT_MS,
  );
});

describe.concurrent('business hours', () => {
  // A schedule that is closed now: one hour tomorrow (Bogotá time).
  const tomorrow = DateTime.now().setZone('America/Bogota').plus({ days: 1 });
  const day = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][tomorrow.weekday - 1]!;
  const hours = `${day} 08:00-09:00`;

  for (const queued of [false, true]) {
    test(
      `out of hours the user is told at once, with the hours and the emergency number; OUT_OF_HOURS_QUEUE=${queued}`,
      async () => {
        const stack = await startStack(`hours_${queued}`, { BUSINESS_HOURS: hours, OUT_OF_HOURS_QUEUE: String(queued), HANDOVER_ASSIGN_TIMEOUT_S: '60' });
        try {
          const phone = '573000000331';
          await sendUser(stack, phone, text('Hola'));
          await sendUser(stack, phone, text('soporte'));
          await eventually(() => sentTo(stack, phone).length >= 2, 'document question');
          await sendUser(stack, phone, text(ACTIVE_SUBSCRIBER));
          const notice = await eventually(
            () =>
              sentTo(stack, phone)
                .map(readable)
                .find((body) => body.includes('fuera del horario')),
            'out-of-hours notice',
          );
          expect(notice).toContain('3242156679');
          expect(notice).toMatch(/(lun|mar|mié|jue|vie|sáb|dom) 08:00-09:00/);
          const [ticket] = await stack.sql`select id, status, close_reason from tickets where conversation_key = ${phone}`;
          if (queued) {
            expect(notice).toContain('quedó en fila');
            await eventually(() => stack.crm.to('/api/bot/agent-request').length === 1, 'agent-request');
            expect(ticket).toMatchObject({ status: 'pending' });
            const [timer] = await stack.sql`select due_at from timers where id = ${`${ticket!.id}/assign`}`;
            const opening = tomorrow.set({ hour: 8, minute: 0, second: 0, millisecond: 0 });
            expect((timer!.due_at as Date).toISOString()).toBe(opening.plus({ seconds: 60 }).toUTC().toISO()!);
          } else {
            expect(ticket).toMatchObject({ status: 'closed', close_reason: 'out_of_hours' });
            await eventually(() => readable(sentTo(stack, phone).at(-1)!).includes('¿En qué te podemos ayudar?'), 'menu');
            expect(stack.crm.to('/api/bot/agent-request')).toEqual([]);
          }
        } finally {
          await stack.stop();
        }
      },
      RULE_TIMEOUT_MS,
    );
  }
});

describe.concurrent('tickets from before the lifecycle rules', () => {
  test(
    'a snapshot without deadlines or ladder fields is read with defaults, gets its deadlines, and keeps working',
    async () => {
      const stack = await startStack('legacy');
      try {
        const phone = '573000000341';
        const ticketId = await openTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
        await eventually(async () => (await statusOf(stack, ticketId)).status === 'pending', 'pending ticket');
        // What issue 2's version wrote: none of the fields the lifecycle rules added.
        await stack.sql`
          update tickets set snapshot = snapshot
            #- '{context,deadlines}' #- '{context,ladderStep}' #- '{context,escalations}' #- '{context,lastUserMessageAt}'
            #- '{context,queuePosition}' #- '{context,supervisorQueued}' #- '{context,agentReminded}'
          where id = ${ticketId}`;
        await stack.sql`update conversations set snapshot = snapshot #- '{context,deadlines}' where conversation_key = ${phone}`;
        await stack.sql`delete from timers where ticket_id = ${ticketId}`;
        await sendUser(stack, phone, text('¿me ayudan con el internet?'));
        await eventually(
          () => stack.crm.to('/api/bot/user-message').some((request) => (request.body as any).message === '¿me ayudan con el internet?'),
          'relayed message',
        );
        // An open ticket must not be left without deadlines: the window and the assignment are armed on the way in.
        const armed = await stack.sql`select timer from timers where ticket_id = ${ticketId} order by timer`;
        expect(armed.map((row) => row.timer)).toEqual(['assign', 'idle']);
        await handOverToAgent(stack, ticketId, phone);
        expect((await statusOf(stack, ticketId)).phase).toBe('with_agent');
        const [dead] = await stack.sql`select count(*)::int as n from ticket_events where ticket_id = ${ticketId} and type = 'event_rejected'`;
        expect(dead!.n).toBe(0);
      } finally {
        await stack.stop();
      }
    },
    RULE_TIMEOUT_MS,
  );
});
