import { signBody, tokenMatches, verifySignature } from '../lib/security';
import { metaJson, statusWebhook, type DeliveryStatus } from './meta-payloads';
import { DEMO_PHOTO } from './photo';
import { describeTicketUpdate, type TicketUpdate } from './ticket-updates';
import type { PhoneMessage, World } from './world';

export interface StandInOptions {
  world: World;
  whatsappToken: string;
  phoneNumberId: string;
  botApiToken: string;
  botSigningSecret: string;
  metaWebhookSecret: string;
  /** Where the service listens; known once it has started, before any send can arrive. */
  serviceUrl: () => string;
  /** The stand-in agent the CRM tentatively picks in its agent-request answer. */
  agent: { id: string; name: string };
}

const json = (body: unknown, status = 200) => Response.json(body, { status });
/** The receipts Meta sends for a message the subscriber's phone received and opened: the service records them as it would real ones. */
const RECEIPTS: [DeliveryStatus, number][] = [
  ['sent', 150],
  ['delivered', 600],
  ['read', 1500],
];

type Interactive = {
  type: string;
  body?: { text?: string };
  action?: { button?: string; buttons?: { reply: { id: string; title: string } }[]; sections?: { rows: { id: string; title: string }[] }[] };
};

/** A Cloud API send as the phone shows it, and what identifies an agent's message in it (its text or its link). */
function phoneMessageOf(id: string, body: Record<string, any>): { message: Omit<PhoneMessage, 'from' | 'at' | 'status'>; match: string } {
  switch (body.type) {
    case 'text':
      return { message: { id, kind: 'text', text: body.text.body }, match: body.text.body };
    case 'image':
    case 'document': {
      const media = body[body.type] as { link?: string; id?: string; caption?: string; filename?: string };
      return { message: { id, kind: body.type, text: media.caption ?? '', filename: media.filename }, match: media.link ?? media.id ?? '' };
    }
    case 'interactive': {
      const interactive = body.interactive as Interactive;
      const text = interactive.body?.text ?? '';
      if (interactive.type === 'list') {
        const rows = (interactive.action?.sections ?? []).flatMap((section) => section.rows);
        return { message: { id, kind: 'list', text, list: { button: interactive.action?.button ?? '', rows } }, match: text };
      }
      return { message: { id, kind: 'buttons', text, buttons: (interactive.action?.buttons ?? []).map((button) => button.reply) }, match: text };
    }
    default: {
      const parameter = body.template?.components?.[0]?.parameters?.[0]?.text ?? '';
      return { message: { id, kind: 'template', text: parameter }, match: parameter };
    }
  }
}

/**
 * The Graph API and the CRM as one loopback server, so the service runs its
 * real outbox against them: Graph records each send, answers with a wamid
 * and sends the delivery receipts back as signed webhooks, takes read marks
 * and typing indicators (the phone shows both), and serves the photos the
 * phone sent; the CRM checks the bot's token and signature and shows what it
 * was told to the agent's console.
 */
export function startStandIns(options: StandInOptions) {
  const { world } = options;
  let wamids = 0;

  async function sendReceipts(waMessageId: string, recipient: string) {
    for (const [status, afterMs] of RECEIPTS) {
      await Bun.sleep(afterMs);
      const body = metaJson(statusWebhook(options.phoneNumberId, waMessageId, recipient, status));
      await fetch(`${options.serviceUrl()}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(options.metaWebhookSecret, body) },
        body,
      }).catch(() => null);
    }
  }

  const authorized = (request: Request) => tokenMatches(options.whatsappToken, request.headers.get('authorization')?.replace(/^Bearer /, ''));
  const invalidToken = () => json({ error: { message: 'Invalid OAuth access token', code: 190 } }, 401);

  /** Graph's media: the metadata of a picture the phone sent (`GET /{media-id}`), then its bytes at the url given there. */
  function media(request: Request, path: string): Response {
    if (!authorized(request)) return invalidToken();
    const download = /^\/graph\/media\/(\d+)$/.exec(path)?.[1];
    if (download) return new Response(DEMO_PHOTO.bytes, { headers: { 'content-type': DEMO_PHOTO.mimeType } });
    const mediaId = /^\/graph\/v[\d.]+\/(\d+)$/.exec(path)?.[1];
    if (!mediaId) return json({ error: { message: 'Unsupported get request', code: 100 } }, 400);
    return json({
      messaging_product: 'whatsapp',
      id: mediaId,
      url: `${new URL(request.url).origin}/graph/media/${mediaId}`,
      mime_type: DEMO_PHOTO.mimeType,
      sha256: DEMO_PHOTO.sha256,
      file_size: DEMO_PHOTO.bytes.length,
    });
  }

  async function graph(request: Request): Promise<Response> {
    if (!authorized(request)) return invalidToken();
    const body = (await request.json()) as Record<string, any>;
    if (body.status === 'read') {
      // A read mark; with `typing_indicator`, WhatsApp's "typing…" too (the Cloud API sends both in one call).
      world.readUpTo(String(body.message_id));
      if (body.typing_indicator?.type === 'text') world.typingShown(String(body.message_id));
      return json({ success: true });
    }
    const phone = String(body.to ?? body.recipient);
    const waMessageId = `wamid.demo.${Date.now()}.${++wamids}`;
    const { message, match } = phoneMessageOf(waMessageId, body);
    world.serviceSent(phone, message, match);
    void sendReceipts(waMessageId, phone);
    return json({ messaging_product: 'whatsapp', contacts: [{ input: phone, wa_id: phone }], messages: [{ id: waMessageId }] });
  }

  async function crm(call: string, request: Request): Promise<Response> {
    const raw = new Uint8Array(await request.arrayBuffer());
    const authorized = tokenMatches(options.botApiToken, request.headers.get('authorization')?.replace(/^Bearer /, ''));
    if (!authorized || !verifySignature(options.botSigningSecret, raw, request.headers.get('x-bot-signature'))) {
      return json({ success: false, error: 'unauthorized' }, 401);
    }
    const body = JSON.parse(new TextDecoder().decode(raw)) as Record<string, any>;
    if (call === 'agent-request') {
      world.ticketRequested({
        ticketId: body.ticketId,
        phone: body.userPhone ?? body.userId,
        customerName: body.userContext?.customerName ?? '',
        customerId: body.userContext?.customerId ?? '',
        category: body.category,
        priority: body.priority,
        serviceSuspended: body.serviceSuspended === true,
        requestedAt: body.requestTime,
      });
      return json({ success: true, agentAssigned: { ...options.agent, estimatedResponseTime: '2 minutos' } });
    }
    if (call === 'user-message') {
      if (body.messageType === 'image' && body.mediaId) {
        // The console shows the photo as the CRM would: fetched by its id from the service's media route.
        world.ticketMessage(body.ticketId, { from: 'user', kind: 'image', mediaId: body.mediaId, text: body.caption ?? '' });
      } else {
        const text = body.messageType === 'text' ? body.message : `[${body.messageType}${body.caption ? `: ${body.caption}` : ''}]`;
        world.ticketMessage(body.ticketId, { from: 'user', text });
      }
      return json({ success: true });
    }
    if (call === 'ticket-update') {
      world.ticketEvent(body.ticketId, describeTicketUpdate(body as TicketUpdate, world.ticket(body.ticketId)?.requestedAt), {
        status: body.status,
        ...(body.priority ? { priority: body.priority } : {}),
      });
      return json({ success: true });
    }
    return json({ success: false, error: 'not_found' }, 404);
  }

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method === 'POST' && /^\/graph\/v[\d.]+\/[^/]+\/messages$/.test(path)) return graph(request);
      if (request.method === 'GET' && path.startsWith('/graph/')) return media(request, path);
      const call = /^\/crm\/api\/bot\/([a-z-]+)$/.exec(path)?.[1];
      if (request.method === 'POST' && call) return crm(call, request);
      return json({ error: 'not found' }, 404);
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  return { graphUrl: `${base}/graph/v21.0`, crmUrl: `${base}/crm`, stop: () => server.stop(true) };
}
