import { describe, expect, test } from 'bun:test';
import type { PipelineEvent } from '../../../../src/domain/events';
import { businessNumbers } from '../../../../src/domain/business-numbers';
import { createHandoverMachine } from '../../../../src/actors/handover';
import { POLICY } from '../../../support/simulated-clock';
import { plainPolicy, PlainRuntime } from './plain-runtime';
import { UserScript } from './user-script';

/**
 * The runtime's core on plain data: who may speak in a conversation (thread
 * owner, a person on the Business app), what the business sent without us,
 * and the rows each effect becomes (calls to WhatsApp and the CRM, surveys).
 */

const DOCUMENT = '2020202020';
const CUSTOMER = { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false };

function event<T extends PipelineEvent['type']>(user: UserScript, type: T, data: Extract<PipelineEvent, { type: T }>['data'], id = `${type}:${user.now}`) {
  return { type, key: user.phone, id, at: user.now, data } as PipelineEvent;
}

async function openTicket(runtime: PlainRuntime, user: UserScript): Promise<string> {
  await runtime.apply(user.writes('hola'));
  await runtime.apply(user.later(5).taps('menu.support', 'Contactar Soporte'));
  await runtime.apply(user.later(5).writes(DOCUMENT));
  const { writes } = await runtime.apply(user.later(1).directoryFinds(DOCUMENT, CUSTOMER));
  return writes.tickets[0]!.id;
}

const voiceOf = (runtime: PlainRuntime, user: UserScript) => {
  const row = runtime.conversations.get(user.phone)!;
  return { threadOwner: row.threadOwner, botPausedUntil: row.botPausedUntil };
};
const crmCalls = (writes: { outbox: { kind: string; payload: unknown }[] }, kind: string) =>
  writes.outbox.filter((row) => row.kind === kind).map((row) => row.payload as Record<string, unknown>);

describe('who owns the thread', () => {
  test('a standby message leaves the thread to another responder (the bot keeps quiet); a normal one gives it back', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    await runtime.apply(user.writes('hola'));
    const standby = user.later(5).writes('¿me ayudan?');
    (standby.data as { standby?: boolean }).standby = true;
    const quiet = await runtime.apply(standby);
    expect(quiet.writes.outbox).toEqual([]);
    expect(quiet.writes.messages).toEqual([expect.objectContaining({ direction: 'inbound', body: '¿me ayudan?' })]);
    expect(quiet.afterCommit.lines.map((line) => line.fields.event)).toContain('bot.quiet');
    expect(voiceOf(runtime, user).threadOwner).toBe('other');

    const normal = await runtime.apply(user.later(5).writes('menu'));
    expect(voiceOf(runtime, user).threadOwner).toBeNull();
    expect(normal.writes.outbox.map((row) => row.kind)).toEqual(['whatsapp.send']);
  });

  test('a thread-control event names the new owner; one queued before owners were told says only whether it went to the CRM', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    const control = (data: Record<string, unknown>) => event(user.later(1), 'meta.thread_control', { ticketId, event: 'pass_thread_control', ...data } as never);
    await runtime.apply(control({ toCrm: false, owner: 'ai_agent' }));
    expect(voiceOf(runtime, user).threadOwner).toBe('ai_agent');
    await runtime.apply(control({ toCrm: true }));
    expect(voiceOf(runtime, user).threadOwner).toBe('crm');
    await runtime.apply(control({ toCrm: false, owner: 'bot' }));
    expect(voiceOf(runtime, user).threadOwner).toBeNull();
  });

  test('a pass Meta refused leaves the thread with this app; a refused take leaves it where it was', async () => {
    const runtime = new PlainRuntime(plainPolicy(POLICY, { handoverMachine: createHandoverMachine({ ...POLICY, threadControl: 'crm' }) }));
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    const taken = await runtime.apply(user.later(1).agentTakes(ticketId));
    expect(crmCalls(taken.writes, 'whatsapp.thread_control')).toEqual([
      { messaging_product: 'whatsapp', to: user.phone, action: 'pass', metadata: JSON.stringify({ ticket_id: ticketId }) },
    ]);
    expect(voiceOf(runtime, user).threadOwner).toBe('crm');
    const refused = (action: string) => event(user.later(1), 'whatsapp.thread_control.refused', { ticketId, action, error: { code: 10 } });
    await runtime.apply(refused('take'));
    expect(voiceOf(runtime, user).threadOwner).toBe('crm');
    await runtime.apply(refused('pass'));
    expect(voiceOf(runtime, user).threadOwner).toBeNull();
  });

  test("with Meta's AI holding threads, a closing ticket passes the thread back to it by role", async () => {
    const runtime = new PlainRuntime(plainPolicy(POLICY, { handoverMachine: createHandoverMachine({ ...POLICY, threadControl: 'ai_agent' }) }));
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    const closed = await runtime.apply(user.later(1).agentHandsBack(ticketId));
    expect(crmCalls(closed.writes, 'whatsapp.thread_control')).toEqual([
      { messaging_product: 'whatsapp', to: user.phone, action: 'pass', control_pass: { target_role: 'ai_agent' }, metadata: JSON.stringify({ ticket_id: ticketId }) },
    ]);
    expect(voiceOf(runtime, user).threadOwner).toBe('ai_agent');
  });
});

describe('the business writing without us', () => {
  const echo = (user: UserScript, source: 'business_app' | 'other_responder', text = 'Ya te llamo') =>
    event(user, 'whatsapp.echo', { user: { phone: user.phone }, waMessageId: `wamid.e.${user.now}`, timestamp: user.now, type: 'text', text, source });

  test('from the Business app pauses the bot for the configured time, never shortening a longer pause', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    await runtime.apply(user.writes('hola'));
    const start = user.later(10).now;
    await runtime.apply(echo(user, 'business_app'));
    const until = new Date(Date.parse(start) + 1800 * 1000);
    expect(voiceOf(runtime, user).botPausedUntil).toEqual(until);

    const quiet = await runtime.apply(user.later(60).writes('gracias'));
    expect(quiet.writes.outbox).toEqual([]);
    expect(quiet.afterCommit.lines).toEqual([expect.objectContaining({ fields: expect.objectContaining({ event: 'bot.quiet', reason: 'person_answering' }) })]);

    // Another responder does not pause the bot; nor does it move an existing pause.
    await runtime.apply(echo(user.later(1), 'other_responder'));
    expect(voiceOf(runtime, user).botPausedUntil).toEqual(until);
    const extended = user.later(60).now;
    await runtime.apply(echo(user, 'business_app'));
    expect(voiceOf(runtime, user).botPausedUntil).toEqual(new Date(Date.parse(extended) + 1800 * 1000));
  });

  test('with an open ticket the echo reaches the ticket (its agent hears of it); without one, the history only', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    await runtime.apply(user.writes('hola'));
    const alone = await runtime.apply(echo(user.later(1), 'other_responder'));
    expect(alone.writes.ticketEvents).toEqual([]);
    expect(alone.writes.messages).toEqual([expect.objectContaining({ author: 'agent', authorId: 'other_responder', ticketId: null })]);

    const ticketId = await openTicket(runtime, user);
    const told = await runtime.apply(echo(user.later(1), 'other_responder', 'Hola, soy la IA'));
    expect(told.writes.ticketEvents.map((row) => row.type)).toEqual(['business_message']);
    expect(told.writes.messages).toEqual([expect.objectContaining({ ticketId, body: 'Hola, soy la IA' })]);
    expect(crmCalls(told.writes, 'crm.ticket_update')).toEqual([expect.objectContaining({ ticketId, reason: 'business_message' })]);
  });

  test("a past chat's message is stored and never answered", async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const past = event(user, 'whatsapp.history', { user: { phone: user.phone }, waMessageId: 'wamid.h1', timestamp: user.now, type: 'text', text: 'hola', fromBusiness: false });
    const { writes } = await runtime.apply(past);
    expect(writes.outbox).toEqual([]);
    expect(writes.messages).toEqual([expect.objectContaining({ waMessageId: 'wamid.h1', details: { history: true } })]);
  });
});

describe('calls the effects become', () => {
  test('typing and read go in the WhatsApp lane as the agent, marking the message named', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    await runtime.apply(user.later(1).agentTakes(ticketId));
    const presence = (type: 'crm.typing' | 'crm.read', historyId: number) =>
      event(user.later(1), type, { ticketId, agentId: 'ag-7', message: { waMessageId: `wamid.in.${historyId}`, historyId } });
    const typing = await runtime.apply(presence('crm.typing', 1));
    expect(typing.writes.outbox).toEqual([
      expect.objectContaining({
        kind: 'whatsapp.typing',
        author: 'agent',
        payload: { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.in.1', typing_indicator: { type: 'text' } },
      }),
    ]);
    const read = await runtime.apply(presence('crm.read', 2));
    expect(read.writes.outbox).toEqual([
      expect.objectContaining({ kind: 'whatsapp.read', author: 'agent', payload: { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.in.2' } }),
    ]);
  });

  test('the directory is asked with the phone when the user shows it, by document alone when they hide it', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    await runtime.apply(user.writes('hola'));
    await runtime.apply(user.later(5).taps('menu.support', 'Contactar Soporte'));
    const { writes } = await runtime.apply(user.later(5).writes(DOCUMENT));
    expect(crmCalls(writes, 'customer.lookup')).toEqual([{ document: DOCUMENT, phone: user.phone }]);

    const hidden = new PlainRuntime();
    const bsuid = 'CO.1234567890123456';
    const said = (text: string, replyId?: string, at = '2026-11-30T15:00:00.000Z', n = 1) =>
      ({
        type: 'user.message',
        key: bsuid,
        id: `m${n}`,
        at,
        data: { user: { bsuid }, waMessageId: `wamid.b${n}`, timestamp: at, type: replyId ? 'interactive' : 'text', text, ...(replyId ? { replyId } : {}) },
      }) as PipelineEvent;
    await hidden.apply(said('hola'));
    await hidden.apply(said('Contactar Soporte', 'menu.support', '2026-11-30T15:00:05.000Z', 2));
    const asked = await hidden.apply(said(DOCUMENT, undefined, '2026-11-30T15:00:10.000Z', 3));
    expect(crmCalls(asked.writes, 'customer.lookup')).toEqual([{ document: DOCUMENT }]);
  });

  test('the CRM hears the business number the user wrote to when several are served, and none when only one', async () => {
    const served = new PlainRuntime(plainPolicy(POLICY, { numbers: businessNumbers('111', '111,222') }));
    const user = new UserScript();
    const ticketId = await openTicket(served, user);
    expect(served.tickets.get(ticketId)).toBeDefined();
    const update = await served.apply(user.later(1).agentTakes(ticketId), user.later(1).writes('sigo sin internet'));
    expect(crmCalls(update.writes, 'crm.user_message')).toEqual([expect.objectContaining({ ticketId, businessPhoneNumberId: '111' })]);

    const single = new PlainRuntime();
    const other = new UserScript();
    const id = await openTicket(single, other);
    const relayed = await single.apply(other.later(1).writes('sigo sin internet'));
    expect(crmCalls(relayed.writes, 'crm.user_message')[0]).not.toHaveProperty('businessPhoneNumberId');
    expect(crmCalls(relayed.writes, 'crm.user_message')[0]).toMatchObject({ ticketId: id });
  });

  test("the CRM is told a ticket's status with the update: an escalation as pending, with the reason", async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    const { deadlines } = (runtime.tickets.get(ticketId)!.snapshot as { context: { deadlines: { assign: string } } }).context;
    const fired = await runtime.apply(user.later(POLICY.assignTimeoutS).deadlineFires(ticketId, 'assign', deadlines.assign));
    expect(crmCalls(fired.writes, 'crm.ticket_update')).toEqual([expect.objectContaining({ ticketId, status: 'pending', reason: 'escalated' })]);
  });
});
