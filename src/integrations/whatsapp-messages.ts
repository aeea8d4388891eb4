import type { AgentMessageFailure, AgentMessageType, MediaRef } from '../domain/events';

/**
 * Cloud API message bodies (POST /{phone-number-id}/messages). Limits that
 * Meta enforces: at most 3 reply buttons with titles of 20 characters, list
 * rows of 24 characters, interactive bodies of 1,024 characters.
 */
export type WhatsAppMessage = Record<string, unknown> & { messaging_product: 'whatsapp'; to?: string; recipient?: string; type: string };

/** Who a message goes to: `to` a phone, or `recipient` a BSUID (never both: `to` would win). */
export type Address = { to: string } | { recipient: string };

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

export function textMessage(to: Address, body: string): WhatsAppMessage {
  return { messaging_product: 'whatsapp', recipient_type: 'individual', ...to, type: 'text', text: { body: clip(body, 4096), preview_url: false } };
}

export function mediaMessage(to: Address, type: Exclude<AgentMessageType, 'text'>, media: MediaRef): WhatsAppMessage {
  const object: Record<string, string> = {};
  if (media.id) object.id = media.id;
  else if (media.url) object.link = media.url;
  // WhatsApp takes a caption on images, videos and documents only; an audio with one is refused.
  if (media.caption && type !== 'audio') object.caption = clip(media.caption, 1024);
  if (type === 'document' && media.filename) object.filename = media.filename;
  return { messaging_product: 'whatsapp', recipient_type: 'individual', ...to, type, [type]: object };
}

function interactiveMessage(to: Address, interactive: Record<string, unknown>): WhatsAppMessage {
  return { messaging_product: 'whatsapp', recipient_type: 'individual', ...to, type: 'interactive', interactive };
}

export function buttonsMessage(to: Address, body: string, buttons: { id: string; title: string }[]): WhatsAppMessage {
  return interactiveMessage(to, {
    type: 'button',
    body: { text: clip(body, 1024) },
    action: { buttons: buttons.slice(0, 3).map((b) => ({ type: 'reply', reply: { id: b.id, title: clip(b.title, 20) } })) },
  });
}

export function listMessage(to: Address, body: string, button: string, rows: { id: string; title: string }[]): WhatsAppMessage {
  return interactiveMessage(to, {
    type: 'list',
    body: { text: clip(body, 1024) },
    action: { button: clip(button, 20), sections: [{ title: clip(button, 24), rows: rows.slice(0, 10).map((r) => ({ id: r.id, title: clip(r.title, 24) })) }] },
  });
}

/**
 * A read mark (`status: "read"`), with WhatsApp's "typing…" when `typing`:
 * not a message (no recipient, no wamid back; Graph answers `{ success: true }`).
 * WhatsApp marks `waMessageId` and every earlier message of the chat read,
 * and shows the indicator for 25 s or until the next message.
 */
export type ReadMark = { messaging_product: 'whatsapp'; status: 'read'; message_id: string; typing_indicator?: { type: 'text' } };

export function readMark(waMessageId: string, typing: boolean): ReadMark {
  return { messaging_product: 'whatsapp', status: 'read', message_id: waMessageId, ...(typing ? { typing_indicator: { type: 'text' } } : {}) };
}

/**
 * An approved template whose body has one variable, filled with `text`: the
 * only kind of message WhatsApp accepts outside the 24-hour window.
 */
export function templateMessage(to: Address, name: string, languageCode: string, text: string): WhatsAppMessage {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    ...to,
    type: 'template',
    template: { name, language: { code: languageCode }, components: [{ type: 'body', parameters: [{ type: 'text', text: clip(text, 1024) }] }] },
  };
}

/**
 * A sent message as its author wrote it: the text, or a media's link and
 * caption, and whether it went out as the template (whose one variable holds
 * the words). What a refusal report and a re-send need, read off the payload.
 */
export function writtenMessageOf(message: WhatsAppMessage): Pick<AgentMessageFailure, 'sentAs'> & { message: AgentMessageFailure['message'] } {
  const part = message[message.type] as Record<string, unknown> | undefined;
  if (message.type === 'template') {
    const parameters = (part?.components as { parameters?: { text?: string }[] }[] | undefined)?.[0]?.parameters;
    return { sentAs: 'template', message: { type: 'text', body: parameters?.[0]?.text ?? null, waMessageId: null } };
  }
  if (message.type === 'text') return { sentAs: 'free_form', message: { type: 'text', body: String(part?.body ?? ''), waMessageId: null } };
  const media: MediaRef = {
    url: part?.link as string | undefined,
    caption: part?.caption as string | undefined,
    filename: part?.filename as string | undefined,
  };
  return { sentAs: 'free_form', message: { type: message.type, body: media.url ?? null, waMessageId: null, media } };
}

/** The address a payload was built with, to send something else to the same user. */
export const addressOfMessage = (message: WhatsAppMessage): Address => (message.to ? { to: message.to } : { recipient: message.recipient ?? '' });

/**
 * An interactive message as plain text: its body, then each button or list
 * row numbered (the bot reads "1", "2"... as the same choice). For a user
 * WhatsApp will not send interactive messages to (Graph 131062 for a BSUID).
 */
export function plainTextOf(message: WhatsAppMessage): WhatsAppMessage | undefined {
  if (message.type !== 'interactive') return undefined;
  const interactive = message.interactive as {
    body?: { text?: string };
    action?: { buttons?: { reply?: { title?: string } }[]; sections?: { rows?: { title?: string }[] }[] };
  };
  const options = [
    ...(interactive.action?.buttons ?? []).map((button) => button.reply?.title),
    ...(interactive.action?.sections ?? []).flatMap((section) => (section.rows ?? []).map((row) => row.title)),
  ];
  const lines = options.map((title, index) => `${index + 1}. ${title ?? ''}`);
  return textMessage(addressOfMessage(message), [interactive.body?.text ?? '', ...lines].filter(Boolean).join('\n'));
}
