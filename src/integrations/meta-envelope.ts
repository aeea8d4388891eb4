import type { PipelineEvent, TemplateUpdate, WhatsAppDeliveryStatus } from '../domain/events';
import { cleanJson } from '../domain/storable';
import { isBsuid, type UserIds } from '../domain/user-ids';
import { asString, isObject, type Json } from './meta-message-content';

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
  /** Messages in WhatsApp groups: never answered one to one in private (counted, logged). */
  groupMessages: number;
  /** Changes to message templates (status, category): for the operators, not for a conversation. */
  templateUpdates: TemplateUpdate[];
}

/** WhatsApp's launch: no message of ours is older. */
const EARLIEST_S = Date.UTC(2009, 0, 1) / 1000;
const CLOCK_SKEW_S = 24 * 3600;

/**
 * Meta sends Unix seconds, as a string or (in older samples) a number. One
 * outside 2009..tomorrow (`"99999999999999999999"` is past what a Date holds)
 * becomes the time of receipt, noted in `cleaned`.
 */
export function toIso(timestamp: unknown, cleaned: string[], what: string): string {
  // Only text or a number: Number() of a deeply nested array recurses until the stack overflows.
  const seconds = typeof timestamp === 'string' || typeof timestamp === 'number' ? Number(timestamp) : NaN;
  const now = Date.now();
  if (Number.isFinite(seconds) && seconds >= EARLIEST_S && seconds <= now / 1000 + CLOCK_SKEW_S) return new Date(seconds * 1000).toISOString();
  cleaned.push(`${what}.timestamp out of range: time of receipt used`);
  return new Date(now).toISOString();
}

/** The payload with storable texts only; what had to be cleaned goes to `cleaned`. */
export function storablePayload(payload: unknown, cleaned: string[]): unknown {
  const { value, cleaned: paths } = cleanJson(payload);
  cleaned.push(...paths.map((path) => `${path}: NUL or unpaired surrogate removed`));
  return value;
}

/** One change of an envelope: its field, its value, and the business number it is for (`value.metadata.phone_number_id`). */
export interface Change {
  field: string;
  value: Json;
  businessPhoneNumberId?: string;
}

export function changesOf(payload: unknown, ignored: string[]): Change[] {
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

/** A phone and a BSUID as Meta placed them; a BSUID found where a phone was expected is taken for what it is. */
export function userIds(phone: string | undefined, bsuid: string | undefined, extra: Omit<UserIds, 'phone' | 'bsuid'>): UserIds {
  const ids: UserIds = {};
  for (const id of [phone, bsuid]) {
    if (id && isBsuid(id)) ids.bsuid ??= id;
    else if (id) ids.phone ??= id;
  }
  if (extra.username) ids.username = extra.username;
  if (extra.parentBsuid) ids.parentBsuid = extra.parentBsuid;
  return ids;
}

/** What a field's parser needs besides the value: where to say what it skipped or repaired, and the number the change is for. */
export interface FieldContext {
  ignored: string[];
  cleaned: string[];
  number: { businessPhoneNumberId?: string };
  /** How many group messages were left out. */
  groups: { count: number };
}

/** WhatsApp's delivery statuses the service tracks, by the names Meta gives them. */
export const TRACKED_STATUSES: Record<string, WhatsAppDeliveryStatus> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  // A voice note listened to: as good as read for our ladder.
  played: 'read',
  failed: 'failed',
};
