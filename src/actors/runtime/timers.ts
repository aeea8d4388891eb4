import type { NewTimerRow } from '../../db/schema';
import type { Deadlines } from '../deadlines';

/** A timer row to write at flush; a null due time deletes it. */
export type TimerWrite = Omit<NewTimerRow, 'dueAt'> & { dueAt: Date | null };

/** A conversation's timers are named by a hash of its key (perhaps a phone): timer ids travel in event ids, which operators see. */
export const conversationTimerOwner = (conversationKey: string): string => `conversation-${Bun.hash(conversationKey).toString(36)}`;

/** The writes that arm, move and clear one machine's timer rows to match its deadlines after a transition. */
export function timerWrites(
  owner: string,
  ticketId: string | null,
  conversationKey: string,
  before: Deadlines<string>,
  after: Deadlines<string>,
): TimerWrite[] {
  const writes: TimerWrite[] = [];
  for (const timer of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const due = after[timer];
    if (due === before[timer]) continue;
    writes.push({ id: `${owner}/${timer}`, conversationKey, ticketId, timer, dueAt: due ? new Date(due) : null, enqueuedAt: null });
  }
  return writes;
}

/** The batch's last word per timer, split into the rows to delete and the rows to upsert. */
export function settleTimerWrites(writes: readonly TimerWrite[]): { cleared: string[]; armed: NewTimerRow[] } {
  const last = new Map(writes.map((write) => [write.id, write]));
  const settled = [...last.values()];
  return {
    cleared: settled.filter((write) => write.dueAt === null).map((write) => write.id),
    armed: settled.filter((write): write is NewTimerRow => write.dueAt !== null),
  };
}
