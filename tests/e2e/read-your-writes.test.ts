import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { closeCommitGate } from '../support/commit-gate';
import { crmCall, eventually, openTicketFor, readable, sentTo, startStack, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * A CRM 200 means applied (DESIGN 2.1, issue 18): the CRM's very next call
 * sees what it was told was done. Before, the routes answered once the event
 * was queued, and a status read at once still said `pending` (12 of 12), a
 * send-message at once was refused 409 ticket_not_active (4 of 12). Several
 * tickets per test, each read back at once, so the race has room to show.
 */
const TICKETS = 6;
let stack: TestStack;
let phones = 0;
/** A whole service boots, or stops after its database connections were killed: more than the default 5 s on a busy machine. */
const BOOT_TIMEOUT_MS = 30_000;
beforeAll(async () => {
  stack = await startStack('read_your_writes');
}, BOOT_TIMEOUT_MS);
afterAll(() => stack.stop(), BOOT_TIMEOUT_MS);

/** `count` tickets waiting for an agent, opened side by side. */
async function pendingTickets(count: number): Promise<{ ticketId: string; phone: string }[]> {
  const phonesOfTest = Array.from({ length: count }, () => `5730077${String(++phones).padStart(5, '0')}`);
  return Promise.all(phonesOfTest.map(async (phone) => ({ phone, ticketId: await openTicketFor(stack, phone, '2020202020') })));
}

const takeOver = (ticket: { ticketId: string; phone: string }, headers: Record<string, string> = {}) =>
  crmCall(
    stack,
    'POST',
    '/api/crm/handover',
    { ticketId: ticket.ticketId, userPhone: ticket.phone, agentId: 'agent_12', agentName: 'Lucía Mora', handoverType: 'bot_to_human' },
    headers,
  );
const giveBack = (ticket: { ticketId: string; phone: string }) =>
  crmCall(stack, 'POST', '/api/crm/handover', { ticketId: ticket.ticketId, userPhone: ticket.phone, handoverType: 'human_to_bot' });
const greet = (ticket: { ticketId: string; phone: string }) =>
  crmCall(stack, 'POST', '/api/crm/send-message', {
    ticketId: ticket.ticketId,
    userPhone: ticket.phone,
    agentId: 'agent_12',
    message: 'Hola, soy Lucía',
    messageType: 'text',
  });
const statusOf = async (ticket: { ticketId: string }) => (await crmCall(stack, 'GET', `/api/crm/handover-status/${ticket.ticketId}`)).body;

describe.concurrent('on one instance, the CRM reads its own writes', () => {
  test('right after bot_to_human is answered 200, handover-status shows the agent and active', async () => {
    const seen = [];
    for (const ticket of await pendingTickets(TICKETS)) {
      const answer = await takeOver(ticket);
      const status = await statusOf(ticket);
      seen.push({ answer: answer.status, applied: answer.body.applied, status: status.status, agent: status.assignedAgent });
    }
    expect(seen).toEqual(Array(TICKETS).fill({ answer: 200, applied: true, status: 'active', agent: { id: 'agent_12', name: 'Lucía Mora' } }));
  });

  test('a send-message right after bot_to_human is answered 200 is accepted, not 409 ticket_not_active', async () => {
    const answers = [];
    for (const ticket of await pendingTickets(TICKETS)) {
      const handover = await takeOver(ticket);
      const greeting = await greet(ticket);
      answers.push([handover.status, greeting.status, greeting.body.error]);
    }
    expect(answers).toEqual(Array(TICKETS).fill([200, 200, undefined]));
  });

  test('right after human_to_bot is answered 200, handover-status says closed', async () => {
    const tickets = await pendingTickets(TICKETS);
    for (const ticket of tickets) expect((await takeOver(ticket)).status).toBe(200);
    const seen = [];
    for (const ticket of tickets) {
      const answer = await giveBack(ticket);
      seen.push([answer.status, (await statusOf(ticket)).status]);
    }
    expect(seen).toEqual(Array(TICKETS).fill([200, 'closed']));
  });

  test('a retry of an applied handover with the same Idempotency-Key is answered 200 again, and applied once', async () => {
    const [ticket] = await pendingTickets(1);
    const key = { 'Idempotency-Key': `take-${ticket!.ticketId}` };
    const first = await takeOver(ticket!, key);
    const retry = await takeOver(ticket!, key);
    expect([first, retry].map((answer) => [answer.status, answer.body.applied])).toEqual([
      [200, true],
      [200, true],
    ]);
    await eventually(() => sentTo(stack, ticket!.phone).map(readable).includes('Agente Lucía Mora conectado'), 'the agent announced');
    expect(
      sentTo(stack, ticket!.phone)
        .map(readable)
        .filter((said) => said === 'Agente Lucía Mora conectado'),
    ).toHaveLength(1);
  });
});

describe('when the owner cannot apply within CRM_APPLY_TIMEOUT_MS', () => {
  let slow: TestStack;
  beforeAll(async () => {
    slow = await startStack('not_applied_in_time', { CRM_APPLY_TIMEOUT_MS: '300' });
  }, BOOT_TIMEOUT_MS);
  afterAll(() => slow.stop(), BOOT_TIMEOUT_MS);

  test('the answer is 202 applied: false; a retry with the same key waits again; the event is applied later, and the retry then hears 200', async () => {
    const phone = '573007799001';
    const ticketId = await openTicketFor(slow, phone, '2020202020');
    const body = { ticketId, userPhone: phone, agentId: 'agent_12', agentName: 'Lucía Mora', handoverType: 'bot_to_human' };
    const key = { 'Idempotency-Key': `slow-take-${ticketId}` };
    // Every commit of the worker waits at the gate: nothing can be applied in time.
    const gate = await closeCommitGate(slow.sql);
    let released = false;
    try {
      const first = await crmCall(slow, 'POST', '/api/crm/handover', body, key);
      expect(first).toEqual({ status: 202, body: { success: true, applied: false, message: expect.any(String), ticketId } });
      const retry = await crmCall(slow, 'POST', '/api/crm/handover', body, key);
      expect(retry.status).toBe(202);
      expect((await crmCall(slow, 'GET', `/api/crm/handover-status/${ticketId}`)).body.status).toBe('pending');
      await gate.release();
      released = true;
    } finally {
      if (!released) await gate.release();
    }
    // The batch held at the gate rolled back; the worker applies it again, in order.
    await eventually(async () => (await crmCall(slow, 'GET', `/api/crm/handover-status/${ticketId}`)).body.status === 'active', 'the handover applied');
    const late = await crmCall(slow, 'POST', '/api/crm/handover', body, key);
    expect([late.status, late.body.applied]).toEqual([200, true]);
    await eventually(() => sentTo(slow, phone).map(readable).includes('Agente Lucía Mora conectado'), 'the agent announced');
    expect(
      sentTo(slow, phone)
        .map(readable)
        .filter((said) => said === 'Agente Lucía Mora conectado'),
    ).toHaveLength(1);
    expect(slow.logs.filter((line) => line.event === 'crm.not_applied_in_time')).toMatchObject([
      { route: 'handover', ticketId },
      { route: 'handover', ticketId },
    ]);
  }, 30_000);
});
