import { describe, expect, test } from 'bun:test';
import { backoffMs, decide, type Delivery } from '../../../src/outbox/outcome';

const MAX_ATTEMPTS = 5;
const failure = (retryable: boolean, extra: Partial<Extract<Delivery['outcome'], { ok: false }>> = {}): Delivery => ({
  outcome: { ok: false, retryable, error: 'POST /api/bot/user-message answered 503', ...extra },
});
const crmRow = (attempts: number) => ({ kind: 'crm.user_message' as const, attempts });
const sendRow = (attempts: number) => ({ kind: 'whatsapp.send' as const, attempts });

describe('backoff', () => {
  test('the ceiling doubles with each attempt from one second', () => {
    const atCeiling = () => 1;
    expect([1, 2, 3, 4].map((attempt) => backoffMs(attempt, atCeiling))).toEqual([1000, 2000, 4000, 8000]);
  });

  test('the ceiling stops at five minutes', () => {
    expect(backoffMs(30, () => 1)).toBe(300_000);
  });

  test('the wait is drawn anywhere below the ceiling (full jitter)', () => {
    expect(backoffMs(3, () => 0)).toBe(0);
    expect(backoffMs(3, () => 0.5)).toBe(2000);
  });
});

describe('what a delivery comes to', () => {
  test('a delivered row is done with the answer as its response', () => {
    const decision = decide(crmRow(1), { outcome: { ok: true, status: 200, body: { success: true } } }, MAX_ATTEMPTS);
    expect(decision).toEqual({ kind: 'done', response: { success: true }, waMessageId: undefined, reconciledBy: undefined });
  });

  test('a row dropped without a call (a stale typing indicator) is done, with why it was dropped as its response', () => {
    const typingRow = { kind: 'whatsapp.typing' as const, attempts: 1 };
    const decision = decide(typingRow, { outcome: { ok: true, status: 0, body: null }, skipped: 'typing indicator older than 25 s' }, MAX_ATTEMPTS);
    expect(decision).toEqual({ kind: 'done', response: { skipped: 'typing indicator older than 25 s' }, skipped: 'typing indicator older than 25 s' });
  });

  test('a read mark whose outcome is unknown is tried again, not held in doubt: marking read twice shows nothing twice', () => {
    const readRow = { kind: 'whatsapp.read' as const, attempts: 1 };
    expect(decide(readRow, failure(true, { unknownOutcome: true }), MAX_ATTEMPTS, () => 0)).toMatchObject({ kind: 'retry' });
  });

  test('an empty answer, or none at all, is stored as no response', () => {
    expect(decide(crmRow(1), { outcome: { ok: true, status: 204, body: '' } }, MAX_ATTEMPTS)).toMatchObject({ kind: 'done', response: null });
    expect(decide(crmRow(1), { outcome: { ok: true, status: 204, body: undefined } }, MAX_ATTEMPTS)).toMatchObject({ kind: 'done', response: null });
  });

  test('an accepted send carries its wamid to the record', () => {
    const decision = decide(sendRow(1), { outcome: { ok: true, status: 200, body: {} }, waMessageId: 'wamid.1' }, MAX_ATTEMPTS);
    expect(decision).toMatchObject({ kind: 'done', waMessageId: 'wamid.1' });
  });

  test('a transient failure with attempts left is retried after a backoff drawn from the attempt', () => {
    expect(decide(crmRow(3), failure(true), MAX_ATTEMPTS, () => 1)).toEqual({
      kind: 'retry',
      error: 'POST /api/bot/user-message answered 503',
      retryInMs: 4000,
    });
  });

  test('a transient failure on the last attempt fails for good', () => {
    expect(decide(crmRow(MAX_ATTEMPTS), failure(true), MAX_ATTEMPTS)).toMatchObject({ kind: 'fail', retryable: true });
  });

  test('a permanent failure fails at once and keeps the Graph error for the report', () => {
    const decision = decide(sendRow(1), failure(false, { graphError: { code: 131026, title: 'undeliverable' } }), MAX_ATTEMPTS);
    expect(decision).toMatchObject({ kind: 'fail', retryable: false, graphError: { code: 131026, title: 'undeliverable' } });
  });

  test('a deferred delivery is deferred whatever its attempts', () => {
    const deferred: Delivery = { ...failure(true), deferred: { retryInMs: 1500 } };
    expect(decide(crmRow(MAX_ATTEMPTS), deferred, MAX_ATTEMPTS)).toEqual({ kind: 'defer', retryInMs: 1500, reason: 'POST /api/bot/user-message answered 503' });
  });

  test('a send whose outcome is unknown waits in doubt, even on its last attempt', () => {
    expect(decide(sendRow(MAX_ATTEMPTS), failure(true, { unknownOutcome: true }), MAX_ATTEMPTS)).toMatchObject({ kind: 'in_doubt' });
  });

  test('a CRM call whose outcome is unknown is simply retried: the CRM drops repeats by Idempotency-Key', () => {
    expect(decide(crmRow(1), failure(true, { unknownOutcome: true }), MAX_ATTEMPTS)).toMatchObject({ kind: 'retry' });
  });
});
