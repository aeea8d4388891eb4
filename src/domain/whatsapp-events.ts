import type { UserIds } from './user-ids';
import type { Pricing } from './rate-card';

/**
 * What WhatsApp's webhooks tell, as the pipeline carries it: a user's
 * message, a delivery status, a changed user id, and what the business sent
 * without this service (an echo, a past chat). events.ts puts them in
 * pipeline events.
 */

export interface MediaRef {
  id?: string;
  url?: string;
  mimeType?: string;
  caption?: string;
  filename?: string;
  /** Hex SHA-256 of the file as WhatsApp gave it in the webhook: checked when the file is fetched. */
  sha256?: string;
}

export interface Location {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
  url?: string;
}

/** A shared contact card, as WhatsApp describes it (`messages[].contacts[]`), its fields kept as data. */
export interface ContactCard {
  name?: string;
  phones: { phone?: string; waId?: string; type?: string }[];
  emails: { email?: string; type?: string }[];
  organization?: { company?: string; department?: string; title?: string };
  urls: { url?: string; type?: string }[];
  birthday?: string;
}

/** A reaction names the message it reacts to; an empty emoji takes the reaction back. */
export interface Reaction {
  waMessageId: string;
  emoji: string;
}

/** The business number a webhook was for (`metadata.phone_number_id`): which conversation of the user it belongs to. */
export interface ForNumber {
  businessPhoneNumberId?: string;
}

export interface InboundMessage extends ForNumber {
  /** The ids the webhook named the sender by: a phone, a BSUID, or both. */
  user: UserIds;
  waMessageId: string;
  /** ISO time WhatsApp gives for the message. */
  timestamp: string;
  profileName?: string;
  type: string;
  /** What a person would read: the text, a caption, the title of a tapped button. */
  text?: string;
  /** The id of a tapped reply button or list row, or a template button's payload. */
  replyId?: string;
  media?: MediaRef;
  /** The wamid of the message this one replies to (WhatsApp's `context.id`). */
  replyTo?: string;
  reaction?: Reaction;
  location?: Location;
  contacts?: ContactCard[];
  /** A user's `edit` (coexistence numbers): the message it changes and what it says now. */
  edit?: MessageEdit;
  /** A user's `revoke`: the message deleted for everyone. */
  revoke?: { waMessageId: string };
  /** Delivered as `standby`: another responder owns the thread (Conversation Routing); the bot must not answer. */
  standby?: boolean;
}

/** A message changed after it was sent: the one it changes (`original_message_id`) and its new text or media. */
export interface MessageEdit {
  waMessageId: string;
  type: string;
  text?: string;
  media?: MediaRef;
}

/**
 * What the business sent from somewhere else than this service: a person on
 * the WhatsApp Business app on the same number (`smb_message_echoes`), or
 * another responder under Conversation Routing (a `standby` echo). Its
 * `edit` and `revoke` change a message sent before.
 */
export interface EchoMessage extends ForNumber {
  /** The user it was sent to. */
  user: UserIds;
  waMessageId: string;
  timestamp: string;
  type: string;
  text?: string;
  media?: MediaRef;
  edit?: MessageEdit;
  revoke?: { waMessageId: string };
  source: 'business_app' | 'other_responder';
}

/** A past chat shared when a Business app number joined the Cloud API (`history`): stored, never answered. */
export interface HistoryMessage extends ForNumber {
  user: UserIds;
  waMessageId: string;
  timestamp: string;
  type: string;
  text?: string;
  media?: MediaRef;
  /** Sent by the business (from the app), else by the user. */
  fromBusiness: boolean;
  /** The delivery status the history gives a message the business sent. */
  status?: WhatsAppDeliveryStatus;
}

/** Message kinds that are not a turn in the conversation: the bot never answers them. */
export const AMBIENT_MESSAGE_TYPES = new Set(['reaction', 'revoke', 'edit', 'system', 'unsupported', 'unknown', 'errors']);

export type WhatsAppDeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

export interface StatusUpdate extends ForNumber {
  waMessageId: string;
  status: WhatsAppDeliveryStatus;
  timestamp: string;
  /** `recipient_id` (only for a send to a phone) and `recipient_user_id`. */
  user: UserIds;
  errors?: { code?: number; title?: string; message?: string }[];
  callbackData?: string;
  /** What WhatsApp charges for the message (`pricing`): whether it is billable, the model and the category. */
  pricing?: Pricing;
}

/** Meta's `user_id_update`: the user's BSUID changed (it does when they change phone number). */
export interface UserIdChange extends ForNumber {
  previousBsuid: string;
  bsuid: string;
  phone?: string;
  timestamp: string;
}

/** A user's WhatsApp voice call to a business number (`calls`): its start (`connect`) or its end (`terminate`). */
export interface CallEvent extends ForNumber {
  user: UserIds;
  /** WhatsApp's call id (`wacid.…`). */
  callId: string;
  event: 'connect' | 'terminate';
  timestamp: string;
  direction?: string;
  /** How a terminated call went (`COMPLETED`, `FAILED`...), as Meta says it. */
  status?: string;
  durationS?: number;
}

/**
 * A change to a message template (`message_template_status_update`: approved,
 * paused, disabled...; `template_category_update`): not a conversation's, the
 * webhook tells operators of those the service sends.
 */
export interface TemplateUpdate {
  name: string;
  language?: string;
  /** `APPROVED`, `PAUSED`, `DISABLED`, `REJECTED`... or `CATEGORY_CHANGED`. */
  event: string;
  reason?: string;
  category?: string;
  previousCategory?: string;
}
