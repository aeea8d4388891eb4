import { afterAll, beforeAll, describe, expect, setDefaultTimeout, spyOn, test } from 'bun:test';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main as subscribersCli } from '../../src/cli/subscribers';
import { sendAs, sentToBsuid, type WhatsAppUser } from '../support/bsuid';
import { crmCall, eventually, outboxSettled, SECRETS, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';
import { fileOf, serveMedia, type GraphMediaFile } from '../support/media';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(60_000);

/**
 * A subscriber's rights (DESIGN 7, Ley 1581), through the whole service: a
 * subscriber known by phone, BSUID, username and document goes through a
 * ticket (a photo, an agent, a rating); an operator exports what is held
 * about them by each identifier, then erases it. Afterwards no table, media
 * file, Redis key or stream entry holds any of their ids, the KPIs count the
 * same, the CRM is told, and another subscriber is untouched.
 */
let stack: TestStack;
let dataDir: string;
const files = new Map<string, GraphMediaFile>();

const subscriber = {
  phone: `5732${String(process.pid % 10000).padStart(4, '0')}0001`,
  bsuid: `CO.8${process.pid}0001`,
  username: 'ana.gomez.erase',
  name: 'Ana',
};
const DOCUMENT = '2020202020';
const other = { phone: `5732${String(process.pid % 10000).padStart(4, '0')}0002` };
const MEDIA_ID = `77${process.pid}01`;
let ticketId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hb-subscriber-rights-'));
  stack = await startStack('subscriber_rights', { DATA_DIR: dataDir });
  serveMedia(stack.graph, files);
  files.set(MEDIA_ID, fileOf(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 'image/jpeg'));
  await walkThroughATicket(subscriber);
  await sendUser(stack, other.phone, text('Hola'));
  await eventually(() => sentTo(stack, other.phone).length >= 1, 'the other subscriber’s menu');
  await outboxSettled(stack);
});
afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Hola, soporte, the document; an agent takes the ticket; a photo (fetched by the CRM), a reply; handed back; rated 5. */
async function walkThroughATicket(user: WhatsAppUser): Promise<void> {
  const sent = () => sentToBsuid(stack, user.bsuid!).concat(sentTo(stack, user.phone!));
  await sendAs(stack, user, text('Hola'));
  await eventually(() => sent().length >= 1, 'menu');
  await sendAs(stack, user, text('soporte'));
  await eventually(() => sent().length >= 2, 'document question');
  await sendAs(stack, user, text(DOCUMENT));
  const request = await eventually(
    () => stack.crm.to('/api/bot/agent-request').find((r) => (r.body as { userPhone?: string }).userPhone === user.phone),
    'agent-request',
  );
  ticketId = (request.body as { ticketId: string }).ticketId;
  const naming = { ticketId, userPhone: user.phone!, agentId: 'agent_007', agentName: 'Carlos Ruiz' };
  expect((await crmCall(stack, 'POST', '/api/crm/handover', { ...naming, handoverType: 'bot_to_human' })).status).toBe(200);
  const photo = await sendAs(stack, user, { type: 'image', image: { id: MEDIA_ID, mime_type: 'image/jpeg', caption: 'mi router' } });
  const userMessage = await eventually(
    () => stack.crm.to('/api/bot/user-message').find((r) => (r.body as { waMessageId?: string }).waMessageId === photo),
    'the photo',
  );
  const mediaUrl = new URL((userMessage.body as { mediaUrl: string }).mediaUrl);
  expect((await fetch(`${stack.service.url}${mediaUrl.pathname}`, { headers: { authorization: `Bearer ${SECRETS.crmToken}` } })).status).toBe(200);
  expect((await crmCall(stack, 'POST', '/api/crm/send-message', { ...naming, message: 'Reinicie el router', messageType: 'text' })).status).toBe(200);
  expect((await crmCall(stack, 'POST', '/api/crm/handover', { ...naming, handoverType: 'human_to_bot' })).status).toBe(200);
  await eventually(async () => (await stack.sql`select survey_status from tickets where id = ${ticketId}`)[0]?.survey_status === 'offered', 'survey offered');
  await sendAs(stack, user, text('5'));
  await eventually(async () => (await stack.sql`select csat from tickets where id = ${ticketId}`)[0]?.csat === 5, 'rated');
}

const admin = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
  const response = await fetch(`${stack.service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${SECRETS.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

const NEEDLES = () => [subscriber.phone, subscriber.bsuid, subscriber.username, DOCUMENT];

/** Every table row, Redis key (name and value) and media file that holds one of `needles`, as `where: needle`. */
async function whereHeld(needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const { tablename } of await stack.sql`select tablename from pg_tables where schemaname = 'public'`) {
    for (const needle of needles) {
      const [row] = await stack.sql.unsafe(`select count(*)::int as n from "${tablename}" t where t::text like '%' || $1 || '%'`, [needle]);
      if (row!.n > 0) found.push(`table ${tablename}: ${needle}`);
    }
  }
  const redis = new Bun.RedisClient(stack.config.REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = (await redis.send('SCAN', [cursor, 'MATCH', `${stack.config.REDIS_KEY_PREFIX}*`, 'COUNT', '1000'])) as [string, string[]];
      for (const key of keys) {
        const type = (await redis.send('TYPE', [key])) as string;
        const dump = {
          string: ['GET', [key]],
          hash: ['HGETALL', [key]],
          stream: ['XRANGE', [key, '-', '+']],
          zset: ['ZRANGE', [key, '0', '-1']],
          set: ['SMEMBERS', [key]],
          list: ['LRANGE', [key, '0', '-1']],
        }[type] as [string, string[]] | undefined;
        const value = `${key} ${JSON.stringify(dump ? await redis.send(dump[0], dump[1]) : null)}`;
        for (const needle of needles) if (value.includes(needle)) found.push(`redis ${key}: ${needle}`);
      }
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.close();
  }
  for (const name of await readdir(join(dataDir, 'media')).catch(() => [] as string[])) {
    const content = await readFile(join(dataDir, 'media', name), 'latin1');
    for (const needle of needles) if (content.includes(needle) || name.includes(needle)) found.push(`media ${name}: ${needle}`);
  }
  return found;
}

const kpis = async () => [...(await stack.sql`select ticket_id, status, category, csat, wait_seconds, resolution_seconds from ticket_kpis order by ticket_id`)];

describe('a subscriber’s export', () => {
  test('by phone, BSUID, username or document: the same conversations, ticket with its events and survey, messages with their media', async () => {
    const exports = [];
    for (const query of [`phone=%2B${subscriber.phone}`, `userId=${subscriber.bsuid}`, `username=${subscriber.username}`, `document=${DOCUMENT}`]) {
      const { status, body } = await admin('GET', `/api/admin/subscribers?${query}`);
      expect({ query, status }).toEqual({ query, status: 200 });
      exports.push(body);
    }
    const [byPhone] = exports;
    expect(byPhone).toMatchObject({
      success: true,
      found: true,
      ids: { phones: [subscriber.phone], userIds: [subscriber.bsuid], usernames: [subscriber.username], conversationKeys: [subscriber.phone] },
      conversations: [{ conversationKey: subscriber.phone, userPhone: subscriber.phone, userId: subscriber.bsuid, username: subscriber.username }],
      tickets: [{ ticketId, status: 'closed', assignedAgent: { id: 'agent_007', name: 'Carlos Ruiz' } }],
      surveys: [{ ticketId, status: 'answered', csat: 5 }],
    });
    expect(byPhone!.tickets[0].events.map((event: { type: string }) => event.type)).toContain('agent_connected');
    const said = byPhone!.messages.map((message: { author: string; body: string | null }) => `${message.author}: ${message.body}`);
    // The document typed to authenticate is kept masked once the lookup has it; the directory finds them by it.
    expect(said).toEqual(expect.arrayContaining(['user: Hola', 'user: ********20', 'agent: Reinicie el router', 'user: 5']));
    const photo = byPhone!.messages.find((message: { type: string }) => message.type === 'image');
    expect(photo.media).toEqual([expect.objectContaining({ id: MEDIA_ID, mimeType: 'image/jpeg', caption: 'mi router' })]);
    for (const other of exports.slice(1)) expect({ ...other, exportedAt: undefined }).toEqual({ ...byPhone, exportedAt: undefined });
  });

  test('`bun run subscribers export` gives the same; a request without an identifier is refused with the usage', async () => {
    const env = Object.fromEntries(Object.entries(stack.config).map(([name, value]) => [name, String(value)]));
    const printed: string[] = [];
    const log = spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    const error = spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await subscribersCli(['export', '--username', subscriber.username], env)).toBe(0);
      expect(await subscribersCli(['export'], env)).toBe(2);
      expect(String(error.mock.calls[0]![0])).toContain('name the subscriber by phone, userId (BSUID), username or document');
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
    const exported = JSON.parse(printed[0]!);
    expect(exported).toMatchObject({ found: true, ids: { phones: [subscriber.phone] }, tickets: [{ ticketId }] });
  });

  test('someone nobody knows: found false, nothing listed; a malformed phone or no identifier is 400', async () => {
    expect((await admin('GET', '/api/admin/subscribers?phone=573999999999')).body).toMatchObject({
      success: true,
      found: false,
      conversations: [],
      messages: [],
    });
    expect((await admin('GET', '/api/admin/subscribers?phone=call-me')).body).toMatchObject({ success: false, error: 'invalid_phone' });
    expect((await admin('GET', '/api/admin/subscribers')).body).toMatchObject({ success: false, error: 'missing_identifier' });
    expect((await admin('POST', '/api/admin/subscribers/erase', { name: 'Ana' })).status).toBe(400);
  });
});

describe('a subscriber’s erasure', () => {
  test('leaves none of their ids in any table, media file, Redis key or stream entry; the KPIs count the same; the CRM is told', async () => {
    const mediaFiles = await readdir(join(dataDir, 'media'));
    expect(mediaFiles.length).toBeGreaterThan(0);
    expect(await whereHeld(NEEDLES())).not.toEqual([]);
    const kpisBefore = await kpis();

    const { status, body } = await admin('POST', '/api/admin/subscribers/erase', { phone: subscriber.phone });

    expect(status).toBe(200);
    expect(body).toMatchObject({ success: true, found: true, crmNotifiedOf: [ticketId], erased: { conversations: 1, tickets: 1, mediaFiles: 1 } });
    expect(body.erased.messages).toBeGreaterThan(5);
    expect(body.erased.streamEntries).toBeGreaterThan(0);
    expect(await whereHeld(NEEDLES())).toEqual([]);
    expect(await kpis()).toEqual(kpisBefore);
    const notice = await eventually(() => stack.crm.to('/api/bot/subscriber-erased')[0], 'the CRM told of the erasure');
    expect(notice.body).toEqual({ erasureId: String(body.requestId), ticketIds: [ticketId], timestamp: expect.any(String) });
    expect(notice.headers.get('x-bot-signature')).toStartWith('sha256=');
    expect(notice.headers.get('idempotency-key')).toBe(`erasure:${body.requestId}#0`);
  });

  test('each request is recorded (who, when, by which identifier, counts) without the data; the other subscriber is untouched', async () => {
    const records = await stack.sql`select kind, requested_by, identifiers, outcome from privacy_requests order by id`;
    expect(records.map((row) => row.kind)).toContain('erase');
    const erase = records.find((row) => row.kind === 'erase')!;
    expect(erase).toMatchObject({
      requested_by: expect.stringMatching(/^admin-api /),
      identifiers: ['phone'],
      outcome: { found: true, tickets: 1, mediaFiles: 1 },
    });
    const cli = records.find((row) => String(row.requested_by).startsWith('cli '));
    expect(cli).toMatchObject({ kind: 'export', identifiers: ['username'] });
    expect((await admin('GET', `/api/admin/subscribers?phone=${other.phone}`)).body).toMatchObject({
      found: true,
      messages: expect.arrayContaining([expect.objectContaining({ body: 'Hola' })]),
    });
  });

  test('asked again, nothing is left to erase, and that is recorded too', async () => {
    const { body } = await admin('POST', '/api/admin/subscribers/erase', { userId: subscriber.bsuid, username: subscriber.username });
    expect(body).toMatchObject({ success: true, found: false, crmNotifiedOf: [], erased: { conversations: 0, messages: 0 } });
  });
});
