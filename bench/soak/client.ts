/**
 * How the soak talks to the service: as Meta (signed webhooks, again until a
 * 200) and as the CRM (bearer calls, retried on what a CRM retries: no
 * answer, 429, 5xx; the same Idempotency-Key each time), spread round-robin
 * over the instances like a load balancer would.
 */
import { signBody } from '../../src/lib/security';
import { cloudApiWebhook, userTextWebhook } from '../support';
import { SECRETS } from './stack';

export interface CrmAnswer {
  status: number;
  /** From the first attempt's send to the answer that ended the call. */
  ms: number;
  attempts: number;
}

export function serviceClient(ports: number[]) {
  let turn = 0;
  const next = () => `http://127.0.0.1:${ports[turn++ % ports.length]}`;
  const retried = { webhooks: 0, crm: 0 };

  /** Resolves with the time of the 200. */
  async function webhook(body: string): Promise<number> {
    const headers = { 'content-type': 'application/json', 'x-hub-signature-256': signBody(SECRETS.meta, body) };
    for (;;) {
      const response = await fetch(`${next()}/webhook`, { method: 'POST', headers, body }).catch(() => undefined);
      await response?.arrayBuffer();
      if (response?.status === 200) return performance.now();
      retried.webhooks++;
      await Bun.sleep(100);
    }
  }

  async function crm(path: string, body: unknown, key: string): Promise<CrmAnswer> {
    const startedAt = performance.now();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${SECRETS.crm}`, 'idempotency-key': key };
    for (let attempts = 1; ; attempts++) {
      const response = await fetch(`${next()}${path}`, { method: 'POST', headers, body: JSON.stringify(body) }).catch(() => undefined);
      await response?.arrayBuffer();
      const status = response?.status ?? 0;
      if (status !== 0 && status !== 429 && status < 500) return { status, ms: performance.now() - startedAt, attempts };
      retried.crm++;
      if (attempts >= 50) return { status, ms: performance.now() - startedAt, attempts };
      await Bun.sleep(100);
    }
  }

  async function ticketStatus(ticketId: string): Promise<string | undefined> {
    const response = await fetch(`${next()}/api/crm/handover-status/${ticketId}`, { headers: { authorization: `Bearer ${SECRETS.crm}` } }).catch(
      () => undefined,
    );
    return response?.status === 200 ? ((await response.json()) as { status?: string }).status : undefined;
  }

  return {
    retried,
    webhook,
    crm,
    ticketStatus,
    userText: (phone: string, id: string, text: string) => webhook(userTextWebhook(phone, id, text)),
    /** One status per webhook, as Meta usually sends them; it echoes `biz_opaque_callback_data`. */
    status: (wamid: string, recipient: string, status: 'sent' | 'delivered' | 'read', callbackData?: string) =>
      webhook(
        cloudApiWebhook({
          statuses: [
            {
              id: wamid,
              status,
              timestamp: String(Math.floor(Date.now() / 1000)),
              recipient_id: recipient,
              ...(callbackData ? { biz_opaque_callback_data: callbackData } : {}),
            },
          ],
        }),
      ),
  };
}

export type ServiceClient = ReturnType<typeof serviceClient>;
