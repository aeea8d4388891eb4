import type { ConversationRow, Ticket } from '../../db/schema';
import { idsOfRow } from '../../domain/user-ids';
import { threadOwnerOf } from '../../domain/bot-voice';
import { addSeconds } from '../../domain/time';
import { idleClosesAt } from '../../domain/window';
import { LIFECYCLE_START, PRESENCE_START, type HandoverMachine, type HandoverPolicy } from '../handover';
import { kpiRow } from './projection';
import type { ConversationMachine, ConversationSnapshot, ConversationState, HandoverSnapshot, TicketState } from './state';

/** A snapshot as stored: fields added since may be missing, and one written before the rename calls its key `phone`. */
type Persisted<S extends { value: unknown; context: unknown }> = { value: S['value']; context: Partial<S['context']> & { phone?: string } };

/** The stored context with its conversation key under today's name (snapshots written before the rename call it `phone`). */
function renamedKey<C extends { phone?: string; conversationKey?: string }>(context: C): Omit<C, 'phone'> {
  const { phone, ...rest } = context;
  return rest.conversationKey === undefined && phone !== undefined ? { ...rest, conversationKey: phone } : rest;
}

/** A conversation as stored; snapshots written before the deadlines existed have none, and start with none armed. */
export function restoreConversation(
  machine: ConversationMachine,
  row: Pick<ConversationRow, 'snapshot' | 'createdAt'> &
    Partial<
      Pick<
        ConversationRow,
        'userPhone' | 'bsuid' | 'username' | 'parentBsuid' | 'threadOwner' | 'botPausedUntil' | 'privacyNoticeVersion' | 'privacyNoticeSentAt'
      >
    >,
): ConversationState {
  const persisted = row.snapshot as Persisted<ConversationSnapshot>;
  return {
    ids: idsOfRow(row),
    voice: { threadOwner: threadOwnerOf(row.threadOwner), botPausedUntil: row.botPausedUntil?.toISOString() ?? null },
    notice: row.privacyNoticeVersion && row.privacyNoticeSentAt ? { version: row.privacyNoticeVersion, sentAt: row.privacyNoticeSentAt.toISOString() } : null,
    snapshot: machine.resolveState({
      value: persisted.value,
      context: { deadlines: {}, ...renamedKey(persisted.context) } as ConversationSnapshot['context'],
    }),
    createdAt: row.createdAt.toISOString(),
    dirty: false,
  };
}

/**
 * A ticket as stored. Snapshots written before the lifecycle rules lack
 * their fields: they get defaults, and an open one gets the deadlines it
 * needs so that it cannot stay in human mode forever (armed `now`, and
 * marked so the batch writes them).
 */
export function restoreTicket(machine: HandoverMachine, policy: LegacyPolicy, row: Ticket, now: string): TicketState {
  const persisted = row.snapshot as Persisted<HandoverSnapshot>;
  const legacy = persisted.context.deadlines === undefined && persisted.value !== 'closed';
  const lastActivityAt = persisted.context.lastActivityAt ?? now;
  const context = {
    ...LIFECYCLE_START,
    ...PRESENCE_START,
    lastUserMessageAt: persisted.context.lastActivityAt,
    ...renamedKey(persisted.context),
    deadlines: persisted.context.deadlines ?? (legacy ? legacyDeadlines(policy, String(persisted.value), lastActivityAt, now) : {}),
  } as HandoverSnapshot['context'];
  return {
    snapshot: machine.resolveState({ value: persisted.value, context }),
    dirty: legacy,
    armLegacyDeadlines: legacy,
    csat: row.csat,
    surveyStatus: row.surveyStatus,
    kpisAsStored: JSON.stringify(kpiRow(row)),
  };
}

type LegacyPolicy = Pick<HandoverPolicy, 'windowS' | 'assignTimeoutS'>;

/** An old open ticket closes when WhatsApp's window does; one still waiting is re-requested one assign timeout from now. */
export function legacyDeadlines(policy: LegacyPolicy, state: string, lastActivityAt: string, now: string): HandoverSnapshot['context']['deadlines'] {
  return {
    idle: idleClosesAt(lastActivityAt, policy.windowS),
    ...(state === 'waitingAgent' ? { assign: addSeconds(now, policy.assignTimeoutS) } : {}),
  };
}

/** The tickets a stored conversation names (its open one, the one its survey is about), read without restoring it. */
export function ticketsNamedBy(row: Pick<ConversationRow, 'snapshot'>): string[] {
  const { ticketId, surveyTicketId } = (row.snapshot as Persisted<ConversationSnapshot>).context;
  return [ticketId, surveyTicketId].filter((ticketId): ticketId is string => typeof ticketId === 'string');
}
