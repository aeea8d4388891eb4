import { describe, expect, test } from 'bun:test';
import { PlainRuntime } from './plain-runtime';
import { UserScript } from './user-script';

/** The survey after a resolved ticket, on plain data: the ticket row keeps its outcome and the CRM hears it once. */

const DOCUMENT = '2020202020';
const CUSTOMER = { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false };

/** A ticket an agent took and gave back resolved: the survey is offered. */
async function surveyed(runtime: PlainRuntime, user: UserScript) {
  await runtime.apply(user.writes('hola'));
  await runtime.apply(user.later(5).taps('menu.support', 'Contactar Soporte'));
  await runtime.apply(user.later(5).writes(DOCUMENT));
  const { writes } = await runtime.apply(user.later(1).directoryFinds(DOCUMENT, CUSTOMER));
  const ticketId = writes.tickets[0]!.id;
  await runtime.apply(user.later(1).agentTakes(ticketId));
  const offered = await runtime.apply(user.later(60).agentHandsBack(ticketId));
  return { ticketId, offered };
}

const ticketUpdates = (writes: { outbox: { kind: string; payload: unknown }[] }) =>
  writes.outbox.filter((row) => row.kind === 'crm.ticket_update').map((row) => row.payload as Record<string, unknown>);

describe('the survey', () => {
  test('is offered as an interactive message under the ticket, and the ticket records it was', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const { ticketId, offered } = await surveyed(runtime, user);
    expect(offered.writes.messages.filter((row) => row.type === 'interactive')).toEqual([
      expect.objectContaining({ ticketId, author: 'bot', authorId: null, direction: 'outbound' }),
    ]);
    expect(runtime.tickets.get(ticketId)).toMatchObject({ surveyStatus: 'offered', csat: null });
  });

  test('a rating is recorded on the ticket, as a ticket event, and told to the CRM once; a replayed tap changes nothing', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const { ticketId } = await surveyed(runtime, user);
    const rated = await runtime.apply(user.later(10).taps('csat.4', '4 - Buena'));
    expect(runtime.tickets.get(ticketId)).toMatchObject({ csat: 4, surveyStatus: 'answered' });
    expect(rated.writes.ticketEvents).toEqual([expect.objectContaining({ ticketId, type: 'csat', data: { score: 4 } })]);
    expect(ticketUpdates(rated.writes)).toEqual([expect.objectContaining({ ticketId, reason: 'csat', csat: 4 })]);
    // The ticket is known: the rating raises no warning for support to chase.
    expect(rated.afterCommit.lines.filter((line) => line.level === 'warn')).toEqual([]);

    // The conversation is at the menu again: the same tap reads as a menu choice, and the ticket keeps its rating.
    const again = await runtime.apply(user.later(10).taps('csat.4', '4 - Buena'));
    expect(ticketUpdates(again.writes)).toEqual([]);
    expect(runtime.tickets.get(ticketId)).toMatchObject({ csat: 4, surveyStatus: 'answered' });
  });

  test('anything but a rating skips it: recorded and told to the CRM, so the response rate is honest', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const { ticketId } = await surveyed(runtime, user);
    const skipped = await runtime.apply(user.later(10).writes('hola otra vez'));
    expect(runtime.tickets.get(ticketId)).toMatchObject({ csat: null, surveyStatus: 'skipped' });
    expect(skipped.writes.ticketEvents).toEqual([expect.objectContaining({ ticketId, type: 'survey_skipped', data: {} })]);
    expect(ticketUpdates(skipped.writes)).toEqual([expect.objectContaining({ ticketId, reason: 'survey_skipped' })]);
    expect(skipped.afterCommit.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });

  test('no answer in time: expired', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const { ticketId } = await surveyed(runtime, user);
    const dueAt = runtime.conversations.get(user.phone)!.snapshot as { context: { deadlines: { survey: string } } };
    const survey = dueAt.context.deadlines.survey;
    const firing = user.later(600).deadlineFires('', 'survey', survey);
    const fired = await runtime.apply({ ...firing, data: { timer: 'survey', dueAt: survey } } as typeof firing);
    expect(runtime.tickets.get(ticketId)).toMatchObject({ surveyStatus: 'expired' });
    expect(ticketUpdates(fired.writes)).toEqual([expect.objectContaining({ ticketId, reason: 'survey_expired' })]);
  });
});
