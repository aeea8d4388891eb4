import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { signBody } from '../../src/lib/security';
import { metaJson, text, userMessagePayload } from '../support/harness';
import { freshPhone, routeContext, SECRETS, type RouteContext, type TestApp } from './support';

let context: RouteContext;
let app: TestApp;
let server: { url: string; stop(): Promise<void> };
beforeAll(async () => {
  context = await routeContext('meta_fast_path');
  app = context.app({ MAX_BODY_BYTES: '4096' });
  server = app.listen();
});
afterAll(async () => {
  await server.stop();
  await context.close();
});

const post = (body: string, signature: string | null = signBody(SECRETS.metaSecret, body)) =>
  fetch(`${server.url}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-hub-signature-256': signature }) },
    body,
  });

describe('POST /webhook served by Bun’s router, outside the Elysia hooks, answers as the Elysia route does', () => {
  test("a signed user message is 200 and queued under the user's phone", async () => {
    const phone = freshPhone();
    const { id, payload } = userMessagePayload(phone, text('Hola'));
    const response = await post(metaJson(payload));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, accepted: 1, ignored: 0 });
    const queued = (await app.entries()).filter((entry) => entry.key === phone);
    expect(queued.map((entry) => entry.type === 'user.message' && entry.data.waMessageId)).toEqual([id]);
  });

  test('a wrong or missing signature is the JSON 401, and nothing is queued', async () => {
    const phone = freshPhone();
    const body = metaJson(userMessagePayload(phone, text('Hola')).payload);
    for (const signature of ['sha256=' + '0'.repeat(64), null]) {
      const response = await post(body, signature);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ success: false, error: 'unauthorized' });
    }
    expect((await app.entries()).filter((entry) => entry.key === phone)).toEqual([]);
  });

  test('a body over MAX_BODY_BYTES is the JSON 413; signed bytes that are not JSON are the JSON 400', async () => {
    const large = await post(`{"padding":"${'x'.repeat(5000)}"}`);
    expect(large.status).toBe(413);
    expect(await large.json()).toMatchObject({ success: false });
    const broken = await post('{"object":');
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ success: false, error: 'invalid_json' });
  });

  test('the verification handshake on the same path is still the Elysia route', async () => {
    const response = await fetch(`${server.url}/webhook?hub.mode=subscribe&hub.verify_token=${SECRETS.verifyToken}&hub.challenge=77`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('77');
  });
});
