/**
 * A message's delivery status. `received` marks the user's own messages;
 * `queued` one of ours not yet accepted by Graph; the rest are what WhatsApp
 * says of a send. This list is the `delivery_status` enum's, in the order it
 * was created: that order is not the ladder below, so no code or SQL
 * compares statuses by the enum's order.
 */
export const DELIVERY_STATUSES = ['received', 'queued', 'sent', 'delivered', 'read', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * WhatsApp's ladder for a message we sent: a status moves a message up it,
 * never down, since statuses arrive out of order (a `delivered` after its
 * `read`). `failed` sits below `delivered`: a message that failed and was
 * then delivered was delivered. `received` (inbound) is not on it.
 */
const LADDER: readonly DeliveryStatus[] = ['queued', 'sent', 'failed', 'delivered', 'read'];
const rung = (status: DeliveryStatus) => LADDER.indexOf(status) + 1;

/** Whether a message at `from` moves to `to`: only up the ladder. */
export const movesUp = (from: DeliveryStatus, to: DeliveryStatus): boolean => rung(from) < rung(to);

/** The statuses a message moves up from to reach `to`: what a statement that sets `to` matches (`status in (...)`). */
export const statusesBelow = (to: DeliveryStatus): DeliveryStatus[] => LADDER.filter((status) => movesUp(status, to));

/** Whether WhatsApp has spoken of a send (any status from `sent` up): it has the message, and a resend would duplicate it. */
export const whatsAppHasIt = (status: DeliveryStatus): boolean => rung(status) >= rung('sent');
