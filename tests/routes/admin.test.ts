import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { pipelineEvent } from '../../src/domain/events';
import { deadLetterFields, encodeEvent, streamKeys } from '../../src/streams/codec';
import { ADMIN_TOKEN, bearer, call, freshPhone, jsonRequest, routeContext, type RouteContext, type TestApp } from './support';

let context: RouteContext;
beforeAll(async () => {
  context = await routeContext('admin');
});
afterAll(() => context.close());

/** An event that failed its deliveries, as the worker leaves it in the dead-letter stream. */
async function deadLetter(app: TestApp, phone: string): Promise<string> {
  const event = pipelineEvent('user.message', phone, `wa:msg:wamid.${phone}`, {
    user: { phone },
    waMessageId: `wamid.${phone}`,
    timestamp: new Date().toISOString(),
    type: 'text',
    text: 'bloqueado',
  });
  const info = { stream: 'events:0', entry: '1-0', error: 'check constraint', failedAt: new Date().toISOString(), deliveries: 3 };
  return (await context.redis.xadd(streamKeys(app.config.REDIS_KEY_PREFIX).deadLetter, '*', ...deadLetterFields(info), ...encodeEvent(event)))!;
}

const admin = (app: TestApp, method: string, path: string, body?: unknown, token = ADMIN_TOKEN) => call(app, jsonRequest(method, path, body, bearer(token)));

describe('GET /api/admin/dead-letters', () => {
  test('lists the failed events oldest first with their error, the phone masked, page by page', async () => {
    const app = context.app();
    const [first, second] = [await deadLetter(app, '573001112233'), await deadLetter(app, freshPhone())];
    const page = await admin(app, 'GET', '/api/admin/dead-letters?count=1');
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({
      total: 2,
      next: first,
      entries: [{ id: first, deliveries: 3, error: 'check constraint', event: { type: 'user.message', key: '57300*****33' } }],
    });
    const rest = await admin(app, 'GET', `/api/admin/dead-letters?after=${first}`);
    expect(rest.body).toMatchObject({ total: 2, next: null, entries: [{ id: second }] });
  });

  test('a count out of range or a malformed cursor is 400 naming it', async () => {
    const app = context.app();
    const count = await admin(app, 'GET', '/api/admin/dead-letters?count=0');
    expect(count).toMatchObject({ status: 400, body: { success: false, error: 'invalid_request' } });
    expect(count.body.message).toContain('count');
    const after = await admin(app, 'GET', '/api/admin/dead-letters?after=yesterday');
    expect(after.status).toBe(400);
    expect(after.body.message).toContain('after');
  });

  test('a cursor past what Redis holds in an id (2^64) is 400, not a Redis error; the largest one it holds is a page', async () => {
    const app = context.app();
    for (const after of ['99999999999999999999-0', '0-99999999999999999999', '18446744073709551615-18446744073709551615']) {
      const { status, body } = await admin(app, 'GET', `/api/admin/dead-letters?after=${after}`);
      expect({ after, status }).toEqual({ after, status: 400 });
      expect(body.message).toContain('after must be a stream entry id');
    }
    expect((await admin(app, 'GET', '/api/admin/dead-letters?after=9999999999999999999-9999999999999999999')).status).toBe(200);
    const redrive = await admin(app, 'POST', '/api/admin/dead-letters/redrive', { ids: ['1-99999999999999999999'] });
    expect(redrive.status).toBe(400);
  });
});

describe('POST /api/admin/dead-letters/redrive', () => {
  test('puts the named entries back on their partition and reports the unknown ones', async () => {
    const app = context.app();
    const phone = freshPhone();
    const id = await deadLetter(app, phone);
    const { status, body } = await admin(app, 'POST', '/api/admin/dead-letters/redrive', { ids: [id, '1-1'] });
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, redriven: [id], missing: ['1-1'] });
    expect(await app.entries()).toMatchObject([{ type: 'user.message', key: phone }]);
    expect(await app.deadLetters.count()).toBe(0);
  });

  test('all of them at once', async () => {
    const app = context.app();
    await deadLetter(app, freshPhone());
    await deadLetter(app, freshPhone());
    const { body } = await admin(app, 'POST', '/api/admin/dead-letters/redrive', { all: true });
    expect(body.redriven).toHaveLength(2);
    expect(await app.entries()).toHaveLength(2);
  });

  test('malformed ids, an empty list or an unknown shape is 400 and re-drives nothing', async () => {
    const app = context.app();
    await deadLetter(app, freshPhone());
    for (const body of [{ ids: ['not-an-id'] }, { ids: [] }, {}, { all: false }]) {
      expect((await admin(app, 'POST', '/api/admin/dead-letters/redrive', body)).status).toBe(400);
    }
    expect((await admin(app, 'POST', '/api/admin/dead-letters/redrive', '{')).body.error).toBe('invalid_json');
    expect(await app.deadLetters.count()).toBe(1);
  });
});

describe('authentication and rate limit', () => {
  test('no token, a wrong one, BearerX or a query-string token is 401; an unset ADMIN_TOKEN refuses everyone', async () => {
    const app = context.app();
    for (const headers of [{}, bearer('wrong'), { authorization: `BearerX${ADMIN_TOKEN}` }]) {
      const { status, body } = await call(app, jsonRequest('GET', '/api/admin/dead-letters', undefined, headers));
      expect(status).toBe(401);
      expect(body).toMatchObject({ success: false, error: 'unauthorized' });
      expect(body.message).toContain('ADMIN_TOKEN');
    }
    expect((await call(app, jsonRequest('GET', `/api/admin/dead-letters?access_token=${ADMIN_TOKEN}`))).status).toBe(401);
    const unset = context.app({ ADMIN_TOKEN: '' });
    expect((await call(unset, jsonRequest('POST', '/api/admin/dead-letters/redrive', { all: true }, { authorization: 'Bearer ' }))).status).toBe(401);
  });

  test('an operator over ADMIN_RATE_LIMIT_PER_MINUTE gets 429; wrong tokens spend a budget of their own', async () => {
    const app = context.app({ ADMIN_RATE_LIMIT_PER_MINUTE: '2' });
    const guesses = [];
    for (let n = 0; n < 3; n++) guesses.push((await admin(app, 'GET', '/api/admin/dead-letters', undefined, `guess-${n}`)).status);
    expect(guesses).toEqual([401, 401, 429]);
    const operator = [];
    for (let n = 0; n < 3; n++) operator.push((await admin(app, 'GET', '/api/admin/dead-letters')).status);
    expect(operator).toEqual([200, 200, 429]);
  });
});
