import type { SurveyStatus } from '../../db/schema';
import type { Texts } from '../../domain/texts';
import { addressOf } from '../../domain/user-ids';
import { numberOfKey, type BusinessNumbers } from '../../domain/business-numbers';
import type { OutboxKind } from '../../domain/lanes';
import { readMark } from '../../integrations/whatsapp-messages';
import type { Effect, EffectName, EffectParams } from '../effects';
import type { BatchActors } from './actors';
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
import { handoverObservations, milestoneLine, quietLine, ticketEventLine, unknownSurveyTicketLine, type AfterCommit } from './observe';
import type { BatchRows, OutboundMessage } from './rows';
import { botSilence, OPEN_VOICE } from '../../domain/bot-voice';
import { noticeDue, type PrivacyNotice } from '../../domain/privacy-notice';
import { textMessage } from '../../integrations/whatsapp-messages';
import type { Letter, Origin, TicketState } from './state';

/** What the bot's messages are made of, from configuration. */
export interface MessageSettings {
  texts: Texts;
  emergencyPhone: string;
  /** The approved template an agent's message goes out as past WhatsApp's window; null: such messages are refused. */
  reengageTemplate: ReengageTemplate;
  /** Where the CRM reaches this service: a user-message's `mediaUrl` is under it. */
  publicBaseUrl: string;
  /** The WhatsApp numbers served: which one a conversation belongs to. */
  numbers: BusinessNumbers;
  /** How long the bot keeps quiet after a person answered from the WhatsApp Business app (BOT_PAUSE_AFTER_BUSINESS_REPLY_S). */
  botPauseAfterBusinessReplyS: number;
  /** The privacy notice the bot sends before its first answer to a subscriber, and again once it changes; absent or null: none. */
  privacyNotice?: PrivacyNotice | null;
}

/** What an effect may touch: the batch's actors and rows, what waits for the commit, and the settings its messages need. */
export interface EffectTarget {
  settings: MessageSettings;
  actors: BatchActors;
  rows: BatchRows;
  afterCommit: AfterCommit;
}

/** The event an effect answers, and the ticket whose machine asked for it (null: the conversation's). */
export interface EffectScope {
  origin: Origin;
  ticketId: string | null;
}

/** An interpreter writes rows; an effect meant for another machine comes back as a letter, for the core to deliver. */
type Interpreter<K extends EffectName> = (target: EffectTarget, scope: EffectScope, params: EffectParams[K]) => Letter | void;

/** The ticket a ticket machine's effect belongs to: it is loaded, since its machine just ran. */
const ownTicket = (target: EffectTarget, scope: EffectScope) => target.actors.ticket(scope.ticketId!)!;
const addressFor = (target: EffectTarget, origin: Origin) => addressOf(target.actors.userIds(origin.conversationKey));

/**
 * The bot's own words, unless it must keep quiet (domain/bot-voice.ts):
 * another responder owns the thread (a send would take it over), or a person
 * answers from the WhatsApp Business app. What it would have said is dropped.
 */
function botSays(target: EffectTarget, origin: Origin, message: OutboundMessage): void {
  const silence = botSilence(target.actors.loaded.conversation(origin.conversationKey)?.voice ?? OPEN_VOICE, origin.at);
  if (silence) target.afterCommit.log(quietLine(origin.conversationKey, silence));
  else target.rows.sendWhatsApp(origin, message);
}

/**
 * The privacy notice, when the user was never sent this version of it: a
 * bot message like the others (history, outbox, the bot's silence), queued
 * before what the bot answers; the version and time are kept with the
 * conversation, so it goes once per version.
 */
export function sendPrivacyNoticeIfDue(target: EffectTarget, origin: Origin): void {
  const notice = target.settings.privacyNotice ?? null;
  const conversation = target.actors.conversation(origin.conversationKey);
  if (!noticeDue(notice, conversation.notice)) return;
  const to = addressFor(target, origin);
  botSays(target, origin, { ticketId: null, author: 'bot', authorId: null, type: 'text', body: notice.text, payload: textMessage(to, notice.text) });
  conversation.notice = { version: notice.version, sentAt: origin.at };
  conversation.dirty = true;
}

/** A call to the CRM, naming the business number the user wrote to (DESIGN 2.2), when one is configured. */
function callCrm(target: EffectTarget, origin: Origin, kind: OutboxKind, ticketId: string | null, body: Record<string, unknown>): void {
  const businessPhoneNumberId = numberOfKey(target.settings.numbers, origin.conversationKey);
  target.rows.enqueue(origin, kind, ticketId, businessPhoneNumberId ? { ...body, businessPhoneNumberId } : body);
}

/** A survey outcome names a ticket the conversation remembers; one rating per ticket (a replayed tap changes nothing). */
function unratedSurveyedTicket(target: EffectTarget, ticketId: string): TicketState | undefined {
  const ticket = target.actors.ticket(ticketId);
  if (!ticket) target.afterCommit.log(unknownSurveyTicketLine(ticketId));
  return ticket && ticket.csat === null ? ticket : undefined;
}

function setSurveyStatus(ticket: TicketState, status: SurveyStatus): void {
  ticket.surveyStatus = status;
  ticket.dirty = true;
}

const INTERPRETERS: { [K in EffectName]: Interpreter<K> } = {
  reply: (target, { origin, ticketId }, params) =>
    botSays(target, origin, {
      ticketId,
      author: 'bot',
      authorId: null,
      type: 'text',
      ...botReply(target.settings.texts, target.settings.emergencyPhone, addressFor(target, origin), params),
    }),

  showMenu: (target, { origin, ticketId }, params) =>
    botSays(target, origin, {
      ticketId,
      author: 'bot',
      authorId: null,
      type: 'interactive',
      ...menuMessage(target.settings.texts, addressFor(target, origin), params),
    }),

  offerSurvey: (target, { origin }, { ticketId }) => {
    const ticket = target.actors.ticket(ticketId);
    if (ticket) setSurveyStatus(ticket, 'offered');
    botSays(target, origin, {
      ticketId,
      author: 'bot',
      authorId: null,
      type: 'interactive',
      ...surveyMessage(target.settings.texts, addressFor(target, origin)),
    });
  },

  lookupCustomer: (target, { origin }, { document, typedIn }) => {
    // The directory is asked by document alone when the user hides their phone (DESIGN 2.4).
    const { phone } = target.actors.userIds(origin.conversationKey);
    target.rows.enqueue(origin, 'customer.lookup', null, { document, ...(phone ? { phone } : {}) });
    // The document is personal data the history does not need (DESIGN 7): the lookup call carries it from here.
    if (typedIn) target.rows.maskTypedDocument(typedIn, document);
  },

  openTicket: (_target, { origin }, { category, priority }) => ({ to: 'new ticket', origin, category, priority }),

  recordCsat: (target, { origin }, { ticketId, score }) => {
    const ticket = unratedSurveyedTicket(target, ticketId);
    if (!ticket) return;
    ticket.csat = score;
    setSurveyStatus(ticket, 'answered');
    target.rows.ticketEvent(ticketId, 'csat', { score }, origin.at);
    const body = ticketUpdateBody(ticket.snapshot, target.actors.userIds(origin.conversationKey), 'csat', origin.at, { csat: score });
    callCrm(target, origin, 'crm.ticket_update', ticketId, body);
  },

  // The survey ended without a rating: recorded with the ticket and told to the CRM, so the response rate is honest.
  closeSurvey: (target, { origin }, { ticketId, outcome }) => {
    const ticket = unratedSurveyedTicket(target, ticketId);
    if (!ticket) return;
    setSurveyStatus(ticket, outcome);
    target.rows.ticketEvent(ticketId, `survey_${outcome}`, {}, origin.at);
    const body = ticketUpdateBody(ticket.snapshot, target.actors.userIds(origin.conversationKey), `survey_${outcome}`, origin.at);
    callCrm(target, origin, 'crm.ticket_update', ticketId, body);
  },

  requestAgent: (target, scope) => {
    const ticket = ownTicket(target, scope).snapshot.context;
    const body = agentRequestBody(ticket, target.actors.userIds(ticket.conversationKey), target.actors.conversation(ticket.conversationKey).createdAt);
    callCrm(target, scope.origin, 'crm.agent_request', scope.ticketId, body);
  },

  relayToCrm: (target, { origin, ticketId }, { message }) => {
    const refs = { mediaUrl: mediaUrlOf(target.settings.publicBaseUrl), crmIdOf: (waMessageId: string) => target.actors.crmIdOf(waMessageId) };
    const body = userMessageBody(ticketId, target.actors.userIds(origin.conversationKey), message, refs);
    callCrm(target, origin, 'crm.user_message', ticketId, body);
  },

  deliverAgentMessage: (target, { origin, ticketId }, params) =>
    target.rows.sendWhatsApp(origin, {
      ticketId,
      author: 'agent',
      authorId: params.agentId ?? null,
      type: params.messageType,
      media: params.media,
      crmKey: params.crmKey,
      ...agentMessage(addressFor(target, origin), params, target.settings.reengageTemplate),
    }),

  showTyping: (target, { origin, ticketId }, { waMessageId }) =>
    void target.rows.enqueue(origin, 'whatsapp.typing', ticketId, readMark(waMessageId, true), 'agent'),

  markRead: (target, { origin, ticketId }, { waMessageId }) =>
    void target.rows.enqueue(origin, 'whatsapp.read', ticketId, readMark(waMessageId, false), 'agent'),

  reportAgentMessageFailed: (target, scope, params) => {
    const ticket = ownTicket(target, scope).snapshot;
    const body = failedAgentMessageBody(ticket, target.actors.userIds(ticket.context.conversationKey), params, scope.origin.at);
    callCrm(target, scope.origin, 'crm.ticket_update', scope.ticketId, body);
  },

  notifyCrm: (target, scope, { status, reason }) => {
    const ticket = ownTicket(target, scope).snapshot;
    const body = { ...ticketUpdateBody(ticket, target.actors.userIds(ticket.context.conversationKey), reason, scope.origin.at), status };
    callCrm(target, scope.origin, 'crm.ticket_update', scope.ticketId, body);
  },

  reportToCrm: (target, scope, { reason, details }) => {
    const ticket = ownTicket(target, scope).snapshot;
    const body = { ...ticketUpdateBody(ticket, target.actors.userIds(ticket.context.conversationKey), reason, scope.origin.at), ...details };
    callCrm(target, scope.origin, 'crm.ticket_update', scope.ticketId, body);
  },

  // The call goes in the user's WhatsApp lane, after what was queued before it; the bot knows the owner from now on
  // (Meta tells only the new owner): a refusal sets it right (core.ts).
  threadControl: (target, { origin, ticketId }, { action, targetRole }) => {
    const body = {
      messaging_product: 'whatsapp',
      ...addressFor(target, origin),
      action,
      ...(targetRole ? { control_pass: { target_role: targetRole } } : {}),
      // The new owner learns the ticket from it, as the seed's thread control carried it.
      ...(ticketId ? { metadata: JSON.stringify({ ticket_id: ticketId }) } : {}),
    };
    target.rows.enqueue(origin, 'whatsapp.thread_control', ticketId, body);
    if (action !== 'release') target.actors.setVoice(origin.conversationKey, { threadOwner: action === 'take' ? null : (targetRole ?? 'crm') });
  },

  ticketClosed: (_target, { origin, ticketId }, { reason }) => ({
    to: 'conversation',
    origin,
    event: { type: 'ticket.closed', at: origin.at, ticketId: ticketId!, reason },
  }),

  recordTicketEvent: (target, scope, { type, data = {} }) => {
    const { origin } = scope;
    const ticket = ownTicket(target, scope).snapshot.context;
    target.rows.ticketEvent(ticket.ticketId, type, data, origin.at);
    target.afterCommit.observe(handoverObservations(type, ticket, origin.at));
    target.afterCommit.log(ticketEventLine(type, ticket.ticketId, origin.conversationKey, data));
  },

  logMilestone: (target, { origin, ticketId }, { milestone }) => target.afterCommit.log(milestoneLine(milestone, ticketId!, origin.conversationKey)),
};

/** Turns a transition's effects into rows, in the order the machine listed them; returns the letters they post to other machines. */
export function interpret(target: EffectTarget, scope: EffectScope, effects: Effect[]): Letter[] {
  const letters: Letter[] = [];
  for (const effect of effects) {
    const letter = (INTERPRETERS[effect.type] as Interpreter<typeof effect.type>)(target, scope, effect.params);
    if (letter) letters.push(letter);
  }
  return letters;
}
