import type { OutboxKind } from '../db/schema';
import { maskKey } from '../domain/masking';

/** Where a row goes. Each destination has its own circuit, so a failing CRM does not hold up WhatsApp. */
export type Destination = 'crm' | 'whatsapp' | 'lookup';
export const DESTINATIONS: readonly Destination[] = ['crm', 'whatsapp', 'lookup'];

export const destinationOf = (kind: OutboxKind): Destination => (kind.startsWith('crm.') ? 'crm' : kind === 'whatsapp.send' ? 'whatsapp' : 'lookup');

/** A lane is a destination and a user's conversation key (`crm:573001234567`, `wa:CO.1047385771169864`): the key is masked before it reaches a log. */
export const maskLane = (lane: string) => lane.replace(/:(.+)$/, (_, key: string) => `:${maskKey(key)}`);

/** The conversation key a lane serves: the partition its feedback events go to. */
export const laneKey = (lane: string): string => lane.slice(lane.indexOf(':') + 1);
