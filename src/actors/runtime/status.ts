import type { SentMessage } from '../../db/runtime-store';
import { movesUp } from '../../domain/delivery-status';
import type { AgentMessageFailure, MediaRef, StatusUpdate } from '../../domain/events';
import { refusalReason } from '../../integrations/whatsapp';

/** `biz_opaque_callback_data` carries the outbox key: a status also finds a send whose Graph response was lost (no wamid yet). */
const names = (message: SentMessage, update: StatusUpdate) =>
  message.waMessageId === update.waMessageId || (!!update.callbackData && message.waMessageId === null && message.outboxKey === update.callbackData);

/** A message's pricing is learnt from the first status that gives it (each of sent, delivered, read repeats it). */
const pricesAnew = (message: SentMessage, update: StatusUpdate) => message.billable === null && update.pricing?.billable !== undefined;

/**
 * Applies one status update to the sent messages the batch loaded (changing
 * them in place). Returns the messages it changed (moved up the ladder or
 * priced), those it made billable (for the counter), and the agents'
 * messages it failed: their tickets decide what becomes of them.
 */
export function applyStatus(
  sent: readonly SentMessage[],
  update: StatusUpdate,
): { moved: SentMessage[]; billable: SentMessage[]; failures: AgentMessageFailure[] } {
  const named = sent.filter((message) => names(message, update));
  // Statuses arrive out of order: a message only moves up WhatsApp's ladder (domain/delivery-status.ts).
  const movedUp = named.filter((message) => movesUp(message.status, update.status));
  const priced = named.filter((message) => pricesAnew(message, update));
  for (const message of movedUp) {
    message.status = update.status;
    message.statusAt = new Date(update.timestamp);
    message.waMessageId = update.waMessageId;
    if (update.errors) message.error = update.errors;
  }
  for (const message of priced) {
    message.billable = update.pricing!.billable!;
    message.pricingModel = update.pricing!.pricingModel ?? null;
    message.pricingCategory = update.pricing!.category ?? null;
  }
  const moved = named.filter((message) => movedUp.includes(message) || priced.includes(message));
  const billable = priced.filter((message) => message.billable);
  if (update.status !== 'failed') return { moved, billable, failures: [] };
  const error = update.errors?.[0];
  const failures = movedUp.flatMap(({ outboxKey, ticketId, author, authorId, type, body, media }): AgentMessageFailure[] =>
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
  return { moved, billable, failures };
}
