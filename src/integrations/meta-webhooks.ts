import {
  pipelineEvent,
  type InboundMessage,
  type PipelineEvent,
  type StatusUpdate,
  type ThreadControl,
  type UserIdChange,
  type WhatsAppDeliveryStatus,
} from '../domain/events';
import { cleanJson, storableText } from '../domain/storable';
import { asArray, asString, contentOf, isObject, type Json } from './meta-message-content';
import { firstKeyOf, isBsuid, type UserIds } from '../domain/user-ids';
import { eventIds } from '../domain/event-ids';

/**
 * Turns Meta's webhook envelopes into pipeline events. Meta's payloads vary
 * by API version and by product (WhatsApp, Messenger); anything unknown is
 * reported in `ignored`, never thrown, so the sender always gets its 200.
 * What Postgres could not store (NUL, unpaired surrogates, an impossible
 * timestamp) is repaired and reported in `cleaned`: a refusal would only make
 * Meta redeliver the same bytes.
 */
export interface ParsedWebhook {
  events: PipelineEvent[];
  ignored: string[];
  /** Where the payload was repaired (paths and reasons, never the content). */
  cleaned: string[];
}

/** WhatsApp's launch: no message of ours is older. */
const EARLIEST_S = Date.UTC(2009, 0, 1) / 1000;
const CLOCK_SKEW_S = 24 * 3600;

/**
 * Meta sends Unix seconds, as a string or (in older samples) a number. One
 * outside 2009..tomorrow (`"99999999999999999999"` is past what a Date holds)
 * becomes the time of receipt, noted in `cleaned`.
 */
function toIso(timestamp: unknown, cleaned: string[], what: string): string {
  // Only text or a number: Number() of a deeply nested array recurses until the stack overflows.
  const seconds = typeof timestamp === 'string' || typeof timestamp === 'number' ? Number(timestamp) : NaN;
  const now = Date.now();
  if (Number.isFinite(seconds) && seconds >= EARLIEST_S && seconds <= now / 1000 + CLOCK_SKEW_S) return new Date(seconds * 1000).toISOString();
  cleaned.push(`${what}.timestamp out of range: time of receipt used`);
  return new Date(now).toISOString();
}

/** The payload with storable texts only; what had to be cleaned goes to `cleaned`. */
function storablePayload(payload: unknown, cleaned: string[]): unknown {
  const { value, cleaned: paths } = cleanJson(payload);
  cleaned.push(...paths.map((path) => `${path}: NUL or unpaired surrogate removed`));
  return value;
}

/** One change of an envelope: its field, its value, and the business number it is for (`value.metadata.phone_number_id`). */
interface Change {
  field: string;
  value: Json;
  businessPhoneNumberId?: string;
}

function changesOf(payload: unknown, ignored: string[]): Change[] {
  if (!isObject(payload) || !Array.isArray(payload.entry)) {
    ignored.push('not a webhook envelope (no entry[])');
    return [];
  }
  const changes: Change[] = [];
  for (const entry of payload.entry) {
    if (!isObject(entry)) continue;
    if (!Array.isArray(entry.changes)) {
      ignored.push(`entry without changes (keys: ${Object.keys(entry).join(',')})`);
      continue;
    }
    for (const change of entry.changes) {
      if (!isObject(change) || !isObject(change.value)) continue;
      const businessPhoneNumberId = isObject(change.value.metadata) ? asString(change.value.metadata.phone_number_id) : undefined;
      changes.push({ field: asString(change.field) ?? '', value: change.value, ...(businessPhoneNumberId ? { businessPhoneNumberId } : {}) });
    }
  }
  return changes;
}

/** `storable`: the caller checked the JSON text (`mayParseUnstorable`) and there is nothing to clean. */
export function parseWhatsAppWebhook(payload: unknown, options: { storable?: boolean } = {}): ParsedWebhook {
  const ignored: string[] = [];
  const cleaned: string[] = [];
  const events: PipelineEvent[] = [];
  for (const { field, value, businessPhoneNumberId } of changesOf(options.storable ? payload : storablePayload(payload, cleaned), ignored)) {
    const number = businessPhoneNumberId ? { businessPhoneNumberId } : {};
    if (field === 'user_id_update') {
      events.push(...userIdUpdates(value, ignored, cleaned, number));
      continue;
    }
    if (field !== 'messages') {
      ignored.push(`field ${field || '(none)'}`);
      continue;
    }
    const contacts = asArray(value.contacts).filter(isObject);
    for (const raw of asArray(value.messages)) {
      const change = isObject(raw) ? userIdChangeMessage(raw, cleaned) : undefined;
      if (change) {
        events.push(userIdChangeEvent({ ...change, ...number }));
        continue;
      }
      const message = isObject(raw) ? normaliseMessage(raw, contacts, cleaned) : undefined;
      if (!message) {
        ignored.push('message without id or sender');
        continue;
      }
      events.push(pipelineEvent('user.message', firstKeyOf(message.user)!, eventIds.userMessage(message.waMessageId), { ...message, ...number }));
    }
    for (const raw of asArray(value.statuses)) {
      const status = isObject(raw) ? normaliseStatus(raw, cleaned) : undefined;
      if (!status) {
        ignored.push(`status ${(isObject(raw) && asString(raw.status)) || '?'} not tracked`);
        continue;
      }
      events.push(
        pipelineEvent('whatsapp.status', firstKeyOf(status.user)!, eventIds.status(status.waMessageId, status.status), { ...status, ...number }),
      );
    }
    if (!value.messages && !value.statuses) ignored.push(Array.isArray(value.errors) ? 'value-level errors only' : 'no messages or statuses');
  }
  return { events, ignored, cleaned };
}

/** A phone and a BSUID as Meta placed them; a BSUID found where a phone was expected is taken for what it is. */
function userIds(phone: string | undefined, bsuid: string | undefined, extra: Omit<UserIds, 'phone' | 'bsuid'>): UserIds {
  const ids: UserIds = {};
  for (const id of [phone, bsuid]) {
    if (id && isBsuid(id)) ids.bsuid ??= id;
    else if (id) ids.phone ??= id;
  }
  if (extra.username) ids.username = extra.username;
  if (extra.parentBsuid) ids.parentBsuid = extra.parentBsuid;
  return ids;
}

function normaliseMessage(raw: Json, contacts: Json[], cleaned: string[]): InboundMessage | undefined {
  const waMessageId = asString(raw.id);
  // A user who adopted a username comes with `from_user_id` (their BSUID) and no `from`; most come with both.
  const contact =
    contacts.find((c) => (raw.from !== undefined && c.wa_id === raw.from) || (raw.from_user_id !== undefined && c.user_id === raw.from_user_id)) ?? contacts[0];
  const profile = isObject(contact?.profile) ? contact.profile : {};
  const user = userIds(asString(raw.from) ?? asString(contact?.wa_id), asString(raw.from_user_id) ?? asString(contact?.user_id), {
    username: asString(profile.username),
    parentBsuid: asString(raw.from_parent_user_id) ?? asString(contact?.parent_user_id),
  });
  if (!waMessageId || !firstKeyOf(user)) return undefined;
  const type = asString(raw.type) ?? 'unknown';
  // A reply quotes the message it answers; a forwarded message has `context.forwarded` and no id.
  const replyTo = isObject(raw.context) ? asString(raw.context.id) : undefined;
  return {
    user,
    waMessageId,
    timestamp: toIso(raw.timestamp, cleaned, 'message'),
    profileName: asString(profile.name),
    type,
    ...(replyTo ? { replyTo } : {}),
    ...contentOf(type, raw),
  };
}

const TRACKED_STATUSES: Record<string, WhatsAppDeliveryStatus> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  // A voice note listened to: as good as read for our ladder.
  played: 'read',
  failed: 'failed',
};

function normaliseStatus(raw: Json, cleaned: string[]): StatusUpdate | undefined {
  const waMessageId = asString(raw.id);
  const name = asString(raw.status) ?? '';
  // Own keys only: `__proto__` or `constructor` would find the prototype's.
  const status = Object.hasOwn(TRACKED_STATUSES, name) ? TRACKED_STATUSES[name] : undefined;
  // `recipient_id` only when the message went to a phone; `recipient_user_id` (the BSUID) on every status since 2026.
  const user = userIds(asString(raw.recipient_id) ?? asString(raw.recipient_participant_id), asString(raw.recipient_user_id), {
    parentBsuid: asString(raw.recipient_parent_user_id),
  });
  if (!waMessageId || !status || !firstKeyOf(user)) return undefined;
  const errors = asArray(raw.errors)
    .filter(isObject)
    .map((e) => ({ code: typeof e.code === 'number' ? e.code : undefined, title: asString(e.title), message: asString(e.message) }));
  return {
    waMessageId,
    status,
    timestamp: toIso(raw.timestamp, cleaned, 'status'),
    user,
    errors: errors.length > 0 ? errors : undefined,
    callbackData: asString(raw.biz_opaque_callback_data),
  };
}

const userIdChangeEvent = (change: UserIdChange) =>
  pipelineEvent('user.id_changed', change.previousBsuid, eventIds.userIdChange(change.previousBsuid, change.bsuid), change);

/**
 * The `user_id_update` field: each item names the BSUID the user had and
 * the one they have now (`user_id.previous` / `user_id.current`; the flat
 * `previous_user_id` / `user_id` spelling is read too), and the phone when
 * Meta may share it.
 */
function userIdUpdates(value: Json, ignored: string[], cleaned: string[], number: { businessPhoneNumberId?: string }): PipelineEvent[] {
  const items = Array.isArray(value.user_id_update) ? value.user_id_update : [value];
  const events: PipelineEvent[] = [];
  for (const item of items.filter(isObject)) {
    const ids = isObject(item.user_id) ? item.user_id : {};
    const previousBsuid = asString(ids.previous) ?? asString(item.previous_user_id) ?? asString(item.old_user_id);
    const bsuid = asString(ids.current) ?? asString(item.new_user_id) ?? asString(item.user_id);
    if (!previousBsuid || !bsuid || previousBsuid === bsuid) {
      ignored.push('user_id_update without a previous and a new user id');
      continue;
    }
    const phone = asString(item.wa_id);
    events.push(
      userIdChangeEvent({
        previousBsuid,
        bsuid,
        ...(phone && !isBsuid(phone) ? { phone } : {}),
        timestamp: toIso(item.timestamp, cleaned, 'user_id_update'),
        ...number,
      }),
    );
  }
  return events;
}

/** The same news as a system message (`system.type` = `user_changed_user_id`, the new id in `system.user_id`). */
function userIdChangeMessage(raw: Json, cleaned: string[]): UserIdChange | undefined {
  if (raw.type !== 'system' || !isObject(raw.system) || raw.system.type !== 'user_changed_user_id') return undefined;
  const previousBsuid = asString(raw.from_user_id);
  const bsuid = asString(raw.system.user_id) ?? asString(raw.system.new_user_id);
  if (!previousBsuid || !bsuid) return undefined;
  const phone = asString(raw.from);
  return { previousBsuid, bsuid, ...(phone ? { phone } : {}), timestamp: toIso(raw.timestamp, cleaned, 'message') };
}

/**
 * Thread-control events, in the seed's shape (`value.event` =
 * `pass_thread_control`, `thread_control.metadata` a JSON string with
 * `ticket_id`) and in Conversation Routing's (`value.type` =
 * `control_passed` / `control_taken`, the user in `sender.phone_number`).
 */
export interface ParsedThreadControl {
  control: ThreadControl;
  phone?: string;
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
  return { control: { event, toCrm, appId, metadata, ticketId: ticketIdFrom(metadata) } };
}

function routingShape(value: Json): ParsedThreadControl | undefined {
  const event = asString(value.type);
  if (event !== 'control_passed' && event !== 'control_taken') return undefined;
  const body = isObject(value[event]) ? (value[event] as Json) : {};
  const metadata = asString(body.metadata);
  // control_taken always means the escalation partner (the CRM's agents) took the thread.
  const toCrm = event === 'control_taken' || asString(body.new_owner_role) === 'escalation';
  const phone = isObject(value.sender) ? asString(value.sender.phone_number) : undefined;
  return { phone, control: { event, toCrm, appId: asString(body.previous_owner_app_id), metadata, ticketId: ticketIdFrom(metadata) } };
}
