import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../db/client';
import { messages, outbox, tickets } from '../db/schema';

export interface SendFailure {
  code?: number;
  title?: string;
  message?: string;
}

/**
 * An agent's message that WhatsApp will not deliver (refused by the Graph
 * API, or a `failed` status webhook after it was accepted) is reported to the
 * CRM as a `ticket-update` with reason `message_failed`, so the agent knows
 * the user never read it. Called in the transaction that records the failure;
 * the report's idempotency key is the send's, so both paths report it once.
 * Bot messages are not reported: the CRM did not write them.
 */
export async function reportFailedAgentMessage(tx: Tx, outboxKey: string, failure: SendFailure, at: Date): Promise<void> {
  const [message] = await tx
    .select({
      author: messages.author,
      ticketId: messages.ticketId,
      phone: messages.phone,
      type: messages.type,
      body: messages.body,
      waMessageId: messages.waMessageId,
    })
    .from(messages)
    .where(eq(messages.outboxKey, outboxKey))
    .limit(1);
  if (!message || message.author !== 'agent' || !message.ticketId) return;
  const [ticket] = await tx.select({ status: tickets.status, priority: tickets.priority }).from(tickets).where(eq(tickets.id, message.ticketId));
  await tx
    .insert(outbox)
    .values({
      kind: 'crm.ticket_update',
      lane: `crm:${message.phone}`,
      ticketId: message.ticketId,
      idempotencyKey: `${outboxKey}:failed`,
      payload: {
        ticketId: message.ticketId,
        userPhone: message.phone,
        status: ticket?.status ?? 'closed',
        reason: 'message_failed',
        priority: ticket?.priority,
        message: { type: message.type, body: message.body, waMessageId: message.waMessageId },
        error: { code: failure.code, title: failure.title ?? failure.message },
        timestamp: at.toISOString(),
      },
    })
    .onConflictDoNothing({ target: outbox.idempotencyKey });
}

/** Rows whose send is no longer in doubt because a status webhook named it: done, without a resend. */
export async function settleInDoubtSend(tx: Tx, outboxKey: string, status: string): Promise<void> {
  await tx
    .update(outbox)
    .set({ status: 'done', completedAt: new Date(), inDoubtSince: null, lockedUntil: null, response: { reconciledBy: status } })
    .where(sql`${outbox.idempotencyKey} = ${outboxKey} and ${outbox.status} = 'pending' and ${outbox.inDoubtSince} is not null`);
}
