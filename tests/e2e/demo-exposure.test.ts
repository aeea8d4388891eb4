import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { request as httpRequest } from 'node:http';
import { startDemo, type Demo } from '../../src/demo';
import { REDIS_URL } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The demo runs with well-known secrets and an unauthenticated API that
 * takes tickets and replies as the agent (issue 22, finding 6): it listens
 * on loopback unless told otherwise, and its API answers only the
 * simulator's own page, never another site's (a cross-site form or
 * `text/plain` fetch, a DNS-rebound name).
 */
let demo: Demo;
let port: number;
beforeAll(async () => {
  demo = await startDemo({ PORT: '0', LOG_LEVEL: 'silent', REDIS_URL });
  port = demo.port;
}, 60_000);
afterAll(() => demo?.stop());

const SUBSCRIBER = '573001234567';
const message = (text: string) => JSON.stringify({ phone: SUBSCRIBER, input: { kind: 'text', text } });

/** A request with exactly these headers (Host included), over a socket: what any browser or script could send. */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host: `localhost:${port}`, ...headers } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** What the subscriber's phone shows as written by the subscriber: a refused request writes nothing there. */
async function written(): Promise<string[]> {
  const state = (await (await fetch(`${demo.url}/simulator/api/state`)).json()) as { phones: Record<string, { from: string; text: string }[]> };
  return (state.phones[SUBSCRIBER] ?? []).filter((entry) => entry.from === 'user').map((entry) => entry.text);
}

describe('where the demo listens', () => {
  test('on loopback only by default: 127.0.0.1 answers, another address of this machine does not', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/simulator`)).status).toBe(200);
    // 127.0.0.2 reaches this machine too, but only a server listening on every interface answers there.
    const elsewhere = await fetch(`http://127.0.0.2:${port}/simulator`).then(
      (response) => `answered ${response.status}`,
      (error: { code?: string }) => error.code,
    );
    expect(elsewhere).toBe('ECONNREFUSED');
  });

  test('DEMO_HOST that is not an address is refused with one clear line', async () => {
    const outcome = await startDemo({ PORT: '0', LOG_LEVEL: 'silent', REDIS_URL, DEMO_HOST: 'every interface' }).then(
      async (started) => {
        await started.stop();
        return 'started';
      },
      (error: { problems?: string[] }) => error.problems,
    );
    expect(outcome).toEqual([expect.stringMatching(/^DEMO_HOST: /)]);
  });
});

describe("the simulator's API answers only its own page", () => {
  test("another site's text/plain POST (no preflight) is refused, and nothing reaches the service", async () => {
    const answer = await raw('POST', '/simulator/api/phone', { origin: 'https://evil.example', 'content-type': 'text/plain' }, message('from evil'));
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ success: false, error: 'cross_site_request' });
    expect(await written()).not.toContain('from evil');
  });

  test('a POST that is not JSON is refused even without an Origin (a form from a page that hides it)', async () => {
    const answer = await raw('POST', '/simulator/api/agent/take', { 'content-type': 'text/plain' }, JSON.stringify({ ticketId: 'TK-1' }));
    expect(answer.status).toBe(415);
  });

  test("another site's JSON is refused too (its preflight is never answered, and the Origin gives it away)", async () => {
    const answer = await raw('POST', '/simulator/api/phone', { origin: 'http://evil.example', 'content-type': 'application/json' }, message('json from evil'));
    expect(answer.status).toBe(403);
    expect(await written()).not.toContain('json from evil');
  });

  test('a name rebound to this machine (Host and Origin both the attacker’s) is refused', async () => {
    const rebound = { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, 'content-type': 'application/json' };
    expect((await raw('POST', '/simulator/api/phone', rebound, message('rebound'))).status).toBe(403);
    expect((await raw('GET', '/simulator/api/state', { host: `evil.example:${port}` })).status).toBe(403);
    expect(await written()).not.toContain('rebound');
  });

  test("another site's page reading the state is refused (Sec-Fetch-Site)", async () => {
    expect((await raw('GET', '/simulator/api/state', { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
  });

  test('the page itself (same origin, JSON) still drives the service', async () => {
    const origin = `http://localhost:${port}`;
    const answer = await raw('POST', '/simulator/api/phone', { origin, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' }, message('Hola'));
    expect(answer.status).toBe(200);
    expect(await written()).toContain('Hola');
    expect((await raw('GET', '/simulator/api/state', { 'sec-fetch-site': 'same-origin' })).status).toBe(200);
  });

  test('a link from another site still opens the simulator page itself', async () => {
    expect((await raw('GET', '/simulator', { 'sec-fetch-site': 'cross-site' })).status).toBe(200);
  });
});
