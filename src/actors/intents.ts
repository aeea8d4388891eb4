import { AMBIENT_MESSAGE_TYPES, type InboundMessage } from '../domain/events';

/** Ids of the interactive replies the bot offers; a tap comes back with one of them. */
export const REPLY_IDS = {
  support: 'menu.support',
  identify: 'menu.identify',
  emergency: 'menu.emergency',
  csatPrefix: 'csat.',
} as const;

export type MenuChoice = 'support' | 'identify' | 'emergency' | 'unknown';

/** Lower case, no accents, trimmed: "Menú " and "menu" read the same. */
export function normalise(text: string | undefined): string {
  return (text ?? '')
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .trim();
}

export function isAmbient(message: InboundMessage): boolean {
  return AMBIENT_MESSAGE_TYPES.has(message.type);
}

export function menuChoice(message: InboundMessage): MenuChoice {
  if (message.replyId === REPLY_IDS.support) return 'support';
  if (message.replyId === REPLY_IDS.identify) return 'identify';
  if (message.replyId === REPLY_IDS.emergency) return 'emergency';
  const text = normalise(message.text);
  if (/^1\b|soporte|agente|asesor|humano|persona|contactar/.test(text)) return 'support';
  if (/^2\b|identific|documento|cedula/.test(text)) return 'identify';
  if (/^3\b|emergencia|urgencia/.test(text)) return 'emergency';
  return 'unknown';
}

/** *cancelar*, *menú*, *salir*: the words that take a waiting user back to the menu. */
export function isCancelRequest(message: InboundMessage): boolean {
  return /^(cancelar|cancela|menu|salir)[.!]*$/.test(normalise(message.text));
}

/** A cédula typed with or without dots and spaces: 5 to 15 digits. */
export function documentNumber(message: InboundMessage): string | undefined {
  if (message.type !== 'text') return undefined;
  const digits = (message.text ?? '').replace(/[.\s-]/g, '');
  return /^\d{5,15}$/.test(digits) ? digits : undefined;
}

/** A 1-5 rating: a tapped list row (`csat.4`) or the digit typed alone. */
export function csatScore(message: InboundMessage): number | undefined {
  const fromReply = message.replyId?.startsWith(REPLY_IDS.csatPrefix) ? message.replyId.slice(REPLY_IDS.csatPrefix.length) : undefined;
  const candidate = fromReply ?? normalise(message.text);
  return /^[1-5]$/.test(candidate) ? Number(candidate) : undefined;
}
