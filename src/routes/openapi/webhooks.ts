import type { TSchema } from '@sinclair/typebox';
import { json, jsonExamples } from './content';
import { EXAMPLES } from './examples';
import { ApiSchemas } from './schemas';

const header = (name: string, description: string, example: string) => ({
  name,
  in: 'header',
  required: true,
  description,
  schema: { type: 'string' },
  example,
});
/** The headers of every call to the CRM (DESIGN 2.2); Authorization is the `botBearer` scheme. */
const botHeaders = [
  header(
    'X-Bot-Signature',
    'sha256=<hex HMAC-SHA256(BOT_SIGNING_SECRET, raw body bytes)>: verify it over the bytes as received',
    'sha256=5d41402abc4b2a76b9719d911017c592ae2f1f4e0c3b8a0d6f3c2e1b0a9d8c7f',
  ),
  header('Idempotency-Key', 'stable across retries of this call: drop a key already seen', 'wa:msg:wamid.HBgMNTczMDAxMjM0NTY3FQIAEhggQjVGRDRDMEE5QkQ2#1'),
  header('User-Agent', 'always this value', 'Conecta2Tel-Bot/1.0'),
];
/**
 * A call the service makes to the CRM. Scalar prints the method before the
 * summary, so the summary says what happened and the description where the
 * call goes (the URL is a setting, not a path of this service).
 */
const botCall = (call: {
  summary: string;
  /** What the CRM does with it, after where it is sent. */
  detail: string;
  url: string;
  body: TSchema;
  examples: Record<string, { summary: string; value: unknown }>;
  answer?: { model: TSchema; example: unknown };
}) => ({
  post: {
    tags: ['Calls to the CRM'],
    summary: call.summary,
    description: `Sent as \`POST ${call.url}\`. ${call.detail}`,
    security: [{ botBearer: [] }],
    parameters: botHeaders,
    requestBody: { required: true, content: jsonExamples(call.body, call.examples) },
    responses: {
      200: { description: 'taken; any 2xx will do', ...(call.answer ? { content: json(call.answer.model, call.answer.example) } : {}) },
      default: { description: '5xx, 408, 429 or no answer: retried with backoff and the same Idempotency-Key; other 4xx: not retried' },
    },
  },
});

/** The calls the service makes to the CRM (DESIGN 2.2), as OpenAPI `webhooks`: what a CRM developer implements. */
export const calls = {
  agentRequest: botCall({
    summary: 'A ticket was created (agent-request)',
    detail: 'The ticket waits for an agent; the answer may name a tentative one and a queue position, both told to the user.',
    url: 'CRM_AGENT_NOTIFICATION_URL (default CRM_BASE_URL/api/bot/agent-request)',
    body: ApiSchemas.agentRequest,
    examples: { suspended: { summary: 'A suspended subscriber asks for reactivation', value: EXAMPLES.agentRequest } },
    answer: { model: ApiSchemas.agentRequestAnswer, example: EXAMPLES.agentRequestAnswer },
  }),
  userMessage: botCall({
    summary: 'The user wrote (user-message)',
    detail: 'Everything the user sends while a ticket is open, in order; a media file is fetched from `mediaUrl` with the CRM token.',
    url: 'CRM_BASE_URL/api/bot/user-message',
    body: ApiSchemas.userMessage,
    examples: {
      text: { summary: 'A text', value: EXAMPLES.userMessage },
      photo: { summary: 'A photo: fetch it from mediaUrl with the CRM token', value: EXAMPLES.userPhoto },
    },
  }),
  ticketUpdate: botCall({
    summary: 'The bot changed a ticket (ticket-update)',
    detail:
      "What happened without the CRM: an escalation or a reminder when no one answered in time, a close (cancelled, abandoned, fallback, expired), the rating, an agent message WhatsApp refused, the user's phone or BSUID changed (`identity_changed`: `userPhone`/`userId` are the new ids, `previousUserPhone`/`previousUserId` the replaced ones; name the user by the new ones from now on, though calls naming the previous ones are accepted for IDENTITY_CHANGE_GRACE_S, a day by default, and answered with the current ids); `reason` says which.",
    url: 'CRM_BASE_URL/api/bot/ticket-update',
    body: ApiSchemas.ticketUpdate,
    examples: {
      escalated: { summary: 'No agent took it in time: re-requested with a higher priority', value: EXAMPLES.escalated },
      rated: { summary: 'The user rated the agent after the ticket closed', value: EXAMPLES.rated },
      identityChanged: { summary: 'The user wrote from a new phone (same WhatsApp user id): name them by it from now on', value: EXAMPLES.identityChanged },
    },
  }),
  subscriberErased: botCall({
    summary: 'A subscriber was erased at their request (subscriber-erased)',
    detail:
      "An operator erased everything this service held about a subscriber (Ley 1581: POST /api/admin/subscribers/erase or `bun run subscribers erase`). Erase the CRM's copy of these tickets and of the subscriber they name; the call names no one itself.",
    url: 'CRM_BASE_URL/api/bot/subscriber-erased',
    body: ApiSchemas.subscriberErased,
    examples: { erased: { summary: 'The subscriber of one ticket was erased', value: EXAMPLES.subscriberErased } },
  }),
};
