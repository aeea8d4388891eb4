import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { call, isRetryableStatus } from '../../../src/integrations/http';
import { json, startFake, type FakeServer } from '../../support/fakes';

let server: FakeServer;
beforeAll(() => {
  server = startFake(() => json({ ok: true }));
});
afterEach(() => server.respond(null));
afterAll(() => server.stop());

const get = (path = '/thing', timeoutMs = 2000) => call({ method: 'GET', url: `${server.url}${path}`, headers: {}, timeoutMs, operation: 'test' });

describe('which statuses are worth another try', () => {
  test.each([408, 425, 429, 500, 502, 503, 504])('%d: yes', (status) => expect(isRetryableStatus(status)).toBe(true));
  test.each([400, 401, 403, 404, 409, 413, 422])('%d: no, the request itself is wrong', (status) => expect(isRetryableStatus(status)).toBe(false));
});

describe('an outbound call', () => {
  test('a 2xx is a success with its JSON body', async () => {
    expect(await get()).toEqual({ ok: true, status: 200, body: { ok: true } });
  });

  test('a 503 is a retryable failure that keeps the body', async () => {
    server.respond(() => json({ error: 'maintenance' }, 503));
    expect(await get()).toMatchObject({ ok: false, retryable: true, status: 503, body: { error: 'maintenance' } });
  });

  test('a 400 is a permanent failure', async () => {
    server.respond(() => json({ error: 'bad' }, 400));
    expect(await get()).toMatchObject({ ok: false, retryable: false, status: 400 });
  });

  test('the error masks digit runs the remote echoed, and leaves the query string out', async () => {
    server.respond(() => new Response('no such user 573001234567', { status: 404 }));
    const outcome = await get('/customers?document=1010101010');
    expect(outcome.ok).toBe(false);
    const error = outcome.ok ? '' : outcome.error;
    expect(error).toContain('57300*****67');
    expect(error).not.toContain('573001234567');
    expect(error).not.toContain('1010101010');
  });

  test('a body that is not JSON is kept as text', async () => {
    server.respond(() => new Response('accepted'));
    expect(await get()).toEqual({ ok: true, status: 200, body: 'accepted' });
  });

  test('a timeout is retryable with its outcome unknown: the server may have acted on it', async () => {
    server.respond(() => Bun.sleep(1000).then(() => json({ ok: true })));
    expect(await get('/slow', 100)).toMatchObject({ ok: false, retryable: true, unknownOutcome: true });
  });

  test('a refused connection is retryable and known not to have reached anyone', async () => {
    const closed = startFake(() => json({}));
    const url = closed.url;
    await closed.stop();
    const outcome = await call({ method: 'POST', url: `${url}/x`, headers: {}, body: '{}', timeoutMs: 1000, operation: 'test' });
    expect(outcome).toMatchObject({ ok: false, retryable: true, unknownOutcome: false });
  });
});
