import type { FirstRead, FirstReads } from '../../db/runtime-store';
import type { PipelineEvent } from '../../domain/events';
import { ticketsNamedBy } from './restore';

const distinct = (values: (string | undefined)[]) => [...new Set(values.filter((value): value is string => value !== undefined))];

/** What a batch's events name, to be read before anything is decided: their conversations, and the messages they point at. */
export function firstReadsOf(events: readonly PipelineEvent[]): FirstReads {
  const statuses = events.flatMap((event) => (event.type === 'whatsapp.status' ? [event.data] : []));
  return {
    keys: distinct(events.map((event) => event.key)),
    repliedTo: distinct(
      events.flatMap((event) =>
        event.type === 'user.message'
          ? [event.data.replyTo, event.data.reaction?.waMessageId, event.data.edit?.waMessageId, event.data.revoke?.waMessageId]
          : [],
      ),
    ),
    statusWamids: distinct(statuses.map((status) => status.waMessageId)),
    statusCallbacks: distinct(statuses.map((status) => status.callbackData || undefined)),
  };
}

/**
 * Every ticket the fresh events may reach: those the loaded conversations
 * name, those the events name, and, when a status fails, those of the
 * agents' messages it may fail (closed since, perhaps: the machine still
 * decides what becomes of the message).
 */
export function ticketsToRead(first: Pick<FirstRead, 'conversations' | 'sentMessages'>, fresh: readonly PipelineEvent[]): string[] {
  const ticketIds = new Set(first.conversations.flatMap(ticketsNamedBy));
  for (const event of fresh) {
    if ('ticketId' in event.data && typeof event.data.ticketId === 'string') ticketIds.add(event.data.ticketId);
  }
  if (fresh.some((event) => event.type === 'whatsapp.status' && event.data.status === 'failed')) {
    for (const message of first.sentMessages) if (message.author === 'agent' && message.ticketId) ticketIds.add(message.ticketId);
  }
  return [...ticketIds];
}
