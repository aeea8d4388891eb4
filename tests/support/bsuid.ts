import { metaJson, postWebhook, type TestStack } from './harness';

/**
 * Webhooks of the username era (DESIGN 2.6): a user named by a phone, a
 * business-scoped user id (BSUID), or both, as Meta sends them since April
 * 2026. A user who adopted a username has no `from` and no `wa_id`.
 */
export interface WhatsAppUser {
  phone?: string;
  bsuid?: string;
  username?: string;
  name?: string;
}

let counter = 0;

/** Meta's envelope: one change of `field` carrying `value`. */
export function webhookOf(value: Record<string, unknown>, field = 'messages') {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA_ID',
        changes: [
          { field, value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '573009999999', phone_number_id: '1234567890' }, ...value } },
        ],
      },
    ],
  };
}

/** One user message: `from`/`wa_id` only when the phone is shown, `from_user_id`/`user_id` when Meta gave a BSUID. */
export function messageFrom(user: WhatsAppUser, content: Record<string, unknown>, id = `wamid.bsuid.${Date.now()}.${++counter}`) {
  const profile = { name: user.name ?? 'Usuario', ...(user.username ? { username: user.username } : {}) };
  const contact = { profile, ...(user.phone ? { wa_id: user.phone } : {}), ...(user.bsuid ? { user_id: user.bsuid } : {}) };
  const message = {
    ...(user.phone ? { from: user.phone } : {}),
    ...(user.bsuid ? { from_user_id: user.bsuid } : {}),
    id,
    timestamp: String(Math.floor(Date.now() / 1000)),
    ...content,
  };
  return { id, payload: webhookOf({ contacts: [contact], messages: [message] }) };
}

/** A status of a message we sent: `recipient_id` only for a send to a phone, `recipient_user_id` whenever Meta knows the BSUID. */
export function statusFor(
  user: WhatsAppUser,
  status: { id: string; status: 'sent' | 'delivered' | 'read' | 'failed'; callbackData?: string; errors?: { code: number; title: string }[] },
) {
  return webhookOf({
    statuses: [
      {
        id: status.id,
        status: status.status,
        timestamp: String(Math.floor(Date.now() / 1000)),
        ...(user.phone ? { recipient_id: user.phone } : {}),
        ...(user.bsuid ? { recipient_user_id: user.bsuid } : {}),
        ...(status.callbackData ? { biz_opaque_callback_data: status.callbackData } : {}),
        ...(status.errors ? { errors: status.errors } : {}),
      },
    ],
  });
}

/** `user_id_update`: the user's BSUID changed (they changed phone number). */
export function userIdUpdate(previous: string, current: string, phone?: string) {
  return webhookOf(
    { user_id_update: [{ ...(phone ? { wa_id: phone } : {}), user_id: { previous, current }, timestamp: String(Math.floor(Date.now() / 1000)) }] },
    'user_id_update',
  );
}

async function post(stack: TestStack, payload: unknown): Promise<void> {
  const response = await postWebhook(stack, metaJson(payload));
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
}

export async function sendAs(stack: TestStack, user: WhatsAppUser, content: Record<string, unknown>): Promise<string> {
  const { id, payload } = messageFrom(user, content);
  await post(stack, payload);
  return id;
}

export const sendStatusFor = (stack: TestStack, user: WhatsAppUser, status: Parameters<typeof statusFor>[1]) => post(stack, statusFor(user, status));

export const sendUserIdUpdate = (stack: TestStack, previous: string, current: string, phone?: string) => post(stack, userIdUpdate(previous, current, phone));

/** Every send the Graph fake accepted for `recipient` (a BSUID): those with no `to`. */
export function sentToBsuid(stack: TestStack, bsuid: string): Record<string, any>[] {
  return stack.graph.requests
    .filter((request) => request.status === 200)
    .map((request) => request.body as Record<string, any>)
    .filter((body) => body?.recipient === bsuid && body.to === undefined);
}
