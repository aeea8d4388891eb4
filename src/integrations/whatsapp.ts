import { call, type CallOutcome } from './http';
import type { WhatsAppMessage } from './whatsapp-messages';

export interface WhatsAppClientOptions {
  apiUrl: string;
  token: string;
  phoneNumberId: string;
  timeoutMs: number;
}

/** Graph errors worth another try: app and account rate limits (4, 80007), throughput (130429), service unavailable (131016), too fast to one user (131056). */
const RETRYABLE_GRAPH_CODES = new Set([4, 80007, 130429, 131016, 131056]);

export interface SendResult {
  waMessageId: string;
}

/**
 * Sends through the Cloud API (DESIGN 2.3). The API has no idempotency key:
 * `biz_opaque_callback_data` carries our outbox key so the status webhooks
 * tie a message back to its row even when the send's response was lost.
 */
export function createWhatsAppClient(options: WhatsAppClientOptions) {
  const url = `${options.apiUrl.replace(/\/$/, '')}/${options.phoneNumberId}/messages`;
  return {
    configured: options.token !== '' && options.phoneNumberId !== '',
    async send(message: WhatsAppMessage, callbackData: string): Promise<CallOutcome & { waMessageId?: string }> {
      if (!options.token || !options.phoneNumberId) {
        return { ok: false, retryable: true, error: 'WhatsApp is not configured (set WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID)' };
      }
      const outcome = await call({
        method: 'POST',
        url,
        timeoutMs: options.timeoutMs,
        body: JSON.stringify({ ...message, biz_opaque_callback_data: callbackData.slice(0, 512) }),
        headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/json' },
      });
      if (outcome.ok) {
        const waMessageId = (outcome.body as { messages?: { id?: string }[] } | null)?.messages?.[0]?.id;
        return waMessageId ? { ...outcome, waMessageId } : { ok: false, retryable: false, error: 'Graph accepted the send but returned no message id' };
      }
      const code = (outcome.body as { error?: { code?: number } } | undefined)?.error?.code;
      if (code !== undefined)
        return { ...outcome, retryable: RETRYABLE_GRAPH_CODES.has(code) || (outcome.status ?? 0) >= 500, error: `${outcome.error} (code ${code})` };
      return outcome;
    },
  };
}

export type WhatsAppClient = ReturnType<typeof createWhatsAppClient>;
