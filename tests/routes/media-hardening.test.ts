import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { messages } from '../../src/db/schema';
import { createLogger } from '../../src/logger';
import { json, startFake, startFakeGraph, type FakeServer } from '../support/fakes';
import { fileOf, serveMedia, type GraphMediaFile } from '../support/media';
import { bearer, freshPhone, routeContext, SECRETS, type RouteContext, type TestApp } from './support';

/**
 * The media route against a hostile or broken outside (issue 22): Graph's
 * answer naming another host, a redirect away, a download that trickles,
 * header-breaking types and names, ids that are not Meta's, a file whose
 * message is gone. Graph is a loopback fake; "elsewhere" is another loopback
 * server (another port: another origin) that must never hear from us.
 */
let context: RouteContext;
let dataDir: string;
let graph: FakeServer;
let elsewhere: FakeServer;
let app: TestApp;
const files = new Map<string, GraphMediaFile>();
const logLines: string[] = [];
/** What Graph's signed download urls carry in their query: never to be logged. */
const SIGNED_QUERY = 'hash=AbSiGnEdHaSh';

beforeAll(async () => {
  context = await routeContext('media_hardening');
  dataDir = await mkdtemp(join(tmpdir(), 'hb-media-hardening-'));
  graph = startFakeGraph();
  elsewhere = startFake(() => new Response('the token was sent here'));
  serveMedia(graph, files);
  app = context.app(
    {
      DATA_DIR: dataDir,
      WHATSAPP_API_URL: `${graph.url}/v21.0`,
      WHATSAPP_TOKEN: SECRETS.whatsappToken,
      HTTP_TIMEOUT_MS: '2000',
      MEDIA_DOWNLOAD_TIMEOUT_MS: '1000',
    },
    createLogger('debug', { write: (line: string) => void logLines.push(line) }),
  );
});
afterAll(async () => {
  await Promise.all([graph.stop(), elsewhere.stop()]);
  await context.close();
  await rm(dataDir, { recursive: true, force: true });
});

let mediaCounter = 0;
/** A media id no other test uses, carried by a user's message. */
async function sentMedia(media: { mimeType?: string; filename?: string } = {}, id = `22${process.pid}${String(++mediaCounter).padStart(4, '0')}`) {
  const phone = freshPhone();
  await context.database.db.insert(messages).values({
    conversationKey: phone,
    direction: 'inbound',
    author: 'user',
    type: 'document',
    media: { id, mimeType: 'application/pdf', ...media },
    waMessageId: `wamid.${phone}.${id}`,
    status: 'received',
    createdAt: new Date(),
  });
  return id;
}

const getMedia = async (mediaId: string) => {
  const response = await app.handle(new Request(`http://localhost/api/crm/media/${mediaId}`, { headers: bearer(SECRETS.crmToken) }));
  const type = response.headers.get('content-type') ?? '';
  return { response, body: type.startsWith('application/json') ? ((await response.json()) as Record<string, any>) : await response.arrayBuffer() };
};

/** Graph's metadata answer for `mediaId`, with a download url of the test's choosing. */
function graphAnswers(mediaId: string, url: string) {
  return graph.respond((request) =>
    request.path === `/v21.0/${mediaId}` ? json({ messaging_product: 'whatsapp', url, mime_type: 'application/pdf', id: mediaId }) : undefined,
  );
}
const downloadPath = (mediaId: string) => `/whatsapp_business/attachments/?mid=${mediaId}&ext=1&${SIGNED_QUERY}`;

describe('the WhatsApp token goes only to the allowed media hosts', () => {
  test('a download url on another host (another loopback port) is not fetched: 502 media_host_refused, nothing sent there', async () => {
    const mediaId = await sentMedia();
    graphAnswers(mediaId, `${elsewhere.url}${downloadPath(mediaId)}`);
    const { response, body } = await getMedia(mediaId);
    expect(response.status).toBe(502);
    expect(body).toMatchObject({ success: false, error: 'media_host_refused' });
    expect(elsewhere.requests).toHaveLength(0);
  });

  test('plain http to a Meta host is refused before any connection: https only', async () => {
    const mediaId = await sentMedia();
    graphAnswers(mediaId, `http://lookaside.fbsbx.com${downloadPath(mediaId)}`);
    const { response, body } = await getMedia(mediaId);
    expect(response.status).toBe(502);
    expect(body).toMatchObject({ error: 'media_host_refused' });
  });

  test('a redirect to another host is not followed: the token stays home', async () => {
    const mediaId = await sentMedia();
    graph.respond((request) =>
      request.path === '/whatsapp_business/attachments/' && request.query.get('mid') === mediaId
        ? new Response(null, { status: 302, headers: { location: `${elsewhere.url}/stolen?mid=${mediaId}` } })
        : undefined,
    );
    files.set(mediaId, fileOf(new Uint8Array([1, 2, 3]), 'application/pdf'));
    const { response, body } = await getMedia(mediaId);
    expect(response.status).toBe(502);
    expect(body).toMatchObject({ error: 'media_host_refused' });
    expect(elsewhere.requests).toHaveLength(0);
  });

  test('a redirect within the allowed host is followed', async () => {
    const mediaId = await sentMedia();
    const bytes = new Uint8Array([4, 5, 6, 7]);
    files.set(mediaId, fileOf(bytes, 'application/pdf'));
    graph.respond((request) =>
      request.path === '/moved' ? new Response(null, { status: 307, headers: { location: `/whatsapp_business/attachments/?mid=${mediaId}` } }) : undefined,
    );
    graphAnswers(mediaId, `${graph.url}/moved?${SIGNED_QUERY}`);
    const { response, body } = await getMedia(mediaId);
    expect(response.status).toBe(200);
    expect(new Uint8Array(body as ArrayBuffer)).toEqual(bytes);
  });

  test('what was logged names the refused host, never the token nor the signed query', async () => {
    const mediaId = await sentMedia();
    graphAnswers(mediaId, `${elsewhere.url}${downloadPath(mediaId)}`);
    expect((await getMedia(mediaId)).response.status).toBe(502);
    const refused = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'media.host_refused');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.map((line) => line.host)).toContain(new URL(elsewhere.url).host);
    const everything = logLines.join('\n');
    expect(everything).not.toContain(SECRETS.whatsappToken);
    expect(everything).not.toContain(SIGNED_QUERY);
  });
});

describe('a download has an overall deadline', () => {
  test('a body trickling a byte at a time past MEDIA_DOWNLOAD_TIMEOUT_MS is given up: 502 media_unavailable, nothing kept', async () => {
    const mediaId = await sentMedia();
    const size = 40;
    graph.respond((request) => {
      if (request.path !== '/whatsapp_business/attachments/' || request.query.get('mid') !== mediaId) return undefined;
      let sent = 0;
      // One byte every 250 ms: never idle for HTTP_TIMEOUT_MS (2 s), ten seconds in all.
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent === size) return controller.close();
          await Bun.sleep(250);
          controller.enqueue(new Uint8Array([sent++]));
        },
      });
      return new Response(body, { headers: { 'content-type': 'application/pdf' } });
    });
    graphAnswers(mediaId, `${graph.url}${downloadPath(mediaId)}`);
    const { response, body } = await getMedia(mediaId);
    expect(response.status).toBe(502);
    expect(body).toMatchObject({ error: 'media_unavailable' });
    expect((await readdir(join(dataDir, 'media')).catch(() => [])).filter((name) => name.endsWith('.part'))).toEqual([]);
  }, 30_000);
});

describe('what WhatsApp says of a file never makes it unservable', () => {
  test('a CR/LF in mime_type falls back to application/octet-stream, on the first answer and from the cache', async () => {
    const mediaId = await sentMedia({ mimeType: 'application/pdf\r\nX-Injected: 1' });
    const bytes = new Uint8Array([9, 8, 7]);
    files.set(mediaId, fileOf(bytes, 'application/pdf'));
    graph.respond((request) =>
      request.path === `/v21.0/${mediaId}`
        ? json({ url: `${graph.url}/whatsapp_business/attachments/?mid=${mediaId}`, mime_type: 'text/html\r\nSet-Cookie: a=b', id: mediaId })
        : undefined,
    );
    for (const round of ['fetched', 'cached']) {
      const { response, body } = await getMedia(mediaId);
      expect({ round, status: response.status }).toEqual({ round, status: 200 });
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      expect(response.headers.get('x-injected')).toBeNull();
      expect(new Uint8Array(body as ArrayBuffer)).toEqual(bytes);
    }
  });

  test('a file name with line breaks, quotes, path separators and control characters is served under a clean name', async () => {
    const mediaId = await sentMedia({ filename: '../..\\fac"tura\r\nX-Injected: 1\u0007\u001b (copia)*.pdf' });
    files.set(mediaId, fileOf(new Uint8Array([1]), 'application/pdf'));
    for (const round of ['fetched', 'cached']) {
      const { response } = await getMedia(mediaId);
      expect({ round, status: response.status }).toEqual({ round, status: 200 });
      const disposition = response.headers.get('content-disposition')!;
      expect(disposition).toStartWith('attachment; filename="');
      expect(disposition).not.toMatch(/[\r\n\0\u0007/\\]/);
      // RFC 5987's value: percent-encoded bytes and attr-chars only.
      expect(/filename\*=UTF-8''(.*)$/.exec(disposition)?.[1]).toMatch(/^(%[0-9A-F]{2}|[A-Za-z0-9!#$&+\-.^_`|~])+$/);
      expect(response.headers.get('x-injected')).toBeNull();
    }
  });
});

/** Sends a path as written, over a socket: a fetch would resolve the dot segments before they reach the service. */
function rawGet(base: string, path: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: hostname, port, path, headers: bearer(SECRETS.crmToken) }, (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    request.on('error', reject);
    request.end();
  });
}

describe("media ids are Meta's digits", () => {
  test('"." and ".." are refused with 400, and Graph is not asked for anything', async () => {
    await sentMedia({}, '.');
    await sentMedia({}, '..');
    const before = graph.requests.length;
    const server = app.listen();
    try {
      for (const mediaId of ['.', '..', '%2e%2e', '12a', '1_2', '-1']) {
        expect({ mediaId, status: await rawGet(server.url, `/api/crm/media/${mediaId}`) }).toEqual({ mediaId, status: 400 });
      }
    } finally {
      await server.stop();
    }
    expect(graph.requests.slice(before)).toEqual([]);
  });
});

describe("a cached file is served only while a user's message names it", () => {
  test('once the message is gone, its media is 404 and leaves DATA_DIR', async () => {
    const mediaId = await sentMedia();
    files.set(mediaId, fileOf(new Uint8Array([3, 1, 4, 1, 5]), 'application/pdf'));
    expect((await getMedia(mediaId)).response.status).toBe(200);
    const filesKept = async () => (await readdir(join(dataDir, 'media'))).length;
    const keptBefore = await filesKept();

    await context.database.db.delete(messages).where(sql`${messages.media}->>'id' = ${mediaId}`);
    const { response, body } = await getMedia(mediaId);
    expect(response.status).toBe(404);
    expect(body).toMatchObject({ error: 'media_not_found' });
    expect(await filesKept()).toBe(keptBefore - 2);
  });
});
