import type { TextKey } from '../domain/texts';
import type { AgentMessageFailure, AgentMessageType, InboundMessage, MediaRef } from '../domain/events';
import type { CloseReason, TicketCategory, TicketPriority, TicketStatus } from '../db/schema';

/**
 * The effects machines may ask for. Machines never perform them: XState's
 * pure `transition()` returns them as named actions with resolved params,
 * and the runtime turns each into rows (outbox, history, tickets) in the
 * transaction that applies the event.
 */
export interface EffectParams {
  reply: { text: TextKey; vars?: Record<string, string | number> };
  showMenu: { greeting: boolean; notUnderstood: boolean; profileName?: string };
  /** `typedIn`: the user's message that carried the document, stored masked from now on (the lookup has it). */
  lookupCustomer: { document: string; typedIn?: string };
  openTicket: { category: TicketCategory; priority: TicketPriority };
  offerSurvey: { ticketId: string };
  recordCsat: { ticketId: string; score: number };
  closeSurvey: { ticketId: string; outcome: 'expired' | 'skipped' };
  requestAgent: undefined;
  relayToCrm: { message: InboundMessage };
  deliverAgentMessage: {
    agentId?: string;
    messageType: AgentMessageType;
    body: string;
    media?: MediaRef;
    asTemplate: boolean;
    /** The CRM's Idempotency-Key of the message, kept with its history row. */
    crmKey?: string;
    replyToWaMessageId?: string;
  };
  /** An agent's message that will not reach the user (refused by WhatsApp, or past the window with no template): the CRM is told. */
  reportAgentMessageFailed: { reason: AgentMessageFailure['reason']; message: AgentMessageFailure['message']; error?: AgentMessageFailure['error'] };
  /** WhatsApp's "typing…" for the user (it also marks `waMessageId` and every earlier message read). */
  showTyping: { waMessageId: string };
  /** The user's messages up to `waMessageId` shown read (blue ticks): only ever on the CRM's word. */
  markRead: { waMessageId: string };
  notifyCrm: { status: TicketStatus; reason: TicketUpdateReason };
  /** Conversation Routing: pass the thread (to the escalation partner, or to Meta's AI), take it, or release it. */
  threadControl: { action: 'pass' | 'take' | 'release'; targetRole?: 'ai_agent' };
  /** Something the agent should know that is not the user's message (the business answered from elsewhere, a call): a ticket-update with its details. */
  reportToCrm: { reason: TicketUpdateReason; details: Record<string, unknown> };
  ticketClosed: { reason: CloseReason };
  recordTicketEvent: { type: string; data?: Record<string, unknown> };
  logMilestone: { milestone: 'agent_required' | 'bot_to_human' | 'human_to_bot' };
}

/** Why the bot tells the CRM about a ticket on its own (`ticket-update`'s `reason`). */
export type TicketUpdateReason =
  | CloseReason
  | 'escalated'
  | 'supervisor_queue'
  | 'agent_reminder'
  | 'csat'
  | 'survey_expired'
  | 'survey_skipped'
  | 'message_failed'
  /** The business answered from the WhatsApp Business app, or another responder wrote (an echo): `message` says what. */
  | 'business_message'
  /** The user called the business number (the `calls` webhook): `call` says when and how it went. */
  | 'call'
  /** The user's phone or BSUID changed: the body names the current ids, `previousUserPhone` / `previousUserId` the replaced ones. */
  | 'identity_changed';

export type EffectName = keyof EffectParams;
export type Effect = { [K in EffectName]: { type: K; params: EffectParams[K] } }[EffectName];

/** A typed placeholder implementation: declares the action and its params, does nothing. */
export const effect =
  <K extends EffectName>() =>
  (_args: unknown, _params: EffectParams[K]): void => {};

const EFFECT_NAMES = new Set<string>([
  'reply',
  'showMenu',
  'lookupCustomer',
  'openTicket',
  'offerSurvey',
  'recordCsat',
  'closeSurvey',
  'requestAgent',
  'relayToCrm',
  'deliverAgentMessage',
  'reportAgentMessageFailed',
  'showTyping',
  'markRead',
  'notifyCrm',
  'reportToCrm',
  'threadControl',
  'ticketClosed',
  'recordTicketEvent',
  'logMilestone',
] satisfies EffectName[]);

/** Keeps the runtime's effects from the actions XState also reports (assign, raise...). */
export function effectsOf(actions: readonly { type: string; params?: unknown }[]): Effect[] {
  return actions.filter((action) => EFFECT_NAMES.has(action.type)).map((action) => ({ type: action.type, params: action.params }) as Effect);
}
