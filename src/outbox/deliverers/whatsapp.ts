import type { OutboxRow } from '../../db/schema';
import { pipelineEvent, type PipelineEvent } from '../../events';
import { refusalReason, type GraphError, type WhatsAppClient } from '../../integrations/whatsapp';
import { writtenMessageOf, type WhatsAppMessage } from '../../integrations/whatsapp-messages';
import type { Deliverer } from '../outcome';

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
  if (row.author !== 'agent' || !row.ticketId) return undefined;
  const payload = row.payload as WhatsAppMessage;
  return pipelineEvent('whatsapp.agent_message.failed', payload.to, `outbox:${row.id}:failed`, {
    ticketId: row.ticketId,
    outboxKey: row.idempotencyKey,
    reason: refusalReason(graphError?.code),
    ...writtenMessageOf(payload),
    error: graphError ?? { title: error.slice(0, 300) },
  });
}

/** Sends one message, each send behind the number's send-rate permit. */
export function createWhatsAppDeliverer(deps: WhatsAppDelivererDeps): Deliverer {
  return {
    async deliver(row) {
      await deps.sendPermit();
      const outcome = await deps.whatsapp.send(row.payload as WhatsAppMessage, row.idempotencyKey);
      return { outcome, waMessageId: outcome.ok ? outcome.waMessageId : undefined };
    },
    failureFeedback: agentMessageFailure,
  };
}
