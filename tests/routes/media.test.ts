import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messages } from '../../src/db/schema';
import { bearer, call, freshPhone, jsonRequest, routeContext, SECRETS, type RouteContext } from './support';

let context: RouteContext;
let dataDir: string;
beforeAll(async () => {
  context = await routeContext('media');
  dataDir = await mkdtemp(join(tmpdir(), 'hb-media-route-'));
});
afterAll(async () => {
  await context.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Graph is pointed at a closed port: any attempt to reach it shows as a 502, never as a 404. */
const app = () => context.app({ DATA_DIR: dataDir, WHATSAPP_API_URL: 'http://127.0.0.1:9/v21.0', WHATSAPP_TOKEN: 'graph-token', HTTP_TIMEOUT_MS: '500' });
const get = (path: string, token: string | null = SECRETS.crmToken) => call(app(), jsonRequest('GET', path, undefined, token === null ? {} : bearer(token)));

describe('GET /api/crm/media/:mediaId', () => {
  test('without the CRM token: 401, whatever the id', async () => {
    expect((await get('/api/crm/media/123', null)).status).toBe(401);
    expect((await get('/api/crm/media/123', 'wrong')).status).toBe(401);
  });

  test('an id no user message carried: 404 media_not_found, WhatsApp not asked', async () => {
    expect(await get('/api/crm/media/987654321')).toMatchObject({ status: 404, body: { success: false, error: 'media_not_found' } });
  });

  test('an id that is not a media id: 400 naming the field', async () => {
    const response = await get('/api/crm/media/a%20b');
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toContain('mediaId');
  });

  test('a media a user sent while WhatsApp is unreachable: 502 media_unavailable, worth a retry', async () => {
    const phone = freshPhone();
    await context.database.db.insert(messages).values({
      conversationKey: phone,
      direction: 'inbound',
      author: 'user',
      type: 'image',
      media: { id: '555001', mimeType: 'image/jpeg' },
      waMessageId: `wamid.${phone}`,
      status: 'received',
      createdAt: new Date(),
    });
    expect(await get('/api/crm/media/555001')).toMatchObject({ status: 502, body: { error: 'media_unavailable' } });
  });
});
