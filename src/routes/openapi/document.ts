import type { TSchema } from '@sinclair/typebox';
import { AdminModel } from '../admin/model';
import { CrmModel } from '../crm/model';
import { MediaModel } from '../media/model';
import { MetaModel } from '../meta/model';
import { MetricsModel } from '../metrics/model';
import { json, jsonExamples, schema } from './content';
import { ERROR_EXAMPLES, EXAMPLES } from './examples';
import { ApiSchemas } from './schemas';
import { calls } from './webhooks';

/** DESIGN 2.1's error codes, each with the sentence a client developer needs. */
const ERRORS = {
  400: 'missing or malformed fields; `message` says which',
  401: 'the token or the signature is missing or wrong',
  403: 'the verify token does not match',
  404: 'unknown ticket',
  410: 'WhatsApp no longer has that media',
  409: "the ticket's state does not allow it (closed, not yet taken, outside WhatsApp's 24-hour window...)",
  413: 'body larger than MAX_BODY_BYTES',
  429: 'rate limited',
  500: 'internal error; nothing was accepted, retry later',
  502: 'WhatsApp could not be reached for the media (or not within MEDIA_DOWNLOAD_TIMEOUT_MS), named a host outside WHATSAPP_MEDIA_HOSTS, or sent a file that fails its checks',
  503: 'Redis or the database is unavailable; retry later',
} as const;
const errorContent = (code: keyof typeof ERRORS) => ({
  'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: { success: false, ...ERROR_EXAMPLES[code] } },
});
const errors = (...codes: (keyof typeof ERRORS)[]) =>
  Object.fromEntries(codes.map((code) => [code, { description: ERRORS[code], content: errorContent(code) }]));
const ok = (description: string, model: TSchema, example: unknown) => ({ 200: { description, content: json(model, example) } });
/** handover, send-message, typing and read: 200 once the event is applied, 202 when the wait for it ran out. */
const appliedOrNot = {
  200: {
    description:
      "applied: committed by the instance that owns the ticket's partition, so the CRM's next call, to any instance, sees it (handover-status shows the agent; a send-message is accepted)",
    content: json(ApiSchemas.applied, EXAMPLES.applied),
  },
  202: {
    description:
      'accepted and durable, but not applied within CRM_APPLY_TIMEOUT_MS (default 3 s): it is applied later, in order. A retry with the same Idempotency-Key is answered 200 at once once applied, else waits again',
    content: json(ApiSchemas.notAppliedYet, EXAMPLES.notAppliedYet),
  },
};
const queryParameters = (model: TSchema & { properties: Record<string, TSchema> }, required: readonly string[] = []) =>
  Object.entries(model.properties).map(([name, property]) => ({ name, in: 'query', required: required.includes(name), schema: schema(property) }));

const crm = { tags: ['CRM'], security: [{ crmBearer: [] }] };
const meta = { tags: ['Meta'], security: [{ metaSignature: [] }] };
const metaBody = (description: string, example: unknown) => ({
  required: true,
  description,
  content: { 'application/json': { schema: { type: 'object', description: "Meta's own webhook shape, signed over the raw bytes" }, example } },
});
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'makes a retry harmless; without it a retry is recognised by identical bytes',
  schema: { type: 'string', maxLength: 256 },
};
const page = (description: string) => ({
  get: { tags: ['Pages'], summary: description, responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } },
});

const paths = {
  '/webhook': {
    get: {
      ...meta,
      security: [],
      summary: "Meta's verification handshake: echoes hub.challenge when hub.verify_token is WEBHOOK_VERIFY_TOKEN",
      parameters: queryParameters(MetaModel.verification),
      responses: { 200: { description: 'the challenge', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(400, 403, 429) },
    },
    post: {
      ...meta,
      summary:
        "Every field Meta sends to the app's callback URL: messages (user messages, statuses with their pricing), standby and messaging_handovers (Conversation Routing), smb_message_echoes and history (the WhatsApp Business app on the same number), calls, message_template_status_update and template_category_update, user_id_update; a webhook for a number not in WHATSAPP_PHONE_NUMBER_IDS is acknowledged, never answered",
      requestBody: metaBody('a WhatsApp Business Account webhook', EXAMPLES.metaMessage),
      responses: { ...ok('queued', ApiSchemas.webhookAccepted, EXAMPLES.webhookAccepted), ...errors(400, 401, 413, 429, 500, 503) },
    },
  },
  '/api/crm/meta-handover-webhook': {
    post: {
      ...meta,
      summary: "Meta's thread-control events (field: messaging_handovers)",
      requestBody: metaBody('pass_thread_control, or Conversation Routing control_passed / control_taken', EXAMPLES.metaThreadControl),
      responses: {
        ...ok('queued (unknown shapes are acknowledged and logged)', ApiSchemas.webhookAccepted, EXAMPLES.webhookAccepted),
        ...errors(400, 401, 413, 429, 500, 503),
      },
    },
  },
  '/api/crm/handover': {
    post: {
      ...crm,
      summary: 'An agent takes the ticket (bot_to_human) or gives it back (human_to_bot)',
      parameters: [idempotencyKey],
      requestBody: {
        required: true,
        content: jsonExamples(CrmModel.handover, {
          take: { summary: 'An agent takes the ticket', value: EXAMPLES.take },
          giveBack: { summary: 'The agent gives it back to the bot', value: EXAMPLES.giveBack },
        }),
      },
      responses: { ...appliedOrNot, ...errors(400, 401, 404, 409, 413, 429, 500, 503) },
    },
  },
  '/api/crm/send-message': {
    post: {
      ...crm,
      summary: "An agent's message for the user: text, or an image or document by https URL",
      parameters: [idempotencyKey],
      requestBody: {
        required: true,
        content: jsonExamples(CrmModel.sendMessage, {
          text: { summary: 'A text, quoting what the user wrote', value: EXAMPLES.textMessage },
          document: { summary: 'A document by https link, with a caption', value: EXAMPLES.documentMessage },
        }),
      },
      responses: { ...appliedOrNot, ...errors(400, 401, 404, 409, 413, 429, 500, 503) },
    },
  },
  '/api/crm/typing': {
    post: {
      ...crm,
      summary:
        'The agent holding an active ticket is typing: WhatsApp shows "typing…" to the user (and marks their last message read), at most once per 20 s, never under a reply already sent',
      parameters: [idempotencyKey],
      requestBody: { required: true, content: json(CrmModel.typing, EXAMPLES.typing) },
      responses: { ...appliedOrNot, ...errors(400, 401, 404, 409, 413, 429, 500, 503) },
    },
  },
  '/api/crm/read': {
    post: {
      ...crm,
      summary: "The agent has read the user's messages up to `upTo` (default the last): WhatsApp shows them read. Sent only on this call, never automatically",
      parameters: [idempotencyKey],
      requestBody: { required: true, content: json(CrmModel.read, EXAMPLES.read) },
      responses: { ...appliedOrNot, ...errors(400, 401, 404, 409, 413, 429, 500, 503) },
    },
  },
  '/api/crm/handover-status/{ticketId}': {
    get: {
      ...crm,
      summary: "A ticket's state: pending, active or closed, with its agent, times and message count",
      parameters: [{ name: 'ticketId', in: 'path', required: true, schema: schema(CrmModel.ticketParams.properties.ticketId) }],
      responses: { ...ok('the ticket', ApiSchemas.ticketStatusAnswer, EXAMPLES.ticketStatus), ...errors(400, 401, 404, 429, 500, 503) },
    },
  },
  '/api/live': {
    get: {
      tags: ['Metrics'],
      security: [{ metricsBearer: [] }],
      summary:
        "The dashboard's live view as server-sent events: `event: board` with the whole board at once, then after each ticket change (within a second); tickets waiting (position, category, priority), escalated, fallen back in the last 24 h, with an agent; each agent's open tickets. No phone, BSUID, username or customer name",
      responses: {
        200: {
          description: 'an event stream; each `data:` line is one board (JSON), a `: keep-alive` comment every 15 s',
          content: { 'text/event-stream': { schema: { type: 'string' }, example: `event: board\ndata: ${JSON.stringify(EXAMPLES.liveBoard)}\n\n` } },
        },
        ...errors(401, 429, 503),
      },
    },
  },
  '/api/crm/media/{mediaId}': {
    get: {
      ...crm,
      summary: "A file the user sent (a user-message's mediaUrl), streamed with its Content-Type and Content-Disposition",
      parameters: [{ name: 'mediaId', in: 'path', required: true, schema: schema(MediaModel.mediaParams.properties.mediaId) }],
      responses: {
        200: { description: 'the bytes as the user sent them', content: { 'application/octet-stream': { schema: schema(MediaModel.file) } } },
        ...errors(400, 401, 404, 410, 429, 500, 502, 503),
      },
    },
  },
  '/metrics': {
    get: {
      tags: ['Operations'],
      security: [{}, { metricsBearer: [] }],
      summary: 'Prometheus exposition (open while METRICS_TOKEN is unset)',
      responses: { 200: { description: 'text exposition', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(401, 429) },
    },
  },
  '/api/metrics/kpis': {
    get: {
      tags: ['Operations'],
      security: [{ metricsBearer: [] }],
      summary: 'The KPIs of the tickets requested between two days, optionally by day, agent or category',
      parameters: queryParameters(MetricsModel.kpiQuery, ['from', 'to']),
      responses: { ...ok('the report', ApiSchemas.kpiReport, EXAMPLES.kpiReport), ...errors(400, 401, 429, 500, 503) },
    },
  },
  '/api/admin/dead-letters': {
    get: {
      tags: ['Operations'],
      security: [{ adminBearer: [] }],
      summary: 'The events that failed STREAM_MAX_DELIVERIES times, oldest first',
      parameters: queryParameters(AdminModel.listQuery),
      responses: { ...ok('a page', ApiSchemas.deadLetterPage, EXAMPLES.deadLetterPage), ...errors(400, 401, 429, 500, 503) },
    },
  },
  '/api/admin/dead-letters/redrive': {
    post: {
      tags: ['Operations'],
      security: [{ adminBearer: [] }],
      summary: 'Puts dead letters back on their partition once the cause is fixed',
      requestBody: { required: true, content: json(AdminModel.redrive, EXAMPLES.redrive) },
      responses: { ...ok('what was re-driven and what was not found', ApiSchemas.redriven, EXAMPLES.redriven), ...errors(400, 401, 413, 429, 500, 503) },
    },
  },
  '/api/admin/subscribers': {
    get: {
      tags: ['Operations'],
      security: [{ adminBearer: [] }],
      summary: "A subscriber's export: everything held about them (Ley 1581, the right to know); the request is recorded without the ids",
      parameters: queryParameters(AdminModel.subscriberQuery),
      responses: { ...ok('what is held (found false: nothing)', ApiSchemas.subscriberExport, EXAMPLES.subscriberExport), ...errors(400, 401, 429, 500, 503) },
    },
  },
  '/api/admin/subscribers/erase': {
    post: {
      tags: ['Operations'],
      security: [{ adminBearer: [] }],
      summary: 'Erases everything held about a subscriber (rows, media files, Redis entries, unapplied stream entries); KPI counts stay; the CRM is told',
      requestBody: { required: true, content: json(AdminModel.erase, EXAMPLES.erase) },
      responses: { ...ok('what was erased, per store', ApiSchemas.erasure, EXAMPLES.erasure), ...errors(400, 401, 413, 429, 500, 503) },
    },
  },
  '/health/live': { get: { tags: ['Operations'], summary: 'Liveness', responses: ok('the process runs', ApiSchemas.live, EXAMPLES.live) } },
  '/health/ready': {
    get: {
      tags: ['Operations'],
      summary: 'Readiness: Redis and the database both answer',
      responses: {
        ...ok('ready', ApiSchemas.ready, EXAMPLES.ready),
        503: {
          description: 'not ready',
          content: json(ApiSchemas.ready, { status: 'not_ready', checks: { redis: 'ok', database: 'unavailable: no answer in 2000 ms' } }),
        },
      },
    },
  },
  '/dashboard': page("The supervisors' KPI dashboard (reads /api/metrics/kpis with the METRICS_TOKEN typed in)"),
  '/dashboard/live': page("The supervisors' live view: who waits, what escalated, which agent holds what, updated from GET /api/live"),
  '/docs': page('This reference'),
  '/openapi.json': {
    get: {
      tags: ['Pages'],
      summary: 'This document',
      responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  },
};

/**
 * The OpenAPI 3.1 description of the service: every route, its auth, bodies
 * and errors, and (as `webhooks`) the calls it makes to the CRM, so a CRM
 * developer can generate a client for one side and a server stub for the other.
 */
export const openApiDocument = (version: string) => ({
  openapi: '3.1.0',
  info: {
    title: 'Conecta2Tel handover service',
    version,
    description:
      'Hands a WhatsApp conversation from the bot to a CRM agent and back. Errors are always `{ success: false, error, message }`. ' +
      'The service calls the CRM at CRM_AGENT_NOTIFICATION_URL (default CRM_BASE_URL/api/bot/agent-request), ' +
      'CRM_BASE_URL/api/bot/user-message, CRM_BASE_URL/api/bot/ticket-update and CRM_BASE_URL/api/bot/subscriber-erased: see Webhooks.',
  },
  tags: [
    { name: 'CRM', description: 'Called by the CRM with Bearer CRM_API_TOKEN' },
    { name: 'Meta', description: 'Called by Meta, signed with META_WEBHOOK_SECRET' },
    { name: 'Calls to the CRM', description: 'What the CRM implements; the service calls it' },
    { name: 'Operations' },
    { name: 'Pages' },
  ],
  paths,
  webhooks: calls,
  components: {
    schemas: { Error: schema(ApiSchemas.error) },
    securitySchemes: {
      crmBearer: { type: 'http', scheme: 'bearer', description: 'CRM_API_TOKEN' },
      metricsBearer: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' },
      adminBearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
      metaSignature: {
        type: 'apiKey',
        in: 'header',
        name: 'X-Hub-Signature-256',
        description: 'sha256=<hex HMAC-SHA256(META_WEBHOOK_SECRET, raw body bytes)>',
      },
      botBearer: { type: 'http', scheme: 'bearer', description: 'BOT_API_TOKEN, sent by the service to the CRM' },
    },
  },
});
