import type { OutboxRow } from '../db/schema';
import { whatsAppHasIt, type DeliveryStatus } from '../domain/delivery-status';
import type { Delivery } from './outcome';
import type { OutboxRepository } from './repository';

export interface InDoubtOptions {
  /** How long a send with an unknown outcome waits for its status webhook before it is sent again. */
  reconcileAfterMs: number;
  maxAttempts: number;
}

/**
 * A send whose last try ended with its outcome unknown is not repeated
 * blindly: if a status webhook has since named it (its key travels as
 * `biz_opaque_callback_data`), WhatsApp has it and the row is settled.
 * Returns null when the send may go out again.
 */
export function reconcile(
  row: Pick<OutboxRow, 'attempts'> & { inDoubtSince: Date },
  messageStatus: DeliveryStatus | undefined,
  options: InDoubtOptions,
  now = Date.now(),
): Delivery | null {
  if (messageStatus && whatsAppHasIt(messageStatus)) {
    return { outcome: { ok: true, status: 200, body: { reconciledBy: messageStatus } }, reconciledBy: messageStatus };
  }
  // Statuses come within seconds of an accepted send; until the window has passed, silence proves nothing.
  const waitMs = row.inDoubtSince.getTime() + options.reconcileAfterMs - now;
  if (waitMs > 0)
    return { outcome: { ok: false, retryable: true, error: 'waiting for the status webhook of a send in doubt' }, deferred: { retryInMs: waitMs } };
  if (row.attempts > options.maxAttempts) {
    return { outcome: { ok: false, retryable: false, error: 'no status webhook for a send in doubt, and no attempt left to send it again' } };
  }
  return null;
}

/** Settles a send in doubt from its message's delivery status; null for any other row, or when it may be sent again. */
export async function settleInDoubt(row: OutboxRow, repository: OutboxRepository, options: InDoubtOptions): Promise<Delivery | null> {
  if (row.kind !== 'whatsapp.send' || !row.inDoubtSince) return null;
  const status = await repository.deliveryStatusOf(row);
  return reconcile({ attempts: row.attempts, inDoubtSince: row.inDoubtSince }, status, options);
}
