import { Type } from '@sinclair/typebox';
import { Elysia } from 'elysia';
import { DEMO_CUSTOMERS } from '../cli/customers';
import { AppError, badRequest, forbidden } from '../errors';
import { validate } from '../routes/http/body';
import { DASHBOARD_HEADERS } from '../routes/dashboard';
import { embeddedPath, pageFile } from '../routes/http/page-files';
import { signBody } from '../lib/security';
import { metaJson, userMessageWebhook, type UserInput } from './meta-payloads';
import type { World } from './world';
import indexHtml from './page/index.html' with { type: 'file' };
// @ts-expect-error TS7016: a browser script, imported only as a file to serve
import simulatorJs from './page/simulator.js' with { type: 'file' };
// @ts-expect-error TS7016: a browser script, imported only as a file to serve
import whatsappFormatJs from './page/whatsapp-format.js' with { type: 'file' };
import simulatorCss from './page/simulator.css' with { type: 'file' };
import { DEMO_PHOTO } from './photo';

export interface SimulatorDeps {
  world: World;
  serviceUrl: () => string;
  crmApiToken: string;
  metaWebhookSecret: string;
  phoneNumberId: string;
  agent: { id: string; name: string };
  /** Listening on loopback: a request must name this machine (Host), or it came through a name rebound to it. */
  loopbackOnly: boolean;
}

/** localhost, 127.0.0.0/8 or ::1, as an address to listen on or a Host header's name. */
export function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/**
 * The simulator's API drives the service with the demo's secrets and no
 * login of its own, so only the simulator's page may call it. A browser says
 * which page sends a request (Sec-Fetch-Site, Origin): another site's is
 * refused. A POST must be JSON: no form or `text/plain` fetch from another
 * site can send that without a preflight, which this API never answers.
 * Through a name rebound to 127.0.0.1 the page's origin is the attacker's
 * and matches: on loopback the Host must name this machine.
 */
function crossSiteRefusal(request: Request, loopbackOnly: boolean): AppError | undefined {
  const url = new URL(request.url);
  const site = request.headers.get('sec-fetch-site');
  const origin = request.headers.get('origin');
  if ((loopbackOnly && !isLoopback(url.hostname)) || (site !== null && site !== 'same-origin' && site !== 'none')) {
    return forbidden('cross_site_request', "the simulator's API answers only the simulator's own page");
  }
  if (origin !== null && (!URL.canParse(origin) || new URL(origin).host !== url.host)) {
    return forbidden('cross_site_request', `the simulator's API answers only the simulator's own page, not ${origin}`);
  }
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (request.method === 'POST' && type !== 'application/json') {
    return new AppError(415, 'unsupported_media_type', "the simulator's API takes application/json");
  }
  return undefined;
}

/** What the agent attaches: WhatsApp fetches a document by https link; in the demo nobody fetches it. */
const DEMO_DOCUMENT = { url: 'https://conecta2tel.example/demo/paz-y-salvo.pdf', filename: 'paz-y-salvo.pdf', caption: 'Su paz y salvo' };

const DEMO_MEDIA_ID_BASE = 900_000_000_000_000;

const Text = Type.String({ minLength: 1, maxLength: 1000 });
const PhoneRequest = Type.Object({
  phone: Type.String({ pattern: '^\\d{8,15}$' }),
  input: Type.Union([
    Type.Object({ kind: Type.Literal('text'), text: Text }),
    Type.Object({ kind: Type.Union([Type.Literal('button'), Type.Literal('list')]), id: Text, title: Text }),
    Type.Object({ kind: Type.Literal('image'), caption: Type.Optional(Type.String({ maxLength: 200 })) }),
  ]),
});
const AgentRequest = Type.Object({ ticketId: Text, text: Type.Optional(Text) });

const file = (path: string, type: string) => pageFile(path, type, DASHBOARD_HEADERS);

/**
 * /simulator: the subscriber's phone and the agent's console, both driving
 * the service through its production doors (a signed /webhook for the
 * phone, the CRM routes with the CRM token for the agent). Mounted by
 * app.ts only when DEMO_MODE is on.
 */
export function simulatorRoutes(deps: SimulatorDeps) {
  const { world } = deps;
  let sequence = 0;

  async function post(path: string, body: string, headers: Record<string, string>) {
    const response = await fetch(`${deps.serviceUrl()}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  const crm = (path: string, body: Record<string, unknown>) => post(path, JSON.stringify(body), { authorization: `Bearer ${deps.crmApiToken}` });

  async function fromPhone(phone: string, input: (typeof PhoneRequest.static)['input']) {
    const user = { phone, name: DEMO_CUSTOMERS.find((customer) => customer.phone === phone)?.customerName.split(' ')[0] ?? 'Demo' };
    const waMessageId = `wamid.demo.user.${Date.now()}.${++sequence}`;
    // Digits, as Meta's media ids are: the media route takes no other.
    const sent: UserInput = input.kind === 'image' ? { kind: 'image', mediaId: `${DEMO_MEDIA_ID_BASE + sequence}`, caption: input.caption } : input;
    const body = metaJson(userMessageWebhook(deps.phoneNumberId, user, waMessageId, sent));
    world.userWrote(phone, {
      id: waMessageId,
      kind: input.kind === 'image' ? 'image' : 'text',
      text: 'text' in input ? input.text : 'title' in input ? input.title : (input.caption ?? ''),
    });
    const answer = await post('/webhook', body, { 'x-hub-signature-256': signBody(deps.metaWebhookSecret, body) });
    if (answer.status === 200) world.userMessageDelivered(waMessageId);
    return answer;
  }

  /** A photo the subscriber sent, as the CRM gets it: from the service's media route, with the CRM token. */
  async function mediaAsCrm(mediaId: string): Promise<Response> {
    if (!/^\d{1,20}$/.test(mediaId)) throw badRequest('unknown_media', `the phone sent no media ${mediaId}`);
    const answer = await fetch(`${deps.serviceUrl()}/api/crm/media/${mediaId}`, { headers: { authorization: `Bearer ${deps.crmApiToken}` } });
    const headers = { ...DASHBOARD_HEADERS, 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' };
    return new Response(answer.body, { status: answer.status, headers });
  }

  /** 200 applied, or 202 accepted and applied shortly (DESIGN 2.1): either way the console shows it. */
  const isAccepted = (status: number) => status === 200 || status === 202;

  async function asAgent(action: string, { ticketId, text }: typeof AgentRequest.static) {
    const ticket = world.ticket(ticketId);
    if (!ticket) throw badRequest('unknown_ticket', `the console has no ticket ${ticketId}`);
    const named = { ticketId, userPhone: ticket.phone };
    switch (action) {
      case 'take': {
        const answer = await crm('/api/crm/handover', {
          ...named,
          handoverType: 'bot_to_human',
          agentId: deps.agent.id,
          agentName: deps.agent.name,
          metadata: { category: ticket.category, priority: ticket.priority },
        });
        if (isAccepted(answer.status)) world.ticketEvent(ticketId, `Taken by ${deps.agent.name}`, { status: 'active', agentName: deps.agent.name });
        return answer;
      }
      case 'reply': {
        if (!text) throw badRequest('missing_text', 'a reply needs text');
        world.agentWillSend(ticket.phone, text);
        const answer = await crm('/api/crm/send-message', { ...named, agentId: deps.agent.id, messageType: 'text', message: text });
        if (isAccepted(answer.status)) world.ticketMessage(ticketId, { from: 'agent', text });
        return answer;
      }
      case 'document': {
        world.agentWillSend(ticket.phone, DEMO_DOCUMENT.url);
        const answer = await crm('/api/crm/send-message', {
          ...named,
          agentId: deps.agent.id,
          messageType: 'document',
          message: DEMO_DOCUMENT.url,
          filename: DEMO_DOCUMENT.filename,
          caption: DEMO_DOCUMENT.caption,
        });
        if (isAccepted(answer.status)) {
          world.ticketMessage(ticketId, { from: 'agent', kind: 'document', filename: DEMO_DOCUMENT.filename, text: DEMO_DOCUMENT.caption });
        }
        return answer;
      }
      // What a CRM sends while its agent types, and when the agent has read the chat: WhatsApp's "typing…" and blue ticks.
      case 'typing':
        return crm('/api/crm/typing', { ticketId, agentId: deps.agent.id });
      case 'read': {
        const answer = await crm('/api/crm/read', { ticketId, agentId: deps.agent.id });
        if (isAccepted(answer.status)) world.ticketEvent(ticketId, "Marked the subscriber's messages read");
        return answer;
      }
      case 'give-back': {
        const answer = await crm('/api/crm/handover', { ...named, handoverType: 'human_to_bot', agentId: deps.agent.id, agentName: deps.agent.name });
        if (isAccepted(answer.status)) world.ticketEvent(ticketId, 'Given back to the bot', { status: 'closed' });
        return answer;
      }
      default:
        throw badRequest('unknown_action', `no agent action ${action}`);
    }
  }

  return new Elysia({ prefix: '/simulator' })
    .get('/', file(embeddedPath(indexHtml), 'text/html; charset=utf-8'))
    .get('/simulator.js', file(embeddedPath(simulatorJs), 'text/javascript; charset=utf-8'))
    .get('/whatsapp-format.js', file(embeddedPath(whatsappFormatJs), 'text/javascript; charset=utf-8'))
    .get('/simulator.css', file(simulatorCss, 'text/css; charset=utf-8'))
    .get('/router.jpg', file(DEMO_PHOTO.path, DEMO_PHOTO.mimeType))
    .onBeforeHandle(({ request }) => {
      // Declared after the page's files: it covers the routes below, the API's.
      const refusal = crossSiteRefusal(request, deps.loopbackOnly);
      if (refusal) throw refusal;
    })
    .get('/api/media/:mediaId', ({ params }) => mediaAsCrm(params.mediaId))
    .get('/api/state', () => ({
      subscribers: DEMO_CUSTOMERS.map(({ phone, customerName, document, isInactive }) => ({ phone, name: customerName, document, suspended: isInactive })),
      agent: deps.agent,
      ...world.snapshot(),
    }))
    .post(
      '/api/phone',
      async ({ request, set }) => {
        const { phone, input } = validate(PhoneRequest, await request.json());
        const answer = await fromPhone(phone, input);
        set.status = answer.status;
        return answer.body;
      },
      { parse: 'none' },
    )
    .post(
      '/api/agent/:action',
      async ({ params, request, set }) => {
        const answer = await asAgent(params.action, validate(AgentRequest, await request.json()));
        set.status = answer.status;
        return answer.body;
      },
      { parse: 'none' },
    );
}
