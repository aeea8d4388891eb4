import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { messages } from '../../db/schema';
import type { StatusUpdate } from '../../events';
import { reportFailedAgentMessage, settleInDoubtSend } from '../../outbox/failed-messages';

/**
 * Moves a message up WhatsApp's ladder, never down: statuses arrive out of
 * order (a `delivered` after its `read`). `biz_opaque_callback_data` carries
 * the outbox key, so a status also finds a send whose Graph response was lost.
 */
export async function applyStatus(tx: Tx, update: StatusUpdate): Promise<void> {
  const ladder = sql.raw(`array['queued','sent','failed','delivered','read']::delivery_status[]`);
  const matches = update.callbackData
    ? sql`(${messages.waMessageId} = ${update.waMessageId} or (${messages.waMessageId} is null and ${messages.outboxKey} = ${update.callbackData}))`
    : sql`${messages.waMessageId} = ${update.waMessageId}`;
  const changed = await tx
    .update(messages)
    .set({
      status: update.status,
      statusAt: new Date(update.timestamp),
      waMessageId: update.waMessageId,
      ...(update.errors ? { error: update.errors } : {}),
    })
    .where(
      sql`${matches} and ${messages.direction} = 'outbound' and coalesce(array_position(${ladder}, ${messages.status}), 0) < array_position(${ladder}, ${update.status}::delivery_status)`,
    )
    .returning({ outboxKey: messages.outboxKey });
  // WhatsApp has the message: a send that timed out is settled rather than repeated.
  if (update.callbackData) await settleInDoubtSend(tx, update.callbackData, update.status);
  if (update.status === 'failed') {
    for (const { outboxKey } of changed) {
      if (outboxKey) await reportFailedAgentMessage(tx, outboxKey, update.errors?.[0] ?? {}, new Date(update.timestamp));
    }
  }
}
