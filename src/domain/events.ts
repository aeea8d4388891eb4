import type { UserIds } from './user-ids';
import type { Pricing } from './rate-card';

/**
 * The events that travel through the streams. Each carries `key` (the
 * user's conversation key, their first phone or BSUID, see user-ids.ts: the
 * partition and the ordering unit) and `id`, its natural id, which
 * the worker records in the same transaction that applies it: a redelivered
 * or duplicated event is applied once.
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
interface ForNumber {
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

export type HandoverType = 'bot_to_human' | 'human_to_bot';

export interface CrmHandover {
  ticketId: string;
  handoverType: HandoverType;
  agentId?: string;
  agentName?: string;
  metadata?: Record<string, unknown>;
}

export type AgentMessageType = 'text' | 'image' | 'document' | 'audio' | 'video';

export interface CrmAgentMessage {
  ticketId: string;
  agentId?: string;
  message: string;
  messageType: AgentMessageType;
  caption?: string;
  filename?: string;
  timestamp?: string;
  /** The CRM's Idempotency-Key for this message: how a user's reply to it is named back to the CRM. */
  crmKey?: string;
  /** The wamid of the message the agent answers (WhatsApp's `context.message_id`). */
  replyToWaMessageId?: string;
}

/**
 * The agent holding a ticket is typing, or has read the user's messages: what
 * the CRM said (POST /api/crm/typing, /api/crm/read), with the user's message
 * it concerns (WhatsApp marks it and every earlier one read; a typing
 * indicator names one too, and marks it read as well).
 */
export interface AgentPresence {
  ticketId: string;
  agentId: string;
  /**
   * The user's message: its wamid, and its place in the history (`messages.id`, in the order the conversation's
   * messages were applied): what "earlier" means for a read mark, since WhatsApp's timestamps are whole seconds.
   */
  message: { waMessageId: string; historyId: number };
}

export interface ThreadControl {
  ticketId?: string;
  /** `pass_thread_control`, `control_passed`, `control_taken`... as Meta named it. */
  event: string;
  /** True when the thread now belongs to the CRM's app (its agents answer). */
  toCrm: boolean;
  appId?: string;
  metadata?: string;
}

export interface AgentAssignment {
  id?: string;
  name?: string;
  estimatedResponseTime?: string;
}

export interface AgentRequestResult {
  ticketId: string;
  outcome: 'accepted' | 'failed';
  agentAssigned?: AgentAssignment;
  /** The ticket's place in the CRM's queue, when the CRM says (`queuePosition` in the response, top level or in `agentAssigned`). */
  queuePosition?: number;
  error?: string;
}

export interface CustomerRecord {
  customerId: string;
  customerName: string;
  isInactive: boolean;
}

export interface CustomerLookupResult {
  document: string;
  outcome: 'found' | 'not_found' | 'failed';
  customer?: CustomerRecord;
  error?: string;
}

/**
 * Why WhatsApp would not take an agent's message: past the 24-hour window
 * (Graph 131047; only a template gets through), or refused for another
 * reason (a bad media link, a blocked user, an undeliverable number...).
 */
export type AgentMessageFailureReason = 'outside_window' | 'refused';

/**
 * An agent's message that WhatsApp refused (at send time, or later through a
 * `failed` status webhook): fed back to the ticket's machine, which decides
 * whether to send it again as the re-engagement template or tell the CRM.
 */
export interface AgentMessageFailure {
  ticketId: string;
  /** The failed send's outbox key, as the history knows it. */
  outboxKey: string;
  reason: AgentMessageFailureReason;
  /** How it went out: a message that already went as the template is not sent as one again. */
  sentAs: 'free_form' | 'template';
  message: { type: string; body: string | null; waMessageId: string | null; agentId?: string; media?: MediaRef };
  /** Graph's own error, when it gave one. */
  error?: { code?: number; title?: string };
}

/** A deadline come due: fed back on the owner's partition by the timer scheduler. */
export interface TimerFired {
  timer: string;
  dueAt: string;
  /** Set for a ticket's deadlines; a conversation's (the survey) have none. */
  ticketId?: string;
}

interface Envelope<T extends string, D> {
  type: T;
  key: string;
  id: string;
  at: string;
  data: D;
  /**
   * The W3C trace context of the step applying it (streams/worker.ts sets it when tracing is on): the outbox
   * rows it decides carry it, so their calls join its trace. Not part of what the event is: never stored with it.
   */
  traceparent?: string;
}

export type PipelineEvent =
  | Envelope<'user.message', InboundMessage>
  | Envelope<'whatsapp.status', StatusUpdate>
  | Envelope<'whatsapp.echo', EchoMessage>
  | Envelope<'whatsapp.history', HistoryMessage>
  | Envelope<'user.id_changed', UserIdChange>
  | Envelope<'crm.handover', CrmHandover>
  | Envelope<'crm.message', CrmAgentMessage>
  | Envelope<'crm.typing', AgentPresence>
  | Envelope<'crm.read', AgentPresence>
  | Envelope<'meta.thread_control', ThreadControl>
  | Envelope<'crm.agent_request.result', AgentRequestResult>
  | Envelope<'customer.lookup.result', CustomerLookupResult>
  | Envelope<'timer.fired', TimerFired>
  | Envelope<'whatsapp.agent_message.failed', AgentMessageFailure>;

export type PipelineEventType = PipelineEvent['type'];

export function pipelineEvent<T extends PipelineEventType>(type: T, key: string, id: string, data: Extract<PipelineEvent, { type: T }>['data']): PipelineEvent {
  return { type, key, id, at: new Date().toISOString(), data } as PipelineEvent;
}

/** An event as read from its partition stream: the worker hands these to the runtime. */
export interface StreamEntry {
  entryId: string;
  event: PipelineEvent;
}
