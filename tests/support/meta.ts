/** Cloud API webhook bodies as Meta sends them: the envelope, user messages, and Meta's JSON escaping. */

let wamidCounter = 0;

/** The number the tests' service serves first (WHATSAPP_PHONE_NUMBER_ID in the harness). */
export const PRIMARY_NUMBER = '1234567890';

/** The envelope of every Cloud API webhook: one change of `field` (`messages` unless said) carrying `value`, for the business number `phoneNumberId`. */
export function cloudApiWebhook(value: Record<string, unknown>, options: { phoneNumberId?: string; field?: string } = {}) {
  const phoneNumberId = options.phoneNumberId ?? PRIMARY_NUMBER;
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA_ID',
        changes: [
          {
            field: options.field ?? 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: `57300${phoneNumberId.slice(-7)}`, phone_number_id: phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

/** A Cloud API `messages` webhook for one user message, as Meta sends it. */
export function userMessagePayload(phone: string, content: Record<string, unknown>, options: { id?: string; name?: string; phoneNumberId?: string } = {}) {
  const id = options.id ?? `wamid.user.${Date.now()}.${++wamidCounter}`;
  return {
    id,
    payload: cloudApiWebhook(
      {
        contacts: [{ profile: { name: options.name ?? 'Juan' }, wa_id: phone }],
        messages: [{ from: phone, id, timestamp: String(Math.floor(Date.now() / 1000)), ...content }],
      },
      { phoneNumberId: options.phoneNumberId },
    ),
  };
}

export const text = (body: string) => ({ type: 'text', text: { body } });
export const buttonReply = (id: string, title: string) => ({ type: 'interactive', interactive: { type: 'button_reply', button_reply: { id, title } } });

/**
 * Meta's serialisation: non-ASCII escaped as \uXXXX. The signature covers
 * these exact bytes, so a server that re-serialises would fail it.
 */
export function metaJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
