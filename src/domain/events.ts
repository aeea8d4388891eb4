import type { UserIds } from './user-ids';
import type { ThreadOwner } from './bot-voice';
import type { CallEvent, EchoMessage, ForNumber, HistoryMessage, InboundMessage, MediaRef, StatusUpdate, UserIdChange } from './whatsapp-events';

export * from './whatsapp-events';

/**
 * The events that travel through the streams. Each carries `key` (the
 * user's conversation key, their first phone or BSUID, see user-ids.ts: the
 * partition and the ordering unit) and `id`, its natural id, which
 * the worker records in the same transaction that applies it: a redelivered
 * or duplicated event is applied once.
 */

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

export interface ThreadControl extends ForNumber {
  ticketId?: string;
  /** `pass_thread_control`, `control_passed`, `control_taken`... as Meta named it. */
  event: string;
  /** True when the thread now belongs to the CRM's app (its agents answer). */
  toCrm: boolean;
  /** Who holds the thread after it (domain/bot-voice.ts); absent on events queued before it was told: `crm` or `bot` by `toCrm`. */
  owner?: 'bot' | ThreadOwner;
  appId?: string;
  metadata?: string;
  /** The user, as a webhook to /webhook names them (`sender`): the event is keyed by them, not by a ticket read at ingest. */
  user?: UserIds;
}

/** A thread-control call (`pass`, `take`, `release`) Meta refused for good: the ticket that asked records it. */
export interface ThreadControlRefusal {
  ticketId: string;
  action: string;
  error?: { code?: number; title?: string };
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
  | Envelope<'whatsapp.call', CallEvent>
  | Envelope<'user.id_changed', UserIdChange>
  | Envelope<'crm.handover', CrmHandover>
  | Envelope<'crm.message', CrmAgentMessage>
  | Envelope<'crm.typing', AgentPresence>
  | Envelope<'crm.read', AgentPresence>
  | Envelope<'meta.thread_control', ThreadControl>
  | Envelope<'whatsapp.thread_control.refused', ThreadControlRefusal>
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
