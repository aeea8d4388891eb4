import type { InboundMessage } from '../../events';
import { OUTSIDE_WINDOW_CODE } from '../../integrations/whatsapp';
import { buttonsMessage, listMessage, mediaMessage, templateMessage, textMessage, type WhatsAppMessage } from '../../integrations/whatsapp-messages';
import { renderText, type Texts } from '../../texts';
import type { EffectParams, TicketUpdateReason } from '../effects';
import { statusOf, type HandoverContext } from '../handover';
import { REPLY_IDS } from '../intents';
import type { HandoverSnapshot } from './state';

/** The ticket as a body builder needs it: its state name and context. */
export type TicketView = Pick<HandoverSnapshot, 'value' | 'context'>;

/** DESIGN 2.2's ticket-update body: `{ ticketId, userPhone, status, reason, priority?, csat?, timestamp }`. */
export function ticketUpdateBody(ticket: TicketView, reason: TicketUpdateReason, at: string, extra: { csat?: number } = {}): Record<string, unknown> {
  return {
    ticketId: ticket.context.ticketId,
    userPhone: ticket.context.phone,
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
export function failedAgentMessageBody(ticket: TicketView, params: EffectParams['reportAgentMessageFailed'], at: string): Record<string, unknown> {
  const error =
    params.error ??
    (params.reason === 'outside_window'
      ? { code: OUTSIDE_WINDOW_CODE, title: 'more than 24 hours since the user last wrote, and no re-engagement template is configured' }
      : { title: 'WhatsApp refused the message' });
  return {
    ...ticketUpdateBody(ticket, 'message_failed', at),
    message: { type: params.message.type, body: params.message.body, waMessageId: params.message.waMessageId },
    error,
  };
}

/** The seed's agent-request body, built from the ticket and the conversation as they stand now. */
export function agentRequestBody(ticket: HandoverContext, sessionStart: string): Record<string, unknown> {
  return {
    ticketId: ticket.ticketId,
    userPhone: ticket.phone,
    userContext: {
      phoneNumber: ticket.phone,
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

/** DESIGN 2.2's user-message body: what the user wrote, relayed to the agent. */
export function userMessageBody(ticketId: string | null, phone: string, message: InboundMessage): Record<string, unknown> {
  return {
    ticketId,
    userPhone: phone,
    message: message.text ?? '',
    messageType: message.type,
    ...(message.media?.id ? { mediaId: message.media.id } : {}),
    ...(message.media?.caption ? { caption: message.media.caption } : {}),
    waMessageId: message.waMessageId,
    timestamp: message.timestamp,
  };
}

/** A WhatsApp message and the text the history keeps of it. */
export interface Outgoing {
  body: string | null;
  payload: WhatsAppMessage;
}

export function botReply(texts: Texts, emergencyPhone: string, phone: string, params: EffectParams['reply']): Outgoing {
  const body = renderText(texts, params.text, { emergencyPhone, ...params.vars });
  return { body, payload: textMessage(phone, body) };
}

export function menuMessage(texts: Texts, phone: string, params: EffectParams['showMenu']): Outgoing {
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
  return { body, payload: buttonsMessage(phone, body, buttons) };
}

export function surveyMessage(texts: Texts, phone: string): Outgoing {
  const rows = ([1, 2, 3, 4, 5] as const).map((score) => ({ id: `${REPLY_IDS.csatPrefix}${score}`, title: texts[`csat${score}`] }));
  return { body: texts.surveyBody, payload: listMessage(phone, texts.surveyBody, texts.surveyButton, rows) };
}

export type ReengageTemplate = { name: string; languageCode: string } | null;

/** An agent's message as WhatsApp gets it: as written, or as the re-engagement template past the 24-hour window. */
export function agentMessage(phone: string, params: EffectParams['deliverAgentMessage'], template: ReengageTemplate): Outgoing {
  const { messageType, body, media, asTemplate } = params;
  const payload =
    asTemplate && template
      ? templateMessage(phone, template.name, template.languageCode, messageType === 'text' ? body : (media?.caption ?? body))
      : messageType === 'text'
        ? textMessage(phone, body)
        : mediaMessage(phone, messageType, media ?? { url: body });
  return { body: messageType === 'text' ? body : (media?.caption ?? null), payload };
}
