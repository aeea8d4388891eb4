import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { messages } from '../../db/schema';
import { settleInDoubtSend } from '../../db/settle-send';
import type { AgentMessageFailure, MediaRef, StatusUpdate } from '../../events';
import { refusalReason } from '../../integrations/whatsapp';

/**
 * Moves a message up WhatsApp's ladder, never down: statuses arrive out of
 * order (a `delivered` after its `read`). `biz_opaque_callback_data` carries
 * the outbox key, so a status also finds a send whose Graph response was lost.
 * Returns the agents' messages this status failed: their tickets decide what
 * becomes of them.
 */
export async function applyStatus(tx: Tx, update: StatusUpdate): Promise<AgentMessageFailure[]> {
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
    .returning({
      outboxKey: messages.outboxKey,
      ticketId: messages.ticketId,
      author: messages.author,
      authorId: messages.authorId,
      type: messages.type,
      body: messages.body,
      media: messages.media,
    })
    // Four texts (with or without errors, with or without a callback), each prepared once per connection: three statuses
    // come for every message sent.
    .prepare('status_update')
    .execute();
  // WhatsApp has the message: a send that timed out is settled rather than repeated.
  if (update.callbackData) await settleInDoubtSend(tx, update.callbackData, update.status);
  if (update.status !== 'failed') return [];
  const error = update.errors?.[0];
  return changed.flatMap(({ outboxKey, ticketId, author, authorId, type, body, media }) =>
    author === 'agent' && ticketId && outboxKey
      ? [
          {
            ticketId,
            outboxKey,
            reason: refusalReason(error?.code),
            // A template is never refused for the window (that is what it is for): a 131047 names a free-form send.
            sentAs: 'free_form' as const,
            message: {
              type,
              body: body ?? (media as MediaRef | null)?.url ?? null,
              waMessageId: update.waMessageId,
              agentId: authorId ?? undefined,
              media: (media as MediaRef | null) ?? undefined,
            },
            ...(error ? { error: { code: error.code, title: error.title ?? error.message } } : {}),
          },
        ]
      : [],
  );
}
