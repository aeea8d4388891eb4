import type { SurveyStatus, Ticket } from '../../db/schema';
import type { Logger } from '../../logger';
import type { Texts } from '../../texts';
import { addressOf, type UserIds } from '../../user-ids';
import type { ConversationEvent } from '../conversation';
import type { Effect, EffectName, EffectParams } from '../effects';
import {
  agentMessage,
  agentRequestBody,
  botReply,
  menuMessage,
  failedAgentMessageBody,
  surveyMessage,
  ticketUpdateBody,
  mediaUrlOf,
  userMessageBody,
  type ReengageTemplate,
} from './bodies';
import { handoverObservations, milestoneLine, ticketEventLine, type AfterCommit } from './observe';
import type { BatchRows } from './rows';
import type { ConversationState, Origin, TicketState } from './state';

/** What the bot's messages are made of, from configuration. */
export interface MessageSettings {
  texts: Texts;
  emergencyPhone: string;
  /** The approved template an agent's message goes out as past WhatsApp's window; null: such messages are refused. */
  reengageTemplate: ReengageTemplate;
  /** Where the CRM reaches this service: a user-message's `mediaUrl` is under it. */
  publicBaseUrl: string;
}

/** What an effect may touch: the batch's rows and actors, and the settings its messages need. */
export interface EffectHost {
  settings: MessageSettings;
  logger: Logger;
  rows: BatchRows;
  afterCommit: AfterCommit;
  ticket(ticketId: string): TicketState | undefined;
  conversation(key: string): ConversationState;
  /** Every id known of the user a conversation key names. */
  userIds(key: string): UserIds;
  /** The id the CRM knows a message by (see `MessageRefs.crmIdOf`); the batch loaded what its events name. */
  crmIdOf(waMessageId: string): string;
  openTicket(origin: Origin, category: Ticket['category'], priority: Ticket['priority']): Promise<void>;
  sendToConversation(origin: Origin, event: ConversationEvent): Promise<void>;
}

/** The event an effect answers, and the ticket whose machine asked for it (null: the conversation's). */
export interface EffectScope {
  origin: Origin;
  ticketId: string | null;
}

type Interpreter<K extends EffectName> = (host: EffectHost, scope: EffectScope, params: EffectParams[K]) => void | Promise<void>;

/** The ticket a ticket machine's effect belongs to: it is loaded, since its machine just ran. */
const ownTicket = (host: EffectHost, scope: EffectScope) => host.ticket(scope.ticketId!)!;
const crmLane = (origin: Origin) => `crm:${origin.phone}`;
const addressFor = (host: EffectHost, origin: Origin) => addressOf(host.userIds(origin.phone));

/** A survey outcome names a ticket the conversation remembers; one rating per ticket (a replayed tap changes nothing). */
function unratedSurveyedTicket(host: EffectHost, ticketId: string): TicketState | undefined {
  const ticket = host.ticket(ticketId);
  if (!ticket) host.logger.warn({ event: 'survey.unknown_ticket', ticketId }, 'survey outcome for an unknown ticket');
  return ticket && ticket.csat === null ? ticket : undefined;
}

function setSurveyStatus(ticket: TicketState, status: SurveyStatus): void {
  ticket.surveyStatus = status;
  ticket.dirty = true;
}

const INTERPRETERS: { [K in EffectName]: Interpreter<K> } = {
  reply: (host, { origin, ticketId }, params) =>
    host.rows.sendWhatsApp(origin, {
      ticketId,
      author: 'bot',
      authorId: null,
      type: 'text',
      ...botReply(host.settings.texts, host.settings.emergencyPhone, addressFor(host, origin), params),
    }),

  showMenu: (host, { origin, ticketId }, params) =>
    host.rows.sendWhatsApp(origin, {
      ticketId,
      author: 'bot',
      authorId: null,
      type: 'interactive',
      ...menuMessage(host.settings.texts, addressFor(host, origin), params),
    }),

  offerSurvey: (host, { origin }, { ticketId }) => {
    const ticket = host.ticket(ticketId);
    if (ticket) setSurveyStatus(ticket, 'offered');
    host.rows.sendWhatsApp(origin, {
      ticketId,
      author: 'bot',
      authorId: null,
      type: 'interactive',
      ...surveyMessage(host.settings.texts, addressFor(host, origin)),
    });
  },

  lookupCustomer: (host, { origin }, { document }) => {
    // The directory is asked by document alone when the user hides their phone (DESIGN 2.4).
    const { phone } = host.userIds(origin.phone);
    host.rows.enqueue(origin, 'customer.lookup', `lookup:${origin.phone}`, null, { key: origin.phone, document, ...(phone ? { phone } : {}) });
  },

  openTicket: (host, { origin }, { category, priority }) => host.openTicket(origin, category, priority),

  recordCsat: (host, { origin }, { ticketId, score }) => {
    const ticket = unratedSurveyedTicket(host, ticketId);
    if (!ticket) return;
    ticket.csat = score;
    setSurveyStatus(ticket, 'answered');
    host.rows.ticketEvent(ticketId, 'csat', { score }, origin.at);
    host.rows.enqueue(
      origin,
      'crm.ticket_update',
      crmLane(origin),
      ticketId,
      ticketUpdateBody(ticket.snapshot, host.userIds(origin.phone), 'csat', origin.at, { csat: score }),
    );
  },

  // The survey ended without a rating: recorded with the ticket and told to the CRM, so the response rate is honest.
  closeSurvey: (host, { origin }, { ticketId, outcome }) => {
    const ticket = unratedSurveyedTicket(host, ticketId);
    if (!ticket) return;
    setSurveyStatus(ticket, outcome);
    host.rows.ticketEvent(ticketId, `survey_${outcome}`, {}, origin.at);
    host.rows.enqueue(
      origin,
      'crm.ticket_update',
      crmLane(origin),
      ticketId,
      ticketUpdateBody(ticket.snapshot, host.userIds(origin.phone), `survey_${outcome}`, origin.at),
    );
  },

  requestAgent: (host, scope) => {
    const ticket = ownTicket(host, scope).snapshot.context;
    const body = agentRequestBody(ticket, host.userIds(ticket.phone), host.conversation(ticket.phone).createdAt);
    host.rows.enqueue(scope.origin, 'crm.agent_request', crmLane(scope.origin), scope.ticketId, body);
  },

  relayToCrm: (host, { origin, ticketId }, { message }) => {
    const refs = { mediaUrl: mediaUrlOf(host.settings.publicBaseUrl), crmIdOf: (waMessageId: string) => host.crmIdOf(waMessageId) };
    host.rows.enqueue(origin, 'crm.user_message', crmLane(origin), ticketId, userMessageBody(ticketId, host.userIds(origin.phone), message, refs));
  },

  deliverAgentMessage: (host, { origin, ticketId }, params) =>
    host.rows.sendWhatsApp(origin, {
      ticketId,
      author: 'agent',
      authorId: params.agentId ?? null,
      type: params.messageType,
      media: params.media,
      crmKey: params.crmKey,
      ...agentMessage(addressFor(host, origin), params, host.settings.reengageTemplate),
    }),

  reportAgentMessageFailed: (host, scope, params) => {
    const ticket = ownTicket(host, scope).snapshot;
    const body = failedAgentMessageBody(ticket, host.userIds(ticket.context.phone), params, scope.origin.at);
    host.rows.enqueue(scope.origin, 'crm.ticket_update', crmLane(scope.origin), scope.ticketId, body);
  },

  notifyCrm: (host, scope, { status, reason }) => {
    const ticket = ownTicket(host, scope).snapshot;
    const body = { ...ticketUpdateBody(ticket, host.userIds(ticket.context.phone), reason, scope.origin.at), status };
    host.rows.enqueue(scope.origin, 'crm.ticket_update', crmLane(scope.origin), scope.ticketId, body);
  },

  ticketClosed: (host, { origin, ticketId }, { reason }) =>
    host.sendToConversation(origin, { type: 'ticket.closed', at: origin.at, ticketId: ticketId!, reason }),

  recordTicketEvent: (host, scope, { type, data = {} }) => {
    const { origin } = scope;
    const ticket = ownTicket(host, scope).snapshot.context;
    host.rows.ticketEvent(ticket.ticketId, type, data, origin.at);
    host.afterCommit.observe(handoverObservations(type, ticket, origin.at));
    host.afterCommit.log(ticketEventLine(type, ticket.ticketId, origin.phone, data));
  },

  logMilestone: (host, { origin, ticketId }, { milestone }) => host.afterCommit.log(milestoneLine(milestone, ticketId!, origin.phone)),
};

/** Runs a transition's effects in the order the machine listed them. */
export async function perform(host: EffectHost, scope: EffectScope, effects: Effect[]): Promise<void> {
  for (const effect of effects) await (INTERPRETERS[effect.type] as Interpreter<typeof effect.type>)(host, scope, effect.params);
}
