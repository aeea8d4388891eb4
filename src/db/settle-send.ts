import { sql } from 'drizzle-orm';
import type { Tx } from './client';
import { outbox } from './schema';

/**
 * A send whose Graph response was lost waits, in doubt, for its status
 * webhook. When one names it (its key travels as `biz_opaque_callback_data`)
 * WhatsApp has the message: the row is done, never sent again, and its lane
 * is free at once rather than after the reconcile window.
 */
export async function settleInDoubtSend(tx: Tx, outboxKey: string, status: string): Promise<void> {
  await tx
    .update(outbox)
    .set({ status: 'done', completedAt: new Date(), inDoubtSince: null, lockedUntil: null, response: { reconciledBy: status } })
    .where(sql`${outbox.idempotencyKey} = ${outboxKey} and ${outbox.status} = 'pending' and ${outbox.inDoubtSince} is not null`)
    .prepare('settle_in_doubt')
    .execute();
}
