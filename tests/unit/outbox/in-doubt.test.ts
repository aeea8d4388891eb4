import { describe, expect, test } from 'bun:test';
import { reconcile, settleInDoubt } from '../../../src/outbox/in-doubt';
import type { OutboxRow } from '../../../src/db/schema';
import type { OutboxRepository } from '../../../src/outbox/repository';

const OPTIONS = { reconcileAfterMs: 10_000, maxAttempts: 5 };
const NOW = Date.parse('2026-03-02T15:00:00Z');
const since = (msAgo: number) => new Date(NOW - msAgo);

describe('a send in doubt', () => {
  test('named by a status webhook since is settled as delivered, without a resend', () => {
    const settled = reconcile({ attempts: 2, inDoubtSince: since(1000) }, 'delivered', OPTIONS, NOW);
    expect(settled).toEqual({ outcome: { ok: true, status: 200, body: { reconciledBy: 'delivered' } }, reconciledBy: 'delivered' });
  });

  test('still queued inside the reconcile window waits out the rest of the window without spending an attempt', () => {
    const settled = reconcile({ attempts: 2, inDoubtSince: since(4000) }, 'queued', OPTIONS, NOW);
    expect(settled?.deferred).toEqual({ retryInMs: 6000 });
  });

  test('still queued after the window may be sent again', () => {
    expect(reconcile({ attempts: 2, inDoubtSince: since(10_000) }, 'queued', OPTIONS, NOW)).toBeNull();
  });

  test('without a message row after the window may be sent again', () => {
    expect(reconcile({ attempts: 2, inDoubtSince: since(60_000) }, undefined, OPTIONS, NOW)).toBeNull();
  });

  test('after the window with every attempt spent fails for good', () => {
    const settled = reconcile({ attempts: 6, inDoubtSince: since(60_000) }, 'queued', OPTIONS, NOW);
    expect(settled?.outcome).toMatchObject({ ok: false, retryable: false });
    expect(settled?.deferred).toBeUndefined();
  });
});

describe('the window and the last attempt, exactly', () => {
  test('waiting inside the window is a transient failure that names why, deferred by what is left of it', () => {
    expect(reconcile({ attempts: 2, inDoubtSince: since(4000) }, undefined, OPTIONS, NOW)).toEqual({
      outcome: { ok: false, retryable: true, error: 'waiting for the status webhook of a send in doubt' },
      deferred: { retryInMs: 6000 },
    });
  });

  test('on its last attempt a send may go once more; past it, it fails for good, saying why', () => {
    expect(reconcile({ attempts: 5, inDoubtSince: since(60_000) }, undefined, OPTIONS, NOW)).toBeNull();
    expect(reconcile({ attempts: 6, inDoubtSince: since(60_000) }, undefined, OPTIONS, NOW)).toEqual({
      outcome: { ok: false, retryable: false, error: 'no status webhook for a send in doubt, and no attempt left to send it again' },
    });
  });
});

describe('settling a row', () => {
  const repository = (status: string | undefined) =>
    ({ deliveryStatusOf: async () => status }) as unknown as OutboxRepository;
  const row = (fields: Partial<OutboxRow>) => ({ kind: 'whatsapp.send', attempts: 2, inDoubtSince: since(1000), ...fields }) as OutboxRow;

  test("a send in doubt is settled by its message's status", async () => {
    expect(await settleInDoubt(row({}), repository('delivered'), OPTIONS)).toMatchObject({ reconciledBy: 'delivered' });
  });

  test('a send that is not in doubt, or a row that is not a send, is not settled here', async () => {
    expect(await settleInDoubt(row({ inDoubtSince: null }), repository('delivered'), OPTIONS)).toBeNull();
    expect(await settleInDoubt(row({ kind: 'crm.user_message' }), repository('delivered'), OPTIONS)).toBeNull();
  });

  test("the row's attempts and doubt time are what decide", async () => {
    const settled = await settleInDoubt(row({ attempts: 9, inDoubtSince: new Date(Date.now() - 3_600_000) }), repository(undefined), OPTIONS);
    expect(settled?.outcome).toMatchObject({ ok: false, retryable: false });
  });
});
