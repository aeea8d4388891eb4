import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { processedEvents } from '../../src/db/schema';
import { createLogger } from '../../src/logger';
import { partitionOf } from '../../src/streams/codec';
import { eventually } from '../support/harness';
import { bearer, call, jsonRequest, routeContext, SECRETS, type RouteContext, type TestApp } from './support';

/**
 * handover and send-message answer once their event is applied (DESIGN 2.1). No worker runs in route tests: the
 * test plays the partition's owner, committing the queued event to processed_events and announcing it as the
 * worker does after its commit; the whole path with the real worker is in tests/e2e/read-your-writes.test.ts.
 */
let context: RouteContext;
beforeAll(async () => {
  context = await routeContext('crm_applied');
});
afterAll(() => context.close());

const NOT_APPLIED_YET = { success: true, applied: false, message: 'Accepted, not applied yet: it will be applied in order shortly' };

describe('the answer waits until the event is applied (DESIGN 2.1)', () => {
  /** An app that waits long enough for the test to play the partition's owner. */
  const waiting = () => context.app({ CRM_APPLY_TIMEOUT_MS: '30000' });
  const post = (target: TestApp, path: string, body: unknown) => call(target, jsonRequest('POST', path, body, bearer(SECRETS.crmToken)));
  /** What the owner's worker does for the one queued event of `phone`: commit it, then (when `announce`) say so. */
  async function applyQueued(target: TestApp, phone: string, options: { announce: boolean }) {
    const event = await eventually(async () => (await target.entries()).find((entry) => entry.key === phone), 'the event queued');
    await context.database.db.insert(processedEvents).values({ id: event.id, streamEntryId: '1-0' });
    if (options.announce) target.appliedEvents.announce(partitionOf(phone, target.config.STREAM_PARTITIONS), [{ entryId: '1-0', event }]);
  }

  test("a handover applied while the request waits is answered 200, applied, with the seed's body", async () => {
    const target = waiting();
    const ticket = await context.insertTicket({ status: 'pending', phase: 'waiting_agent', agentId: null, agentName: null });
    const answer = post(target, '/api/crm/handover', {
      ticketId: ticket.id,
      userPhone: ticket.userPhone,
      agentId: 'a9',
      agentName: 'Ana',
      handoverType: 'bot_to_human',
    });
    await applyQueued(target, ticket.conversationKey, { announce: true });
    expect(await answer).toEqual({ status: 200, body: { success: true, applied: true, message: 'Handover processed successfully', ticketId: ticket.id } });
  });

  test('an agent message whose commit was never announced to this instance is still answered 200', async () => {
    const target = waiting();
    const ticket = await context.insertTicket();
    const answer = post(target, '/api/crm/send-message', { ticketId: ticket.id, userPhone: ticket.userPhone, message: 'hola', messageType: 'text' });
    await applyQueued(target, ticket.conversationKey, { announce: false });
    expect(await answer).toEqual({ status: 200, body: { success: true, applied: true, message: 'Message sent successfully', ticketId: ticket.id } });
  });

  test('past CRM_APPLY_TIMEOUT_MS the answer is 202 with the ticket id, and a warning names the ticket and the wait', async () => {
    const lines: Record<string, unknown>[] = [];
    const logged = context.app({ CRM_APPLY_TIMEOUT_MS: '50' }, createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line)) }));
    const ticket = await context.insertTicket();
    const answer = await post(logged, '/api/crm/send-message', { ticketId: ticket.id, userPhone: ticket.userPhone, message: 'hola', messageType: 'text' });
    expect(answer).toEqual({ status: 202, body: { ...NOT_APPLIED_YET, ticketId: ticket.id } });
    expect(await logged.entries()).toMatchObject([{ type: 'crm.message', key: ticket.conversationKey }]);
    expect(lines).toMatchObject([{ event: 'crm.not_applied_in_time', route: 'send-message', ticketId: ticket.id }]);
    expect(lines[0]!.waitedMs).toBeGreaterThanOrEqual(50);
  });
});
