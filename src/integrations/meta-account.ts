import { eventIds } from '../domain/event-ids';
import { pipelineEvent, type CallEvent, type PipelineEvent, type TemplateUpdate } from '../domain/events';
import { firstKeyOf } from '../domain/user-ids';
import { toIso, userIds, type FieldContext } from './meta-envelope';
import { asArray, asString, isObject, type Json } from './meta-message-content';

/**
 * The `calls` field: each item a user's call to the business number
 * (`connect` when it rings, `terminate` when it ends, with its `status` and
 * `duration` in seconds), `from` the user, whose ids are also in `contacts`.
 * Calls the business places are not the user reaching out: ignored.
 */
export function callsOf(value: Json, { ignored, cleaned, number }: FieldContext): PipelineEvent[] {
  const contacts = asArray(value.contacts).filter(isObject);
  const events: PipelineEvent[] = [];
  for (const raw of asArray(value.calls).filter(isObject)) {
    const event = asString(raw.event);
    const callId = asString(raw.id);
    const direction = asString(raw.direction);
    if (direction === 'BUSINESS_INITIATED') {
      ignored.push('call placed by the business');
      continue;
    }
    const contact =
      contacts.find((c) => (raw.from !== undefined && c.wa_id === raw.from) || (raw.from_user_id !== undefined && c.user_id === raw.from_user_id)) ??
      contacts[0];
    const user = userIds(asString(raw.from) ?? asString(contact?.wa_id), asString(raw.from_user_id) ?? asString(contact?.user_id), {});
    if (!callId || (event !== 'connect' && event !== 'terminate') || !firstKeyOf(user)) {
      ignored.push(`call ${event ?? '(no event)'} without id or caller`);
      continue;
    }
    const duration = Number(raw.duration);
    const call: CallEvent = {
      user,
      callId,
      event,
      timestamp: toIso(raw.timestamp, cleaned, 'call'),
      ...(direction ? { direction } : {}),
      ...(asString(raw.status) ? { status: asString(raw.status)!.toUpperCase() } : {}),
      ...(Number.isFinite(duration) && duration >= 0 ? { durationS: duration } : {}),
      ...number,
    };
    events.push(pipelineEvent('whatsapp.call', firstKeyOf(user)!, eventIds.call(callId, event), call));
  }
  if (Array.isArray(value.statuses)) ignored.push('call statuses (business-initiated calls)');
  return events;
}

/**
 * `message_template_status_update` (`event`: APPROVED, PAUSED, DISABLED...,
 * with `reason`) and `template_category_update` (`previous_category` →
 * `new_category`, or an impending change: `correct_category`).
 */
export function templateUpdateOf(field: string, value: Json): TemplateUpdate | undefined {
  const name = asString(value.message_template_name);
  if (!name) return undefined;
  const language = asString(value.message_template_language);
  if (field === 'template_category_update') {
    const previousCategory = asString(value.previous_category);
    const category = asString(value.new_category) ?? asString(value.correct_category);
    return { name, language, event: previousCategory ? 'CATEGORY_CHANGED' : 'CATEGORY_CHANGE_PENDING', category, previousCategory };
  }
  const event = asString(value.event);
  if (!event) return undefined;
  return { name, language, event: event.toUpperCase(), reason: asString(value.reason), category: asString(value.message_template_category) };
}
