import type { OutboxRow } from '../../db/schema';
import { eventIds } from '../../domain/event-ids';
import { laneKey } from '../../domain/lanes';
import { pipelineEvent, type PipelineEvent } from '../../domain/events';
import { NOT_FOR_BSUID_CODE, refusalReason, type GraphError, type SendOutcome, type WhatsAppClient } from '../../integrations/whatsapp';
import { plainTextOf, writtenMessageOf, type ReadMark, type WhatsAppMessage } from '../../integrations/whatsapp-messages';
import type { Deliverer, Delivery } from '../outcome';
import { businessNumbers, numberOfKey, type BusinessNumbers } from '../../domain/business-numbers';

/**
 * WhatsApp shows "typing…" for 25 s: an indicator that could not go out by
 * then (a backlog, Graph failing) would be shown late, maybe under the reply
 * that follows it in the lane. It is dropped instead, and so never holds the
 * reply back longer than this.
 */
export const TYPING_SHELF_LIFE_MS = 25_000;

export interface WhatsAppDelivererDeps {
  whatsapp: WhatsAppClient;
  /** Resolves when the WhatsApp number may send one more message (the send-rate limit of each number, shared by all instances). */
  sendPermit(phoneNumberId: string): Promise<void>;
  /** The numbers served: a row's lane names its conversation, and so the number it is sent from. */
  numbers?: BusinessNumbers;
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

/** A thread-control call Meta refused for good (a take by an app that is not the escalation partner, a pass by one that does not own the thread): its ticket records it. */
export function threadControlRefusal(row: OutboxRow, graphError: GraphError | undefined, error: string): PipelineEvent | undefined {
  if (!row.ticketId) return undefined;
  const action = String((row.payload as { action?: unknown }).action ?? '');
  return pipelineEvent('whatsapp.thread_control.refused', laneKey(row.lane), eventIds.outboxFailure(row.id), {
    ticketId: row.ticketId,
    action,
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
  const numbers = deps.numbers ?? businessNumbers('');
  const send = async (message: WhatsAppMessage, callbackData: string, from: string | undefined): Promise<SendOutcome> => {
    await deps.sendPermit(from ?? '');
    return deps.whatsapp.send(message, callbackData, from);
  };
  /** A read mark or typing indicator: behind the same permit, since WhatsApp counts it against the number's throughput. */
  async function mark(row: OutboxRow, now: number, from: string | undefined): Promise<Delivery> {
    if (row.kind === 'whatsapp.typing' && now - row.createdAt.getTime() > TYPING_SHELF_LIFE_MS) {
      return { outcome: { ok: true, status: 0, body: null }, skipped: `typing indicator older than ${TYPING_SHELF_LIFE_MS / 1000} s` };
    }
    await deps.sendPermit(from ?? '');
    return { outcome: await deps.whatsapp.mark(row.payload as ReadMark, from) };
  }

  return {
    async deliver(row) {
      // From the number the user wrote to; with none configured, the client's own.
      const from = numberOfKey(numbers, laneKey(row.lane)) || undefined;
      // Not a message: no send-rate point spent.
      if (row.kind === 'whatsapp.thread_control') return { outcome: await deps.whatsapp.threadControl(row.payload as Record<string, unknown>, from) };
      if (row.kind !== 'whatsapp.send') return mark(row, Date.now(), from);
      const payload = row.payload as WhatsAppMessage;
      let outcome = await send(payload, row.idempotencyKey, from);
      const fallback = !outcome.ok && outcome.graphError?.code === NOT_FOR_BSUID_CODE ? plainTextOf(payload) : undefined;
      if (fallback) outcome = await send(fallback, row.idempotencyKey, from);
      return { outcome, waMessageId: outcome.ok ? outcome.waMessageId : undefined };
    },
    failureFeedback: (row, graphError, error) =>
      row.kind === 'whatsapp.thread_control' ? threadControlRefusal(row, graphError, error) : agentMessageFailure(row, graphError, error),
  };
}
