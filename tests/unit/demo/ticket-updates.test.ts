import { expect, test } from 'bun:test';
import { openApiDocument } from '../../../src/routes/openapi/document';
import { describeTicketUpdate, waited } from '../../../src/demo/ticket-updates';

const requestedAt = '2026-11-05T14:00:00.000Z';

test('an escalation says what happened: the new priority and how long no agent came', () => {
  expect(describeTicketUpdate({ status: 'pending', reason: 'escalated', priority: 'alta', timestamp: '2026-11-05T14:02:00.000Z' }, requestedAt)).toBe(
    'Escalated: priority alta, no agent after 2 min',
  );
  expect(describeTicketUpdate({ status: 'active', reason: 'escalated', priority: 'alta' }, requestedAt)).toBe(
    'Escalated: priority alta, the agent has not answered the subscriber',
  );
  expect(describeTicketUpdate({ status: 'closed', reason: 'csat', csat: 4 }, requestedAt)).toBe('Rated the agent 4/5');
});

test('every reason the service may send (as /openapi.json lists them) is put in words, never shown as its code', () => {
  const document: any = openApiDocument('test');
  const reasons: string[] = document.webhooks.ticketUpdate.post.requestBody.content['application/json'].schema.properties.reason.anyOf.map(
    (option: { const: string }) => option.const,
  );
  expect(reasons.length).toBeGreaterThan(10);
  const shownAsCode = reasons.filter((reason) => describeTicketUpdate({ status: 'closed', reason, csat: 5 }, requestedAt).startsWith('ticket-update:'));
  expect(shownAsCode).toEqual([]);
});

test('waits under a minute and a half in seconds, longer ones in minutes', () => {
  expect(waited(requestedAt, '2026-11-05T14:00:04.400Z')).toBe('4 s');
  expect(waited(requestedAt, '2026-11-05T14:01:29.000Z')).toBe('89 s');
  expect(waited(requestedAt, '2026-11-05T14:07:10.000Z')).toBe('7 min');
});
