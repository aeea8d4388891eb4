import type { OutboxRow } from '../../db/schema';
import { eventIds } from '../../domain/event-ids';
import { laneKey } from '../../domain/lanes';
import { pipelineEvent, type PipelineEvent } from '../../domain/events';
import { NOT_FOR_BSUID_CODE, refusalReason, type GraphError, type SendOutcome, type WhatsAppClient } from '../../integrations/whatsapp';
import { plainTextOf, writtenMessageOf, type ReadMark, type WhatsAppMessage } from '../../integrations/whatsapp-messages';
import type { Deliverer, Delivery } from '../outcome';

/**
 * WhatsApp shows "typing…" for 25 s: an indicator that could not go out by
 * then (a backlog, Graph failing) would be shown late, maybe under the reply
 * that follows it in the lane. It is dropped instead, and so never holds the
 * reply back longer than this.
 */
export const TYPING_SHELF_LIFE_MS = 25_000;

export interface WhatsAppDelivererDeps {
  whatsapp: WhatsAppClient;
  /** Resolves when the WhatsApp number may send one more message (the send-rate limit, shared by all instances). */
  sendPermit(): Promise<void>;
}

/**
 * An agent's message WhatsApp refused for good goes back to its ticket's
 * machine, which decides what becomes of it (the re-engagement template past
 * the window, or a report to the CRM). A bot message has no one to tell.
 */
export function agentMessageFailure(row: OutboxRow, graphError: GraphError | undefined, error: string): PipelineEvent | undefined {
  // A read mark or typing indicator refused is not a message lost: nobody waits on it.
  if (row.kind !== 'whatsapp.send' || row.author !== 'agent' || !row.ticketId) return undefined;
  const payload = row.payload as WhatsAppMessage;
  return pipelineEvent('whatsapp.agent_message.failed', laneKey(row.lane), eventIds.outboxFailure(row.id), {
    ticketId: row.ticketId,
    outboxKey: row.idempotencyKey,
    reason: refusalReason(graphError?.code),
    ...writtenMessageOf(payload),
    error: graphError ?? { title: error.slice(0, 300) },
  });
}

/**
 * Sends one message, each send behind the number's send-rate permit. An
 * interactive message WhatsApp will not take for a BSUID (131062: nothing
 * was sent, so a second send cannot duplicate it) goes once more as plain
 * text with its choices numbered; a refusal of that is final like any other.
 */
export function createWhatsAppDeliverer(deps: WhatsAppDelivererDeps): Deliverer {
  const send = async (message: WhatsAppMessage, callbackData: string): Promise<SendOutcome> => {
    await deps.sendPermit();
    return deps.whatsapp.send(message, callbackData);
  };
  /** A read mark or typing indicator: behind the same permit, since WhatsApp counts it against the number's throughput. */
  async function mark(row: OutboxRow, now: number): Promise<Delivery> {
    if (row.kind === 'whatsapp.typing' && now - row.createdAt.getTime() > TYPING_SHELF_LIFE_MS) {
      return { outcome: { ok: true, status: 0, body: null }, skipped: `typing indicator older than ${TYPING_SHELF_LIFE_MS / 1000} s` };
    }
    await deps.sendPermit();
    return { outcome: await deps.whatsapp.mark(row.payload as ReadMark) };
  }

  return {
    async deliver(row) {
      if (row.kind !== 'whatsapp.send') return mark(row, Date.now());
      const payload = row.payload as WhatsAppMessage;
      let outcome = await send(payload, row.idempotencyKey);
      const fallback = !outcome.ok && outcome.graphError?.code === NOT_FOR_BSUID_CODE ? plainTextOf(payload) : undefined;
      if (fallback) outcome = await send(fallback, row.idempotencyKey);
      return { outcome, waMessageId: outcome.ok ? outcome.waMessageId : undefined };
    },
    failureFeedback: agentMessageFailure,
  };
}
