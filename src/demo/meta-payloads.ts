import { DEMO_PHOTO } from './photo';

/**
 * Cloud API webhook bodies as Meta sends them, for the simulator's phone and
 * the Graph stand-in's delivery receipts. Serialised the way Meta does
 * (non-ASCII as \uXXXX) because the signature covers those exact bytes.
 */
const envelope = (phoneNumberId: string, value: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: 'DEMO_WABA',
      changes: [
        {
          field: 'messages',
          value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '573009999999', phone_number_id: phoneNumberId }, ...value },
        },
      ],
    },
  ],
});

const epochSeconds = () => String(Math.floor(Date.now() / 1000));

/** What the subscriber can do on the phone: write, tap a reply button or a list row, send a picture. */
export type UserInput =
  | { kind: 'text'; text: string }
  | { kind: 'button'; id: string; title: string }
  | { kind: 'list'; id: string; title: string }
  | { kind: 'image'; mediaId: string; caption?: string };

function content(input: UserInput): Record<string, unknown> {
  switch (input.kind) {
    case 'text':
      return { type: 'text', text: { body: input.text } };
    case 'button':
      return { type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: input.id, title: input.title } } };
    case 'list':
      return { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: input.id, title: input.title } } };
    case 'image':
      // The demo's one photo: its type and checksum, as Meta announces them, are checked when the service fetches it.
      return {
        type: 'image',
        image: { id: input.mediaId, mime_type: DEMO_PHOTO.mimeType, sha256: DEMO_PHOTO.sha256, ...(input.caption ? { caption: input.caption } : {}) },
      };
  }
}

export function userMessageWebhook(phoneNumberId: string, user: { phone: string; name: string }, waMessageId: string, input: UserInput) {
  return envelope(phoneNumberId, {
    contacts: [{ profile: { name: user.name }, wa_id: user.phone }],
    messages: [{ from: user.phone, id: waMessageId, timestamp: epochSeconds(), ...content(input) }],
  });
}

export type DeliveryStatus = 'sent' | 'delivered' | 'read';

export function statusWebhook(phoneNumberId: string, waMessageId: string, recipient: string, status: DeliveryStatus) {
  return envelope(phoneNumberId, { statuses: [{ id: waMessageId, status, timestamp: epochSeconds(), recipient_id: recipient }] });
}

export function metaJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
