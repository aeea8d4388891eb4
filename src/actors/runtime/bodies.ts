import type { InboundMessage } from '../../domain/events';
import { OUTSIDE_WINDOW_CODE } from '../../integrations/whatsapp';
import {
  buttonsMessage,
  listMessage,
  mediaMessage,
  templateMessage,
  textMessage,
  type Address,
  type WhatsAppMessage,
} from '../../integrations/whatsapp-messages';
import { renderText, type Texts } from '../../domain/texts';
import { crmUserFields, type UserIds } from '../../domain/user-ids';
import type { EffectParams, TicketUpdateReason } from '../effects';
import { statusOf, type HandoverContext } from '../handover';
import { REPLY_IDS } from '../intents';
import type { HandoverSnapshot } from './state';

/** The ticket as a body builder needs it: its state name and context. */
export type TicketView = Pick<HandoverSnapshot, 'value' | 'context'>;

/** DESIGN 2.2's ticket-update body: `{ ticketId, userPhone?, userId?, username?, status, reason, priority?, csat?, timestamp }`. */
export function ticketUpdateBody(
  ticket: TicketView,
  user: UserIds,
  reason: TicketUpdateReason,
  at: string,
  extra: { csat?: number } = {},
): Record<string, unknown> {
  return {
    ticketId: ticket.context.ticketId,
    ...crmUserFields(user),
    status: statusOf(String(ticket.value)),
    reason,
    priority: ticket.context.priority,
    ...extra,
    timestamp: at,
  };
}

/**
 * An agent's message that will not reach the user, told to the CRM as a
 * ticket-update with reason `message_failed`. Past the window with no
 * template, no call to Graph was made: the error says so in Graph's terms.
 */
export function failedAgentMessageBody(
  ticket: TicketView,
  user: UserIds,
  params: EffectParams['reportAgentMessageFailed'],
  at: string,
): Record<string, unknown> {
  const error =
    params.error ??
    (params.reason === 'outside_window'
      ? { code: OUTSIDE_WINDOW_CODE, title: 'more than 24 hours since the user last wrote, and no re-engagement template is configured' }
      : { title: 'WhatsApp refused the message' });
  return {
    ...ticketUpdateBody(ticket, user, 'message_failed', at),
    message: { type: params.message.type, body: params.message.body, waMessageId: params.message.waMessageId },
    error,
  };
}

/** The seed's agent-request body, built from the ticket and the conversation as they stand now; a user without a phone has no `phoneNumber`. */
export function agentRequestBody(ticket: HandoverContext, user: UserIds, sessionStart: string): Record<string, unknown> {
  return {
    ticketId: ticket.ticketId,
    ...crmUserFields(user),
    userContext: {
      ...(user.phone ? { phoneNumber: user.phone } : {}),
      customerId: ticket.customer.customerId,
      customerName: ticket.customer.customerName,
      isAuthenticated: true,
      lastActivity: ticket.requestedAt,
      sessionInfo: { hasActiveSession: true, sessionStart },
    },
    priority: ticket.priority,
    category: ticket.category,
    serviceSuspended: ticket.customer.isInactive,
    requestTime: ticket.requestedAt,
  };
}

/** How a user-message names what lives elsewhere: a media file the CRM may fetch, a message the CRM already knows. */
export interface MessageRefs {
  /** The absolute URL on this service that serves a media file to the CRM (`GET /api/crm/media/:mediaId`). */
  mediaUrl(mediaId: string): string;
  /** The id the CRM knows a message by: the Idempotency-Key an agent's message was sent with, else its wamid. */
  crmIdOf(waMessageId: string): string;
}

/** `GET /api/crm/media/:mediaId` under the service's public base URL. */
export const mediaUrlOf = (publicBaseUrl: string) => (mediaId: string) => `${publicBaseUrl.replace(/\/$/, '')}/api/crm/media/${encodeURIComponent(mediaId)}`;

/**
 * DESIGN 2.2's user-message body: what the user wrote, relayed to the agent.
 * A media message carries where the CRM fetches the file and what WhatsApp
 * said of it; a reply, the message it answers (`replyTo`); a reaction, the
 * message it reacts to; a location or contact cards, their fields as data.
 */
export function userMessageBody(ticketId: string | null, user: UserIds, message: InboundMessage, refs: MessageRefs): Record<string, unknown> {
  const { media, replyTo, reaction, edit, revoke } = message;
  return {
    ticketId,
    ...crmUserFields(user),
    message: message.text ?? edit?.text ?? '',
    messageType: message.type,
    ...(media?.id ? { mediaId: media.id, mediaUrl: refs.mediaUrl(media.id) } : {}),
    ...(media?.mimeType ? { mimeType: media.mimeType } : {}),
    ...(media?.filename ? { fileName: media.filename } : {}),
    ...(media?.sha256 ? { sha256: media.sha256 } : {}),
    ...(media?.caption ? { caption: media.caption } : {}),
    ...(replyTo ? { replyTo: refs.crmIdOf(replyTo), replyToWaMessageId: replyTo } : {}),
    ...(reaction ? { reaction: { messageId: refs.crmIdOf(reaction.waMessageId), waMessageId: reaction.waMessageId, emoji: reaction.emoji } } : {}),
    // An edit is the new text of a message the CRM has; a revoke deletes one for everyone: each named as the CRM knows it.
    ...(edit ? { edit: { messageId: refs.crmIdOf(edit.waMessageId), waMessageId: edit.waMessageId } } : {}),
    ...(revoke ? { revoke: { messageId: refs.crmIdOf(revoke.waMessageId), waMessageId: revoke.waMessageId } } : {}),
    ...(message.location ? { location: message.location } : {}),
    ...(message.contacts ? { contacts: message.contacts } : {}),
    waMessageId: message.waMessageId,
    timestamp: message.timestamp,
  };
}

/** A WhatsApp message and the text the history keeps of it. */
export interface Outgoing {
  body: string | null;
  payload: WhatsAppMessage;
}

export function botReply(texts: Texts, emergencyPhone: string, to: Address, params: EffectParams['reply']): Outgoing {
  const body = renderText(texts, params.text, { emergencyPhone, ...params.vars });
  return { body, payload: textMessage(to, body) };
}

export function menuMessage(texts: Texts, to: Address, params: EffectParams['showMenu']): Outgoing {
  const { greeting, notUnderstood, profileName } = params;
  const body = [
    greeting ? renderText(texts, 'greeting', { profileGreeting: profileName ? `, ${profileName}` : '' }) : '',
    notUnderstood ? texts.notUnderstood : '',
    texts.menuBody,
  ]
    .filter(Boolean)
    .join('\n\n');
  const buttons = [
    { id: REPLY_IDS.support, title: texts.menuSupport },
    { id: REPLY_IDS.identify, title: texts.menuIdentify },
    { id: REPLY_IDS.emergency, title: texts.menuEmergency },
  ];
  return { body, payload: buttonsMessage(to, body, buttons) };
}

export function surveyMessage(texts: Texts, to: Address): Outgoing {
  const rows = ([1, 2, 3, 4, 5] as const).map((score) => ({ id: `${REPLY_IDS.csatPrefix}${score}`, title: texts[`csat${score}`] }));
  return { body: texts.surveyBody, payload: listMessage(to, texts.surveyBody, texts.surveyButton, rows) };
}

export type ReengageTemplate = { name: string; languageCode: string } | null;

/** An agent's message as WhatsApp gets it: as written, or as the re-engagement template past the 24-hour window. */
export function agentMessage(to: Address, params: EffectParams['deliverAgentMessage'], template: ReengageTemplate): Outgoing {
  const { messageType, body, media, asTemplate, replyToWaMessageId } = params;
  if (asTemplate && template) {
    return {
      body: messageType === 'text' ? body : (media?.caption ?? null),
      payload: templateMessage(to, template.name, template.languageCode, messageType === 'text' ? body : (media?.caption ?? body)),
    };
  }
  const message = messageType === 'text' ? textMessage(to, body) : mediaMessage(to, messageType, media ?? { url: body });
  // WhatsApp shows the quoted message above the answer.
  const payload = replyToWaMessageId ? { ...message, context: { message_id: replyToWaMessageId } } : message;
  return { body: messageType === 'text' ? body : (media?.caption ?? null), payload };
}
