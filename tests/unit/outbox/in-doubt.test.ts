import { describe, expect, test } from 'bun:test';
import { reconcile } from '../../../src/outbox/in-doubt';

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
