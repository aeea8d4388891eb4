import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { activeTicketFor, crmCall, readable, sentTo, startStack, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * A CRM request that changes nothing (issue 22, finding 8): the agent who
 * holds a ticket taken again, under new Idempotency-Keys or the same one.
 * Each is answered 200 as applied; none is a warning a support engineer
 * must read, nor a ticket event saying it was rejected.
 */
const ACTIVE_SUBSCRIBER = '2020202020';
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('crm_unchanged', { LOG_LEVEL: 'debug' });
});
afterAll(() => stack?.stop());

const DEBUG = 20;
const WARN = 40;

test('keyed handovers to the agent who already holds the ticket: 200 each, logged at debug only, no rejected event', async () => {
  const phone = '573000002201';
  const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
  const toldBefore = sentTo(stack, phone).map(readable);
  const again = { ticketId, userPhone: phone, agentId: 'agent_007', agentName: 'Carlos Ruiz', handoverType: 'bot_to_human' };

  for (const key of ['unchanged-1', 'unchanged-2', 'unchanged-3', 'unchanged-1']) {
    const answer = await crmCall(stack, 'POST', '/api/crm/handover', again, { 'idempotency-key': key });
    expect({ key, status: answer.status }).toEqual({ key, status: 200 });
  }

  const aboutTicket = stack.logs.filter((line) => line.ticketId === ticketId);
  expect(aboutTicket.filter((line) => line.level >= WARN)).toEqual([]);
  const unchanged = aboutTicket.filter((line) => line.event === 'ticket.unchanged');
  // Three keys, three events applied; the repeated key is answered from the dedupe and applies nothing.
  expect(unchanged.map((line) => ({ level: line.level, type: line.type }))).toEqual(
    Array.from({ length: 3 }, () => ({ level: DEBUG, type: 'crm.handover.bot_to_human' })),
  );
  expect(aboutTicket.filter((line) => line.event === 'crm.already_applied').map((line) => line.level)).toEqual([DEBUG]);
  const [rejected] = await stack.sql`select count(*)::int as n from ticket_events where ticket_id = ${ticketId} and type = 'event_rejected'`;
  expect(rejected!.n).toBe(0);
  // Nothing new for the user either: the agent was announced once.
  expect(sentTo(stack, phone).map(readable)).toEqual(toldBefore);
});
