/**
 * Every pipeline event's id: its natural id, recorded in the transaction
 * that applies it (`processed_events`), so a redelivered or repeated event is
 * applied once. Each producer builds its ids here, so two producers never
 * name different events alike, and an id seen in a log or a dead letter says
 * where the event came from. Ids are stored: a format never changes.
 */
export const eventIds = {
  /** A user's message: WhatsApp's wamid (Meta redelivers a webhook with the same one). */
  userMessage: (waMessageId: string) => `wa:msg:${waMessageId}`,
  /** A delivery status: one per message and status. */
  status: (waMessageId: string, status: string) => `wa:status:${waMessageId}:${status}`,
  userIdChange: (previousBsuid: string, bsuid: string) => `wa:user_id:${previousBsuid}:${bsuid}`,
  /** What the business sent from the Business app or another responder: its wamid. */
  echo: (waMessageId: string) => `wa:echo:${waMessageId}`,
  /** A call's start or end: WhatsApp's call id and which. */
  call: (callId: string, event: string) => `wa:call:${callId}:${event}`,
  /** A past chat's message (`history`): its wamid (the live one, if any, is stored once: by the wamid's unique index). */
  history: (waMessageId: string) => `wa:history:${waMessageId}`,
  /** A Conversation Routing handover on /webhook: what it is, whose thread, and when (a redelivery carries the same). */
  handover: (event: string, userKey: string, timestamp: string) => `meta:handover:${event}:${userKey}:${timestamp}`,
  /** A thread-control item: the hash of the delivery's bytes (a redelivery carries the same) and its place in it. */
  threadControl: (deliveryDigest: string, index: number) => `meta:handover:${deliveryDigest}:${index}`,
  /** A CRM request: its Idempotency-Key's digest (`key`), or its body's at the ticket's revision (`body`). */
  crmRequest: (route: string, basis: 'key' | 'body', digest: string) => `crm:${route}:${basis}:${digest}`,
  /** A deadline's firing: the timer row and its due time, so a second firing of the same deadline is a duplicate. */
  timerFiring: (timerId: string, dueAt: string) => `timer:${timerId}@${dueAt}`,
  /** What an outbox row's call answered, fed back to a machine. */
  outboxResult: (outboxId: number) => `outbox:${outboxId}:result`,
  /** An agent's message WhatsApp refused for good, fed back to its ticket. */
  outboxFailure: (outboxId: number) => `outbox:${outboxId}:failed`,
};

/**
 * An outbox row's key: the event that decided it and the effect's place
 * among that event's, so a replayed event writes the same row; the CRM gets
 * it as Idempotency-Key.
 */
export const outboxKeyOf = (eventId: string, sequence: number): string => `${eventId}#${sequence}`;
