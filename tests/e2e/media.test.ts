import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activeTicketFor, crmCall, eventually, SECRETS, sendUser, startStack, text, type TestStack } from '../support/harness';
import { fileOf, largeFile, serveMedia, sha256Hex, type GraphMediaFile } from '../support/media';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * What the subscriber sends besides text, seen by the agent: media through
 * the service's own URL (fetched once from Graph with the service's token),
 * replies, reactions, locations and contact cards as data; and an agent's
 * answer to one specific message. Each test has its own user and media ids.
 */
const ACTIVE_SUBSCRIBER = '2020202020';
const TIMEOUT_MS = 30_000;
const MB = 1024 * 1024;

let stack: TestStack;
let dataDir: string;
const files = new Map<string, GraphMediaFile>();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hb-media-e2e-'));
  stack = await startStack('media', { DATA_DIR: dataDir });
  serveMedia(stack.graph, files);
});
afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const bytes = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (i * seed + 7) & 0xff);

/** The user-message the CRM got for a wamid. */
const userMessage = (waMessageId: string) =>
  eventually(
    () =>
      stack.crm.to('/api/bot/user-message').find((request) => (request.body as { waMessageId?: string }).waMessageId === waMessageId)?.body as Record<
        string,
        any
      >,
    `user-message ${waMessageId}`,
  );

/** The CRM fetching a mediaUrl (the path on this service under test), with its token or another. */
const fetchMedia = (mediaUrl: string, token: string | null = SECRETS.crmToken) =>
  fetch(`${stack.service.url}${new URL(mediaUrl).pathname}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });

const metadataRequests = (mediaId: string) => stack.graph.requests.filter((request) => request.method === 'GET' && request.path.endsWith(`/${mediaId}`));

describe.concurrent('media the user sends', () => {
  test(
    "a photo, a voice note and a PDF reach the CRM with a mediaUrl that gives the CRM's token the same bytes and type",
    async () => {
      const phone = '573000001401';
      await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      const photo = bytes(40_000, 3);
      const voice = bytes(12_000, 5);
      const pdf = bytes(90_000, 11);
      files.set('140101', fileOf(photo, 'image/jpeg'));
      files.set('140102', fileOf(voice, 'audio/ogg; codecs=opus'));
      files.set('140103', fileOf(pdf, 'application/pdf'));

      const photoId = await sendUser(stack, phone, {
        type: 'image',
        image: { id: '140101', mime_type: 'image/jpeg', sha256: sha256Hex(photo), caption: 'las luces del router' },
      });
      const voiceId = await sendUser(stack, phone, {
        type: 'audio',
        audio: { id: '140102', mime_type: 'audio/ogg; codecs=opus', sha256: sha256Hex(voice), voice: true },
      });
      const pdfId = await sendUser(stack, phone, {
        type: 'document',
        document: { id: '140103', mime_type: 'application/pdf', sha256: sha256Hex(pdf), filename: 'factura de noviembre.pdf' },
      });

      const cases = [
        { waMessageId: photoId, mediaId: '140101', content: photo, mimeType: 'image/jpeg', disposition: 'inline; filename="140101"' },
        { waMessageId: voiceId, mediaId: '140102', content: voice, mimeType: 'audio/ogg; codecs=opus', disposition: 'inline; filename="140102"' },
        { waMessageId: pdfId, mediaId: '140103', content: pdf, mimeType: 'application/pdf', disposition: 'attachment; filename="factura de noviembre.pdf"' },
      ];
      for (const { waMessageId, mediaId, content, mimeType, disposition } of cases) {
        const body = await userMessage(waMessageId);
        expect(body).toMatchObject({ mediaId, mimeType, sha256: sha256Hex(content) });
        expect(body.mediaUrl).toEndWith(`/api/crm/media/${mediaId}`);

        expect((await fetchMedia(body.mediaUrl, null)).status).toBe(401);
        expect((await fetchMedia(body.mediaUrl, 'not-the-token')).status).toBe(401);
        const response = await fetchMedia(body.mediaUrl);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe(mimeType);
        expect(response.headers.get('content-length')).toBe(String(content.byteLength));
        expect(response.headers.get('content-disposition')).toStartWith(disposition);
        expect(new Uint8Array(await response.arrayBuffer())).toEqual(content);
      }
      expect((await userMessage(photoId)).caption).toBe('las luces del router');
      expect((await userMessage(pdfId)).fileName).toBe('factura de noviembre.pdf');
    },
    TIMEOUT_MS,
  );

  test(
    'a media fetched once is served again from the service, without asking WhatsApp, even after WhatsApp forgot it',
    async () => {
      const phone = '573000001402';
      await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      const photo = bytes(5000, 13);
      files.set('140201', fileOf(photo, 'image/png'));
      const waMessageId = await sendUser(stack, phone, { type: 'image', image: { id: '140201', mime_type: 'image/png', sha256: sha256Hex(photo) } });
      const { mediaUrl } = await userMessage(waMessageId);
      expect((await fetchMedia(mediaUrl)).status).toBe(200);
      files.delete('140201');

      const again = await fetchMedia(mediaUrl);
      expect(again.status).toBe(200);
      expect(new Uint8Array(await again.arrayBuffer())).toEqual(photo);
      expect(metadataRequests('140201')).toHaveLength(1);
    },
    TIMEOUT_MS,
  );

  test(
    'a media WhatsApp no longer has gives the CRM a clear 410',
    async () => {
      const phone = '573000001403';
      await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      const waMessageId = await sendUser(stack, phone, { type: 'image', image: { id: '140301', mime_type: 'image/jpeg', sha256: 'ab'.repeat(32) } });
      const { mediaUrl } = await userMessage(waMessageId);

      const response = await fetchMedia(mediaUrl);
      expect(response.status).toBe(410);
      expect(await response.json()).toMatchObject({ success: false, error: 'media_expired' });
    },
    TIMEOUT_MS,
  );

  test(
    'a media id no user sent is 404, and WhatsApp is never asked for it: the route is no proxy to Graph',
    async () => {
      files.set('140401', fileOf(bytes(100, 17), 'image/jpeg'));
      const response = await fetchMedia(`http://localhost/api/crm/media/140401`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ success: false, error: 'media_not_found' });
      expect((await fetchMedia('http://localhost/api/crm/media/..%2F..%2Fetc')).status).toBe(400);
      expect(metadataRequests('140401')).toHaveLength(0);
    },
    TIMEOUT_MS,
  );

  test(
    'a file whose bytes are not the ones WhatsApp announced is refused, not served',
    async () => {
      const phone = '573000001405';
      await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      files.set('140501', { ...fileOf(bytes(3000, 19), 'image/jpeg'), sha256: sha256Hex(bytes(3000, 23)) });
      const waMessageId = await sendUser(stack, phone, { type: 'image', image: { id: '140501', mime_type: 'image/jpeg' } });
      const response = await fetchMedia((await userMessage(waMessageId)).mediaUrl);
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ error: 'media_checksum_mismatch' });
    },
    TIMEOUT_MS,
  );

  test(
    "an image past WhatsApp's 5 MB for images is refused, not stored",
    async () => {
      const phone = '573000001406';
      await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      files.set('140601', largeFile(6 * MB, 'image/jpeg').file);
      const waMessageId = await sendUser(stack, phone, { type: 'image', image: { id: '140601', mime_type: 'image/jpeg' } });
      const response = await fetchMedia((await userMessage(waMessageId)).mediaUrl);
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ error: 'media_too_large' });
    },
    TIMEOUT_MS,
  );

  test(
    'a 20 MB PDF is written to disk as it arrives (never held whole) and reaches the CRM whole',
    async () => {
      const phone = '573000001407';
      await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      const size = 20 * MB;
      // WhatsApp's side stops halfway until told to go on: what the service holds by then is on disk.
      const { file, resume } = largeFile(size, 'application/pdf', 10 * MB);
      files.set('140701', file);
      const waMessageId = await sendUser(stack, phone, { type: 'document', document: { id: '140701', mime_type: 'application/pdf', filename: 'planos.pdf' } });
      const { mediaUrl } = await userMessage(waMessageId);

      const pending = fetchMedia(mediaUrl);
      const partial = await eventually(async () => {
        const parts = (await readdir(join(dataDir, 'media'))).filter((name) => name.endsWith('.part'));
        const sizes = await Promise.all(parts.map(async (name) => (await stat(join(dataDir, 'media', name))).size));
        return sizes.find((written) => written >= 10 * MB);
      }, 'the first half on disk');
      expect(partial).toBe(10 * MB);
      resume();

      const response = await pending;
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(size));
      const hash = createHash('sha256');
      let received = 0;
      for await (const chunk of response.body!) {
        hash.update(chunk);
        received += chunk.byteLength;
      }
      expect(received).toBe(size);
      expect(hash.digest('hex')).toBe(file.sha256!);
    },
    TIMEOUT_MS,
  );
});

describe.concurrent('replies, reactions, locations and contact cards', () => {
  test(
    "a reply to the agent's message names it by the Idempotency-Key the CRM sent it with; a reaction is a reaction to it",
    async () => {
      const phone = '573000001411';
      const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      const sent = await crmCall(
        stack,
        'POST',
        '/api/crm/send-message',
        { ticketId, userPhone: phone, agentId: 'agent_007', message: '¿Ya reiniciaste el router?', messageType: 'text' },
        { 'idempotency-key': 'crm-msg-1411' },
      );
      expect(sent.status).toBe(200);
      const agentWamid = await eventually(async () => {
        const [row] = await stack.sql`select wa_message_id from messages where crm_key = 'crm-msg-1411'`;
        return (row?.wa_message_id as string | null) ?? undefined;
      }, "the agent's message sent");

      const replyId = await sendUser(stack, phone, { ...text('Sí, y sigue igual'), context: { from: '573009999999', id: agentWamid } });
      expect(await userMessage(replyId)).toMatchObject({ message: 'Sí, y sigue igual', replyTo: 'crm-msg-1411', replyToWaMessageId: agentWamid });

      const reactionId = await sendUser(stack, phone, { type: 'reaction', reaction: { message_id: agentWamid, emoji: '👍' } });
      expect(await userMessage(reactionId)).toMatchObject({
        messageType: 'reaction',
        reaction: { messageId: 'crm-msg-1411', waMessageId: agentWamid, emoji: '👍' },
      });
    },
    TIMEOUT_MS,
  );

  test(
    'a location and a contact card reach the CRM as data, and the history keeps them',
    async () => {
      const phone = '573000001412';
      const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      const locationId = await sendUser(stack, phone, {
        type: 'location',
        location: { latitude: 4.711, longitude: -74.0721, name: 'Casa', address: 'Cra 7 # 12-34, Bogotá' },
      });
      const contactsId = await sendUser(stack, phone, {
        type: 'contacts',
        contacts: [
          { name: { formatted_name: 'Pedro Ruiz', first_name: 'Pedro' }, phones: [{ phone: '+57 300 111 2233', wa_id: '573001112233', type: 'CELL' }] },
        ],
      });

      const location = { latitude: 4.711, longitude: -74.0721, name: 'Casa', address: 'Cra 7 # 12-34, Bogotá' };
      expect(await userMessage(locationId)).toMatchObject({ messageType: 'location', location });
      expect(await userMessage(contactsId)).toMatchObject({
        messageType: 'contacts',
        contacts: [{ name: 'Pedro Ruiz', phones: [{ phone: '+57 300 111 2233', waId: '573001112233', type: 'CELL' }] }],
      });
      const [stored] = await stack.sql`select type, details from messages where wa_message_id = ${locationId}`;
      expect(stored).toMatchObject({ type: 'location', details: { location } });
      const status = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
      expect(status.body).toMatchObject({ lastUserMessageType: 'contacts', lastUserMessageText: '[contacts] Pedro Ruiz' });
      expect(status.body.lastUserMessage).toMatch(/^\d{4}-\d\d-\d\dT/);
    },
    TIMEOUT_MS,
  );
});

describe.concurrent("the agent's side", () => {
  test(
    "an agent's answer to a specific user message goes out quoting it (context.message_id)",
    async () => {
      const phone = '573000001421';
      const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      const question = await sendUser(stack, phone, text('¿Cuánto debo?'));
      await userMessage(question);

      const answer = { ticketId, userPhone: phone, agentId: 'agent_007', message: 'Debes $50.000', messageType: 'text', replyTo: question };
      expect((await crmCall(stack, 'POST', '/api/crm/send-message', answer)).status).toBe(200);
      const sent = await eventually(
        () => stack.graph.requests.find((request) => (request.body as Record<string, any>)?.text?.body === 'Debes $50.000')?.body as Record<string, any>,
        'the answer sent',
      );
      expect(sent).toMatchObject({ to: phone, type: 'text', context: { message_id: question } });
    },
    TIMEOUT_MS,
  );

  test(
    'a replyTo that names no message of the user is refused with 400',
    async () => {
      const phone = '573000001422';
      const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      const answer = { ticketId, userPhone: phone, message: 'Hola', messageType: 'text', replyTo: 'wamid.of.someone.else' };
      const response = await crmCall(stack, 'POST', '/api/crm/send-message', answer);
      expect(response).toMatchObject({ status: 400, body: { error: 'unknown_reply_target' } });
    },
    TIMEOUT_MS,
  );

  test(
    "an agent's voice note and video go out as WhatsApp audio and video",
    async () => {
      const phone = '573000001423';
      const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
      for (const [messageType, link] of [
        ['audio', 'https://files.example/instrucciones.ogg'],
        ['video', 'https://files.example/como-reiniciar.mp4'],
      ] as const) {
        const response = await crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, message: link, messageType, caption: 'mira' });
        expect(response.status).toBe(200);
        const sent = await eventually(
          () => stack.graph.requests.find((request) => (request.body as Record<string, any>)?.[messageType]?.link === link)?.body as Record<string, any>,
          `the ${messageType} sent`,
        );
        expect(sent).toMatchObject({ to: phone, type: messageType });
      }
    },
    TIMEOUT_MS,
  );
});
