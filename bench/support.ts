/** What the benchmarks share: Cloud API webhook bodies as Meta sends them, and a child process's environment. */

/** The number the benchmarks' service serves first (WHATSAPP_PHONE_NUMBER_ID). */
export const PRIMARY_NUMBER = '1234567890';

/** The envelope of every Cloud API webhook: one change of field `messages` carrying `value`, to the business number `phoneNumberId`. */
export function cloudApiWebhook(value: Record<string, unknown>, phoneNumberId = PRIMARY_NUMBER): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA',
        changes: [
          {
            field: 'messages',
            value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '573009999999', phone_number_id: phoneNumberId }, ...value },
          },
        ],
      },
    ],
  });
}

/** One user text, written now, to the business number `phoneNumberId`. */
export function userTextWebhook(
  phone: string,
  waMessageId: string,
  text: string,
  timestamp = String(Math.floor(Date.now() / 1000)),
  phoneNumberId = PRIMARY_NUMBER,
): string {
  return cloudApiWebhook(
    {
      contacts: [{ wa_id: phone, profile: { name: 'Juan' } }],
      messages: [{ from: phone, id: waMessageId, timestamp, type: 'text', text: { body: text } }],
    },
    phoneNumberId,
  );
}

/** A child process sees only these settings plus the PATH and HOME it needs to run Bun. */
export function childEnvironment(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env };
}

/** Resolves once the service on `port` answers `/health/ready` with 200; throws after `timeoutMs`. */
export async function waitReady(port: number, timeoutMs = 60_000, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ok) return;
    await Bun.sleep(pollMs);
  }
  throw new Error(`the service on port ${port} did not become ready within ${timeoutMs} ms`);
}
