import { describe, expect, test } from 'bun:test';
import type { SentMessage } from '../../../../src/db/runtime-store';
import type { StatusUpdate } from '../../../../src/domain/events';
import { applyStatus } from '../../../../src/actors/runtime/status';

/** One status webhook on the sent messages a batch read: which it names, moves, prices and fails. */

const AT = '2026-11-30T15:00:05.000Z';
const sent = (overrides: Partial<SentMessage>): SentMessage => ({
  id: 1,
  ticketId: null,
  author: 'bot',
  authorId: null,
  type: 'text',
  body: 'hola',
  media: null,
  status: 'queued',
  statusAt: null,
  waMessageId: null,
  outboxKey: 'evt#0',
  error: null,
  billable: null,
  pricingModel: null,
  pricingCategory: null,
  ...overrides,
});
const update = (overrides: Partial<StatusUpdate>): StatusUpdate => ({
  waMessageId: 'wamid.out.1',
  status: 'sent',
  timestamp: AT,
  user: { phone: '573001112233' },
  ...overrides,
});

describe('which sent messages a status names', () => {
  test("its wamid, or, for a send whose Graph response was lost (no wamid yet), its outbox key echoed as callback data", () => {
    const known = sent({ id: 1, waMessageId: 'wamid.out.1', outboxKey: 'evt#0' });
    const lost = sent({ id: 2, waMessageId: null, outboxKey: 'evt#1' });
    const other = sent({ id: 3, waMessageId: 'wamid.out.3', outboxKey: 'evt#2' });
    expect(applyStatus([known, lost, other], update({})).moved.map((message) => message.id)).toEqual([1]);
    expect(applyStatus([lost, other], update({ waMessageId: 'wamid.out.2', callbackData: 'evt#1' })).moved.map((message) => message.id)).toEqual([2]);
  });

  test('a callback naming a send that already has another wamid does not move it, and no callback names nothing', () => {
    const other = sent({ id: 3, waMessageId: 'wamid.out.3', outboxKey: 'evt#2' });
    expect(applyStatus([other], update({ waMessageId: 'wamid.out.9', callbackData: 'evt#2' })).moved).toEqual([]);
    const lost = sent({ id: 2, waMessageId: null, outboxKey: '' });
    expect(applyStatus([lost], update({ waMessageId: 'wamid.out.9', callbackData: '' })).moved).toEqual([]);
    expect(applyStatus([sent({ waMessageId: null, outboxKey: 'evt#0' })], update({ callbackData: 'evt#5' })).moved).toEqual([]);
  });
});

describe('moving and pricing', () => {
  test("a status up the ladder sets the status, its time, WhatsApp's id and its errors", () => {
    const message = sent({ waMessageId: null, outboxKey: 'evt#0' });
    const errors = [{ code: 131026, title: 'Message undeliverable' }];
    const { moved } = applyStatus([message], update({ status: 'failed', callbackData: 'evt#0', errors }));
    expect(moved).toEqual([message]);
    expect(message).toMatchObject({ status: 'failed', statusAt: new Date(AT), waMessageId: 'wamid.out.1', error: errors });
  });

  test('the first pricing is kept; a message already priced is not priced again, and only a billable one is counted', () => {
    const message = sent({ waMessageId: 'wamid.out.1', status: 'read' });
    const first = applyStatus([message], update({ status: 'delivered', pricing: { billable: true, pricingModel: 'PMP', category: 'marketing' } }));
    expect(first.moved).toEqual([message]);
    expect(first.billable).toEqual([message]);
    expect(message).toMatchObject({ status: 'read', billable: true, pricingModel: 'PMP', pricingCategory: 'marketing' });
    const again = applyStatus([message], update({ status: 'sent', pricing: { billable: false, pricingModel: 'CBP', category: 'service' } }));
    expect(again).toEqual({ moved: [], billable: [], failures: [] });
    expect(message).toMatchObject({ billable: true, pricingModel: 'PMP', pricingCategory: 'marketing' });
  });

  test('a free message is priced and not counted; a pricing without model or category keeps them null', () => {
    const free = sent({ waMessageId: 'wamid.out.1' });
    const result = applyStatus([free], update({ pricing: { billable: false } }));
    expect(result.moved).toEqual([free]);
    expect(result.billable).toEqual([]);
    expect(free).toMatchObject({ billable: false, pricingModel: null, pricingCategory: null });
  });

  test('a status without pricing prices nothing', () => {
    const message = sent({ waMessageId: 'wamid.out.1', status: 'read' });
    expect(applyStatus([message], update({ status: 'delivered' }))).toEqual({ moved: [], billable: [], failures: [] });
    expect(message.billable).toBeNull();
  });
});

describe('a failed status', () => {
  const agentSent = (overrides: Partial<SentMessage> = {}) =>
    sent({ ticketId: 'TK-2026-000001', author: 'agent', authorId: 'ag-1', waMessageId: 'wamid.out.1', outboxKey: 'crm#0', status: 'sent', ...overrides });

  test("fails an agent's message back to its ticket, with the reason, the message and Graph's error", () => {
    const [failure] = applyStatus([agentSent()], update({ status: 'failed', errors: [{ code: 131047, message: 'Re-engagement message' }] })).failures;
    expect(failure).toEqual({
      ticketId: 'TK-2026-000001',
      outboxKey: 'crm#0',
      reason: 'outside_window',
      sentAs: 'free_form',
      message: { type: 'text', body: 'hola', waMessageId: 'wamid.out.1', agentId: 'ag-1', media: undefined },
      error: { code: 131047, title: 'Re-engagement message' },
    });
  });

  test('a media message without a body is named by its link; without an error or an author id, none is given', () => {
    const media = { url: 'https://crm.example.co/recibo.png' };
    const [failure] = applyStatus([agentSent({ type: 'image', body: null, media, authorId: null })], update({ status: 'failed' })).failures;
    expect(failure).toEqual({
      ticketId: 'TK-2026-000001',
      outboxKey: 'crm#0',
      reason: 'refused',
      sentAs: 'free_form',
      message: { type: 'image', body: 'https://crm.example.co/recibo.png', waMessageId: 'wamid.out.1', agentId: undefined, media },
    });
    const [bare] = applyStatus([agentSent({ body: null, media: null })], update({ status: 'failed' })).failures;
    expect(bare!.message.body).toBeNull();
  });

  test("the bot's messages, a message without a ticket or outbox key, or one failed already, fail nothing back", () => {
    const failed = update({ status: 'failed', errors: [{ code: 131026 }] });
    expect(applyStatus([agentSent({ author: 'bot' })], failed).failures).toEqual([]);
    expect(applyStatus([agentSent({ ticketId: null })], failed).failures).toEqual([]);
    expect(applyStatus([agentSent({ outboxKey: null })], failed).failures).toEqual([]);
    expect(applyStatus([agentSent({ status: 'failed' })], failed).failures).toEqual([]);
  });

  test('any other status fails nothing back', () => {
    expect(applyStatus([agentSent()], update({ status: 'delivered' })).failures).toEqual([]);
  });
});
