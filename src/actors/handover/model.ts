import type { CallEvent, EchoMessage, ThreadControlRefusal } from '../../domain/events';
import type { AgentAssignment, AgentMessageFailure, AgentPresence, CrmAgentMessage, CustomerRecord, InboundMessage, ThreadControl } from '../../domain/events';
import type { CloseReason, TicketCategory, TicketPriority, TicketStatus } from '../../db/schema';
import type { BusinessCalendar } from '../../domain/business-hours';
import type { Deadlines } from '../deadlines';
import type { IdentityChange } from '../../domain/user-ids';

export interface Agent {
  id: string;
  name: string;
}

export interface HandoverInput {
  ticketId: string;
  /** The user's conversation key: a phone or a BSUID (user-ids.ts), never written to or masked as a phone. */
  conversationKey: string;
  category: TicketCategory;
  priority: TicketPriority;
  customer: CustomerRecord;
  requestedAt: string;
}

/**
 * The deadlines a ticket keeps. Each is a due time in the context: the
 * runtime stores it in the `timers` table and feeds a `timer.fired` event
 * back when it is due (XState's `after` timers do not survive a restart).
 */
export type HandoverTimer = 'assign' | 'queueUpdate' | 'abandon' | 'agentReply' | 'idle';

/** The lifecycle rules' knobs (DESIGN 4), from configuration. */
export interface HandoverPolicy {
  assignTimeoutS: number;
  maxEscalations: number;
  supervisorQueue: boolean;
  agentReplyTimeoutS: number;
  queueUpdateIntervalS: number;
  userAbandonTimeoutS: number;
  /** WhatsApp's customer-service window. */
  windowS: number;
  /** Whether an agent's message outside the window goes out as the configured template (else it is refused). */
  reengageTemplate: boolean;
  outOfHoursQueue: boolean;
  calendar: BusinessCalendar;
  /** WHATSAPP_THREAD_CONTROL: whether the ticket passes and takes the WhatsApp thread (Conversation Routing); off when absent. */
  threadControl?: 'off' | 'crm' | 'ai_agent';
}

export interface HandoverContext extends HandoverInput {
  /** The CRM's tentative pick from the agent-request response: not yet in charge. */
  proposedAgent: AgentAssignment | null;
  queuePosition: number | null;
  agent: Agent | null;
  assignedAt: string | null;
  firstAgentReplyAt: string | null;
  closedAt: string | null;
  closeReason: CloseReason | null;
  lastActivityAt: string;
  /** The start of WhatsApp's 24-hour window: only within it may an agent write free-form. */
  lastUserMessageAt: string;
  /** Messages exchanged between the user and the agent on this ticket, both directions. */
  messageCount: number;
  waitingNoticeSent: boolean;
  /** Steps climbed on the escalation ladder in the current phase (waiting, then with an agent). */
  ladderStep: number;
  /** Escalations over the ticket's whole life, for the KPIs. */
  escalations: number;
  supervisorQueued: boolean;
  agentReminded: boolean;
  deadlines: Deadlines<HandoverTimer>;
  /** When the agent's last message to the user was accepted: a typing indicator asked for before it is stale. */
  lastAgentMessageAt: string | null;
  /** When WhatsApp was last asked to show "typing…" (it shows it 25 s, or until the reply). */
  typingShownAt: string | null;
  /** The history id of the latest user message WhatsApp was asked to mark read: an earlier one is read already. */
  readUpTo: number | null;
}

/**
 * The fields the lifecycle rules added to a ticket, as a new ticket starts
 * them: a snapshot stored before them is restored with the same values
 * (runtime/restore.ts).
 */
export const LIFECYCLE_START = { queuePosition: null, ladderStep: 0, escalations: 0, supervisorQueued: false, agentReminded: false } as const;

/** The fields typing and read added, as a new ticket starts them (and a snapshot stored before them is restored with). */
export const PRESENCE_START = { lastAgentMessageAt: null, typingShownAt: null, readUpTo: null } as const;

/** WhatsApp shows "typing…" for 25 s or until the reply: asked again no sooner than this, however often the CRM says so. */
export const TYPING_REFRESH_S = 20;

/** Every event carries `at`, the time it was accepted: the machine never reads a clock. */
export type HandoverEvent =
  | { type: 'user.message'; at: string; message: InboundMessage }
  | { type: 'crm.handover.bot_to_human'; at: string; agent: Agent }
  | { type: 'crm.handover.human_to_bot'; at: string }
  | { type: 'crm.message'; at: string; message: CrmAgentMessage }
  | { type: 'crm.typing'; at: string; presence: AgentPresence }
  | { type: 'crm.read'; at: string; presence: AgentPresence }
  | { type: 'crm.agent_request.accepted'; at: string; agent: AgentAssignment | null; queuePosition: number | null }
  | { type: 'crm.agent_request.failed'; at: string; error: string }
  | { type: 'meta.thread_control'; at: string; control: ThreadControl }
  | { type: 'timer.fired'; at: string; timer: HandoverTimer; dueAt: string }
  | { type: 'whatsapp.agent_message.failed'; at: string; failure: AgentMessageFailure }
  | { type: 'whatsapp.echo'; at: string; echo: EchoMessage }
  /** The user's phone or BSUID was replaced (routed here only while the ticket is open): the CRM must name them anew. */
  | { type: 'user.identity_changed'; at: string; change: IdentityChange }
  | { type: 'whatsapp.thread_control.refused'; at: string; refusal: ThreadControlRefusal }
  | { type: 'whatsapp.call'; at: string; call: CallEvent };

/**
 * A closed ticket is not a final state: WhatsApp can still refuse, after the
 * agent gave the ticket back, a message the agent wrote before, and the
 * machine must still decide what becomes of it.
 */
export const isClosed = (state: unknown): boolean => state === 'closed';

export const statusOf = (state: string): TicketStatus => (state === 'waitingAgent' ? 'pending' : state === 'withAgent' ? 'active' : 'closed');

/** What the ticket is doing within its status, for the status endpoint and the dashboards. */
export function phaseOf(state: string, context: HandoverContext): string {
  if (state === 'closed') return 'closed';
  if (context.supervisorQueued) return 'supervisor_queue';
  if (context.ladderStep > 0) return 'escalated';
  if (state === 'withAgent') return context.agentReminded ? 'agent_reminded' : 'with_agent';
  return 'waiting_agent';
}
