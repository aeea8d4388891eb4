import type { ContactCard, InboundMessage, Location, MediaRef, MessageEdit } from '../domain/events';

/**
 * What a WhatsApp user message says, by type (`messages[].<type>`): the text
 * a person reads, and as data the media reference, a reaction's target, a
 * location, contact cards. Meta's JSON is read defensively: a field of the
 * wrong shape is left out, never thrown.
 */
export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
export const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const asString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;

type Content = Pick<InboundMessage, 'text' | 'replyId' | 'media' | 'reaction' | 'location' | 'contacts'>;

const asNumber = (value: unknown): number | undefined => {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(number) ? number : undefined;
};

/** Drops the keys whose value is undefined: what reaches the CRM and the history is only what WhatsApp said. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function locationOf(body: Json): Location | undefined {
  const [latitude, longitude] = [asNumber(body.latitude), asNumber(body.longitude)];
  if (latitude === undefined || longitude === undefined || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  return defined({ latitude, longitude, name: asString(body.name), address: asString(body.address), url: asString(body.url) });
}

const listOf = <T extends object>(value: unknown, item: (json: Json) => T): T[] =>
  asArray(value)
    .filter(isObject)
    .map((json) => defined(item(json)));

function contactCardOf(raw: Json): ContactCard {
  const name = isObject(raw.name) ? raw.name : {};
  const org = isObject(raw.org) ? raw.org : undefined;
  return defined({
    name: asString(name.formatted_name) ?? ([asString(name.first_name), asString(name.last_name)].filter(Boolean).join(' ') || undefined),
    phones: listOf(raw.phones, (p) => ({ phone: asString(p.phone), waId: asString(p.wa_id), type: asString(p.type) })),
    emails: listOf(raw.emails, (e) => ({ email: asString(e.email), type: asString(e.type) })),
    organization: org && defined({ company: asString(org.company), department: asString(org.department), title: asString(org.title) }),
    urls: listOf(raw.urls, (u) => ({ url: asString(u.url), type: asString(u.type) })),
    birthday: asString(raw.birthday),
  });
}

export function contentOf(type: string, raw: Json): Content {
  const body = isObject(raw[type]) ? (raw[type] as Json) : {};
  switch (type) {
    case 'text':
      return { text: asString(body.body) };
    case 'image':
    case 'video':
    case 'audio':
    case 'sticker':
    case 'document': {
      const media: MediaRef = defined({
        id: asString(body.id),
        url: asString(body.url),
        mimeType: asString(body.mime_type),
        caption: asString(body.caption),
        filename: asString(body.filename),
        sha256: asString(body.sha256),
      });
      return { text: media.caption, media };
    }
    case 'button':
      return { text: asString(body.text), replyId: asString(body.payload) };
    case 'interactive': {
      const reply = [body.button_reply, body.list_reply, body.nfm_reply].find(isObject);
      return { text: asString(reply?.title) ?? asString(reply?.body), replyId: asString(reply?.id) };
    }
    case 'location': {
      const location = locationOf(body);
      const coordinates = location ? `${location.latitude},${location.longitude}` : undefined;
      return { text: [asString(body.name), asString(body.address), coordinates].filter(Boolean).join(' · '), ...(location ? { location } : {}) };
    }
    case 'reaction': {
      const emoji = asString(body.emoji) ?? '';
      const target = asString(body.message_id);
      return { text: emoji, ...(target ? { reaction: { waMessageId: target, emoji } } : {}) };
    }
    case 'contacts': {
      const contacts = asArray(raw.contacts).filter(isObject).map(contactCardOf);
      return {
        text: contacts
          .map((c) => c.name)
          .filter(Boolean)
          .join(', '),
        contacts,
      };
    }
    default:
      return {};
  }
}

/**
 * An `edit` (`edit.original_message_id`, `edit.message` the new content) or a
 * `revoke` (`revoke.original_message_id`): a user's, on a coexistence
 * number, or the business's own from the Business app (an echo).
 */
export function changeOf(raw: Json): { edit?: MessageEdit; revoke?: { waMessageId: string } } {
  if (raw.type === 'edit' && isObject(raw.edit)) {
    const waMessageId = asString(raw.edit.original_message_id);
    const message = isObject(raw.edit.message) ? raw.edit.message : {};
    const type = asString(message.type) ?? 'unknown';
    const { text, media } = contentOf(type, message);
    return waMessageId ? { edit: defined({ waMessageId, type, text, media }) } : {};
  }
  if (raw.type === 'revoke' && isObject(raw.revoke)) {
    const waMessageId = asString(raw.revoke.original_message_id);
    return waMessageId ? { revoke: { waMessageId } } : {};
  }
  return {};
}
