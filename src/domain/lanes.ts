import { maskKey } from './masking';

/** What the service calls out to: the outbox's kinds (the `outbox_kind` enum is built from them). */
export const OUTBOX_KINDS = [
  'crm.agent_request',
  'crm.user_message',
  'crm.ticket_update',
  'whatsapp.send',
  'customer.lookup',
  'crm.subscriber_erased',
  // An agent's read mark and typing indicator (POST /{phone-number-id}/messages with `status: "read"`): no message, no wamid.
  'whatsapp.read',
  'whatsapp.typing',
  // Conversation Routing: POST /{phone-number-id}/thread_control (pass, take, release).
  'whatsapp.thread_control',
] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];

/** Where a row goes. Each destination has its own circuit, so a failing CRM does not hold up WhatsApp. */
export type Destination = 'crm' | 'whatsapp' | 'lookup';
export const DESTINATIONS: readonly Destination[] = ['crm', 'whatsapp', 'lookup'];

export const destinationOf = (kind: OutboxKind): Destination => (kind.startsWith('crm.') ? 'crm' : kind.startsWith('whatsapp.') ? 'whatsapp' : 'lookup');

/** How a lane names its destination: short, as the rows already stored name it. */
const LANE_PREFIX: Record<Destination, string> = { crm: 'crm', whatsapp: 'wa', lookup: 'lookup' };

/**
 * The lane a row queues in: its destination and the user's conversation key
 * (`crm:573001234567`, `wa:CO.1047385771169864`). The rows of one lane go
 * out one at a time, in id order, so a user's messages never overtake each
 * other. The one place a lane is built and read.
 */
export const laneOf = (kind: OutboxKind, conversationKey: string): string => `${LANE_PREFIX[destinationOf(kind)]}:${conversationKey}`;

/** The conversation key a lane serves: the partition its feedback events go to. */
export const laneKey = (lane: string): string => lane.slice(lane.indexOf(':') + 1);

/** A lane as a log shows it: its key masked. */
export const maskLane = (lane: string): string => `${lane.slice(0, lane.indexOf(':') + 1)}${maskKey(laneKey(lane))}`;
