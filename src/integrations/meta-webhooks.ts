import {
  pipelineEvent,
  type TemplateUpdate,
  type InboundMessage,
  type PipelineEvent,
  type StatusUpdate,
  type UserIdChange,
  type WhatsAppDeliveryStatus,
} from '../domain/events';
import { asArray, asString, changeOf, contentOf, isObject, type Json } from './meta-message-content';
import { firstKeyOf, isBsuid } from '../domain/user-ids';
import { changesOf, storablePayload, toIso, TRACKED_STATUSES, userIds, type FieldContext, type ParsedWebhook } from './meta-envelope';
import { eventIds } from '../domain/event-ids';
import { echoesOf, historyOf } from './meta-echoes';
import { handoverEventsOf } from './meta-thread-control';
import { callsOf, templateUpdateOf } from './meta-account';
import type { Pricing } from '../domain/rate-card';

/**
 * Every field Meta sends to the app's one callback URL (DESIGN 2.1): user
 * messages and statuses (`messages`, and `standby` when another responder
 * owns the thread), `user_id_update`, the Business app's `smb_message_echoes`
 * and `history`, Conversation Routing's `messaging_handovers`. What the service does not use is reported in `ignored`.
 * `storable`: the caller checked the JSON text (`mayParseUnstorable`) and there is nothing to clean.
 */
export function parseWhatsAppWebhook(payload: unknown, options: { storable?: boolean; crmAppId?: string } = {}): ParsedWebhook {
  const ignored: string[] = [];
  const cleaned: string[] = [];
  const events: PipelineEvent[] = [];
  const templateUpdates: TemplateUpdate[] = [];
  const groups = { count: 0 };
  for (const { field, value, businessPhoneNumberId } of changesOf(options.storable ? payload : storablePayload(payload, cleaned), ignored)) {
    const context: FieldContext = { ignored, cleaned, number: businessPhoneNumberId ? { businessPhoneNumberId } : {}, groups };
    switch (field) {
      case 'messages':
        events.push(...messagesOf(value, context, false));
        break;
      case 'standby':
        // Another responder owns the thread: its user's messages and what it sent, to watch, never to answer.
        events.push(...messagesOf(value, context, true), ...echoesOf(value, context, 'other_responder'));
        break;
      case 'smb_message_echoes':
        events.push(...echoesOf(value, context, 'business_app'));
        break;
      case 'history':
        events.push(...historyOf(value, context));
        break;
      case 'messaging_handovers':
        events.push(...handoverEventsOf(value, context, options.crmAppId ?? ''));
        break;
      case 'calls':
        events.push(...callsOf(value, context));
        break;
      case 'message_template_status_update':
      case 'template_category_update': {
        const update = templateUpdateOf(field, value);
        if (update) templateUpdates.push(update);
        else ignored.push(`${field} without a template name or event`);
        break;
      }
      case 'user_id_update':
        events.push(...userIdUpdates(value, ignored, cleaned, context.number));
        break;
      default:
        ignored.push(`field ${field || '(none)'}`);
    }
  }
  return { events, ignored, cleaned, groupMessages: groups.count, templateUpdates };
}

/** A `messages` (or `standby`) value: the users' messages and the statuses of what was sent. */
function messagesOf(value: Json, { ignored, cleaned, number, groups }: FieldContext, standby: boolean): PipelineEvent[] {
  const events: PipelineEvent[] = [];
  const contacts = asArray(value.contacts).filter(isObject);
  for (const raw of asArray(value.messages)) {
    // Said in a WhatsApp group: the bot's menu, one to one, in private, would answer the wrong conversation.
    if (isObject(raw) && raw.group_id !== undefined) {
      groups.count++;
      continue;
    }
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
    const data = { ...message, ...number, ...(standby ? { standby } : {}) };
    events.push(pipelineEvent('user.message', firstKeyOf(message.user)!, eventIds.userMessage(message.waMessageId), data));
  }
  for (const raw of asArray(value.statuses)) {
    if (isObject(raw) && raw.recipient_type === 'group') {
      ignored.push('status of a group message');
      continue;
    }
    const status = isObject(raw) ? normaliseStatus(raw, cleaned) : undefined;
    if (!status) {
      ignored.push(`status ${(isObject(raw) && asString(raw.status)) || '?'} not tracked`);
      continue;
    }
    events.push(pipelineEvent('whatsapp.status', firstKeyOf(status.user)!, eventIds.status(status.waMessageId, status.status), { ...status, ...number }));
  }
  if (!value.messages && !value.statuses && !value.message_echoes) {
    ignored.push(Array.isArray(value.errors) ? 'value-level errors only' : 'no messages or statuses');
  }
  return events;
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
    ...changeOf(raw),
  };
}

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
  const pricing = isObject(raw.pricing) ? pricingOf(raw.pricing) : undefined;
  return {
    waMessageId,
    status,
    timestamp: toIso(raw.timestamp, cleaned, 'status'),
    user,
    errors: errors.length > 0 ? errors : undefined,
    callbackData: asString(raw.biz_opaque_callback_data),
    ...(pricing ? { pricing } : {}),
  };
}

/** A status's `pricing` (`billable`, `pricing_model`, `category`); undefined when it says nothing we keep. */
function pricingOf(raw: Json): Pricing | undefined {
  const pricing: Pricing = {
    ...(typeof raw.billable === 'boolean' ? { billable: raw.billable } : {}),
    ...(asString(raw.pricing_model) ? { pricingModel: asString(raw.pricing_model) } : {}),
    ...(asString(raw.category) ? { category: asString(raw.category) } : {}),
  };
  return Object.keys(pricing).length > 0 ? pricing : undefined;
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
