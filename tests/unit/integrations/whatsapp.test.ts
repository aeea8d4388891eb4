import { describe, expect, test } from 'bun:test';
import { classifySendAnswer, OUTSIDE_WINDOW_CODE } from '../../../src/integrations/whatsapp';

const refusal = (status: number, code?: number) => ({
  ok: false as const,
  retryable: status >= 500 || status === 429,
  status,
  error: `POST http://graph/v21.0/1/messages answered ${status}`,
  body: code === undefined ? { unexpected: true } : { error: { message: `graph error ${code}`, type: 'OAuthException', code } },
});

describe('what a Graph answer means', () => {
  test('an accepted send yields its wamid', () => {
    const outcome = classifySendAnswer({ ok: true, status: 200, body: { messaging_product: 'whatsapp', messages: [{ id: 'wamid.ABC' }] } });
    expect(outcome).toMatchObject({ ok: true, waMessageId: 'wamid.ABC' });
  });

  test('a 200 without a message id is a permanent failure: there is nothing to track', () => {
    expect(classifySendAnswer({ ok: true, status: 200, body: { messages: [] } })).toMatchObject({ ok: false, retryable: false });
  });

  test.each([1, 2, 4, 190, 80007, 130429, 131016, 131056])('code %d from a 4xx is worth another try', (code) => {
    expect(classifySendAnswer(refusal(400, code))).toMatchObject({ ok: false, retryable: true, graphError: { code } });
  });

  test('a code outside the retry list from a 4xx is the message’s own fault: permanent', () => {
    expect(classifySendAnswer(refusal(400, 131026))).toMatchObject({ ok: false, retryable: false, graphError: { code: 131026, title: 'graph error 131026' } });
  });

  test('a 5xx is retried whatever its code, even one outside the retry list', () => {
    expect(classifySendAnswer(refusal(500, 100))).toMatchObject({ ok: false, retryable: true, graphError: { code: 100 } });
  });

  test('outside the 24-hour window is permanent and named, so a template can be tried', () => {
    const outcome = classifySendAnswer(refusal(400, OUTSIDE_WINDOW_CODE));
    expect(outcome).toMatchObject({ ok: false, retryable: false, graphError: { code: 131047 } });
    expect(outcome.ok || outcome.error).toEndWith('(code 131047)');
  });

  test('a refusal without a Graph error keeps the HTTP classification', () => {
    expect(classifySendAnswer(refusal(503))).toEqual(refusal(503));
    expect(classifySendAnswer(refusal(404))).toEqual(refusal(404));
  });
});
