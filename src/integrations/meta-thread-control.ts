import { eventIds } from '../domain/event-ids';
import { pipelineEvent, type PipelineEvent, type ThreadControl } from '../domain/events';
import { storableText } from '../domain/storable';
import { firstKeyOf, type UserIds } from '../domain/user-ids';
import { changesOf, storablePayload, toIso, userIds, type FieldContext } from './meta-envelope';
import { asString, isObject, type Json } from './meta-message-content';

/**
 * Thread-control events, in the seed's shape (`value.event` =
 * `pass_thread_control`, `thread_control.metadata` a JSON string with
 * `ticket_id`) and in Conversation Routing's (`value.type` =
 * `control_passed` / `control_taken`, the user in `sender.phone_number`).
 */
export interface ParsedThreadControl {
  control: ThreadControl;
  phone?: string;
  user?: UserIds;
}

export function parseThreadControlWebhook(payload: unknown, crmAppId: string): { items: ParsedThreadControl[]; ignored: string[]; cleaned: string[] } {
  const ignored: string[] = [];
  const cleaned: string[] = [];
  const items: ParsedThreadControl[] = [];
  for (const { field, value } of changesOf(storablePayload(payload, cleaned), ignored)) {
    if (field !== 'messaging_handovers') {
      ignored.push(`field ${field || '(none)'}`);
      continue;
    }
    const item = seedShape(value, crmAppId) ?? routingShape(value);
    if (item) items.push(item);
    else ignored.push(`handover event ${asString(value.event) ?? asString(value.type) ?? '(unnamed)'} not understood`);
  }
  return { items, ignored, cleaned };
}

function ticketIdFrom(metadata: string | undefined): string | undefined {
  if (!metadata) return undefined;
  try {
    const parsed: unknown = JSON.parse(metadata);
    // The metadata's own escapes (`\u0000`) come to life here, after the payload was cleaned.
    const ticketId = isObject(parsed) ? (asString(parsed.ticket_id) ?? asString(parsed.ticketId)) : undefined;
    return ticketId === undefined ? undefined : storableText(ticketId) || undefined;
  } catch {
    // Routing's metadata is free text ("WhatsApp user requested human agent"): no ticket in it.
    return /\bTK-\d{4}-\d+\b/.exec(metadata)?.[0];
  }
}

function seedShape(value: Json, crmAppId: string): ParsedThreadControl | undefined {
  const event = asString(value.event);
  if (!event || !isObject(value.thread_control)) return undefined;
  const appId = asString(value.thread_control.app_id) ?? asString(value.thread_control.new_owner_app_id);
  const metadata = asString(value.thread_control.metadata);
  // Without a configured CRM app id, a pass is taken as a pass to the CRM: the seed's only use.
  const toCrm = event === 'pass_thread_control' && (!crmAppId || appId === crmAppId);
  const owner = toCrm ? 'crm' : event === 'pass_thread_control' && appId ? 'other' : 'bot';
  return { control: { event, toCrm, owner, appId, metadata, ticketId: ticketIdFrom(metadata) } };
}

/**
 * Conversation Routing's `messaging_handovers`: `control_passed` is delivered
 * to the new owner (this app, unless the roles say the escalation partner or
 * Meta's AI), `control_taken` to the previous one (this app: the escalation
 * partner, the CRM's agents, took the thread). Each names the roles before
 * and after the change.
 */
function routingShape(value: Json): ParsedThreadControl | undefined {
  const event = asString(value.type);
  if (event !== 'control_passed' && event !== 'control_taken') return undefined;
  const body = isObject(value[event]) ? (value[event] as Json) : {};
  const metadata = asString(body.metadata);
  const role = (asString(body.new_owner_role) ?? asString(body.current_owner_role) ?? '').toLowerCase();
  // control_taken always means the escalation partner (the CRM's agents) took the thread.
  const toCrm = event === 'control_taken' || role.startsWith('escalation');
  const owner = toCrm ? 'crm' : role === 'ai_agent' ? 'ai_agent' : 'bot';
  const sender = isObject(value.sender) ? value.sender : {};
  const phone = asString(sender.phone_number);
  const user = userIds(phone, asString(sender.user_id), {});
  return {
    phone,
    ...(firstKeyOf(user) ? { user } : {}),
    control: { event, toCrm, owner, appId: asString(body.previous_owner_app_id), metadata, ticketId: ticketIdFrom(metadata) },
  };
}

/**
 * `messaging_handovers` on /webhook (Meta sends every field to the app's one
 * callback URL): events keyed by the user, so the webhook reads no database;
 * the runtime finds the conversation's ticket. An item naming no user (the
 * seed's shape, for /api/crm/meta-handover-webhook) is ignored here.
 */
export function handoverEventsOf(value: Json, { ignored, cleaned, number }: FieldContext, crmAppId: string): PipelineEvent[] {
  const item = seedShape(value, crmAppId) ?? routingShape(value);
  const userKey = item?.user && firstKeyOf(item.user);
  if (!item || !userKey) {
    ignored.push(`handover event ${asString(value.event) ?? asString(value.type) ?? '(unnamed)'} names no user`);
    return [];
  }
  const timestamp = toIso(value.timestamp, cleaned, 'handover');
  const id = eventIds.handover(item.control.event, userKey, asString(value.timestamp) ?? timestamp);
  return [pipelineEvent('meta.thread_control', userKey, id, { ...item.control, user: item.user, ...number })];
}
