import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createLogger } from '../../src/logger';
import { signBody } from '../../src/lib/security';
import { metaJson, text, userMessagePayload } from '../support/harness';
import { ADMIN_TOKEN, call, freshPhone, METRICS_TOKEN, routeContext, SECRETS, type RouteContext } from './support';

/**
 * A 401 must say which side to fix: a secret this service was never given is not a caller's wrong
 * signature. Either way the answer names the setting, never a value, and the rejection is logged.
 */
let context: RouteContext;
beforeAll(async () => {
  context = await routeContext('unconfigured');
});
afterAll(() => context.close());

const BASE = 'http://localhost';
const EVERY_SECRET = [...Object.values(SECRETS), ADMIN_TOKEN, METRICS_TOKEN];

/** An app with `env` over the route tests' settings, and the warnings it logs. */
function appWith(env: Record<string, string>) {
  const logs: Record<string, any>[] = [];
  const app = context.app(env, createLogger('warn', { write: (line: string) => void logs.push(JSON.parse(line)) }));
  return { app, logs };
}

function delivery(url: string, signature: string | null, body = metaJson(userMessagePayload(freshPhone(), text('Hola')).payload)): Request {
  return new Request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-hub-signature-256': signature }) },
    body,
  });
}

const revealsNoSecret = (body: unknown) => expect(EVERY_SECRET.filter((secret) => JSON.stringify(body).includes(secret))).toEqual([]);

describe('a secret the service was not given', () => {
  test('META_WEBHOOK_SECRET: POST /webhook (as served in production) is 401 saying it is not configured, and the refusal is logged', async () => {
    const { app, logs } = appWith({ META_WEBHOOK_SECRET: '' });
    const server = app.listen();
    try {
      const body = metaJson(userMessagePayload(freshPhone(), text('Hola')).payload);
      const response = await fetch(delivery(`${server.url}/webhook`, signBody(SECRETS.metaSecret, body), body));
      expect(response.status).toBe(401);
      const answer = await response.json();
      expect(answer).toEqual({
        success: false,
        error: 'unauthorized',
        message: 'META_WEBHOOK_SECRET is not configured on this service: no delivery can be verified',
      });
      revealsNoSecret(answer);
      expect(logs).toMatchObject([{ event: 'webhook.signature_rejected', reason: 'not_configured', path: '/webhook', client: '127.0.0.1', count: 1 }]);
    } finally {
      await server.stop();
    }
  });

  test('META_WEBHOOK_SECRET: the thread-control webhook says the same', async () => {
    const { app } = appWith({ META_WEBHOOK_SECRET: '' });
    const { status, body } = await call(app, delivery(`${BASE}/api/crm/meta-handover-webhook`, 'sha256=00'));
    expect(status).toBe(401);
    expect(body.message).toBe('META_WEBHOOK_SECRET is not configured on this service: no delivery can be verified');
  });

  test("WEBHOOK_VERIFY_TOKEN: Meta's handshake is 403 saying it is not configured, and the refusal is logged", async () => {
    const { app, logs } = appWith({ WEBHOOK_VERIFY_TOKEN: '' });
    const { status, body } = await call(app, new Request(`${BASE}/webhook?hub.mode=subscribe&hub.verify_token=anything&hub.challenge=1`));
    expect(status).toBe(403);
    expect(body).toEqual({
      success: false,
      error: 'verification_failed',
      message: 'WEBHOOK_VERIFY_TOKEN is not configured on this service: the verification cannot succeed',
    });
    expect(logs).toMatchObject([{ event: 'webhook.verification_rejected', reason: 'not_configured' }]);
  });

  test('CRM_API_TOKEN and ADMIN_TOKEN: a Bearer call is 401 naming the setting that is not configured', async () => {
    const { app } = appWith({ CRM_API_TOKEN: '', ADMIN_TOKEN: '' });
    for (const [path, setting] of [
      ['/api/crm/handover-status/TK-2026-000001', 'CRM_API_TOKEN'],
      ['/api/admin/dead-letters', 'ADMIN_TOKEN'],
    ]) {
      const { status, body } = await call(app, new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${SECRETS.crmToken}` } }));
      expect(status).toBe(401);
      expect(body.message).toBe(`${setting} is not configured on this service: every request is refused until it is set`);
      revealsNoSecret(body);
    }
  });
});

describe('a secret that is set, and a caller who does not match it', () => {
  test('a wrong signature is 401 as before; the log says it does not match, from which client', async () => {
    const { app, logs } = appWith({});
    const { status, body } = await call(app, delivery(`${BASE}/webhook`, signBody('not-the-app-secret', 'x')));
    expect(status).toBe(401);
    expect(body.message).toBe('X-Hub-Signature-256 is missing or does not match the body');
    expect(logs).toMatchObject([{ event: 'webhook.signature_rejected', reason: 'mismatch', path: '/webhook', client: 'unknown' }]);
    expect(logs[0]!.msg).toContain('META_WEBHOOK_SECRET is not the app secret the sender signs with');
  });

  test('a missing signature is logged as missing; the rejections after it in the interval wait for the count', async () => {
    const { app, logs } = appWith({});
    for (let i = 0; i < 3; i++) expect((await call(app, delivery(`${BASE}/webhook`, null))).status).toBe(401);
    expect(logs).toMatchObject([{ event: 'webhook.signature_rejected', reason: 'missing', count: 1 }]);
  });

  test('a wrong verify token is 403 as before; the log says to type the same one in the app dashboard', async () => {
    const { app, logs } = appWith({});
    const { status } = await call(app, new Request(`${BASE}/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`));
    expect(status).toBe(403);
    expect(logs).toMatchObject([{ event: 'webhook.verification_rejected', reason: 'mismatch' }]);
    expect(logs[0]!.msg).toContain('the verify token typed in the app dashboard must be the same');
  });

  test('a wrong CRM token is 401 as before', async () => {
    const { app } = appWith({});
    const { status, body } = await call(app, new Request(`${BASE}/api/crm/handover-status/TK-2026-000001`, { headers: { authorization: 'Bearer nope' } }));
    expect(status).toBe(401);
    expect(body.message).toBe('Authorization: Bearer <CRM_API_TOKEN> is missing or wrong');
  });
});
