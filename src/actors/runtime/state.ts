import type { SnapshotFrom } from 'xstate';
import type { SurveyStatus, TicketCategory, TicketPriority } from '../../db/schema';
import type { UserIds } from '../../domain/user-ids';
import type { BotVoice } from '../../domain/bot-voice';
import type { NoticeSent } from '../../domain/privacy-notice';
import type { ConversationEvent, createConversationMachine } from '../conversation';
import type { HandoverEvent, HandoverMachine, HandoverPolicy } from '../handover';

export type ConversationMachine = ReturnType<typeof createConversationMachine>;
export type ConversationSnapshot = SnapshotFrom<ConversationMachine>;
export type HandoverSnapshot = SnapshotFrom<HandoverMachine>;

/** The two machines a batch drives, built once from the policies. */
export interface Machines {
  conversationMachine: ConversationMachine;
  handoverMachine: HandoverMachine;
  /** What an old ticket snapshot's missing deadlines are armed from. */
  handoverPolicy: HandoverPolicy;
}

/** A user's conversation actor as a batch holds it between load and write. */
export interface ConversationState {
  snapshot: ConversationSnapshot;
  /** The user's ids beside the key (stored in the row's columns, not in the snapshot: the machine never needs them). */
  ids: UserIds;
  /** Who owns the thread, and whether a person on the Business app has it: when the bot may speak (domain/bot-voice.ts). */
  voice: BotVoice;
  /** The privacy notice last sent to the user (a column of the row, like the ids); null: never. */
  notice: NoticeSent | null;
  createdAt: string;
  dirty: boolean;
}

/** A ticket's handover actor, plus the survey outcome the conversation machine reports about it. */
export interface TicketState {
  snapshot: HandoverSnapshot;
  dirty: boolean;
  csat: number | null;
  surveyStatus: SurveyStatus | null;
  /** The KPI row as stored when the ticket was loaded (null: none yet); most events change the ticket but not its KPIs. */
  kpisAsStored: string | null;
  /** Restored from a snapshot older than the lifecycle rules: its deadlines were armed on load and must be written. */
  armLegacyDeadlines?: boolean;
}

/** Where an effect comes from: ids derived from it make every outbox row replay-safe. */
export interface Origin {
  eventId: string;
  /** The user's conversation key (a phone or a BSUID): the event's `key`. */
  conversationKey: string;
  at: string;
  sequence: { next: number };
  /** The trace of the event's application (tracing on): its outbox rows carry it, so their calls join it. */
  traceparent?: string;
}

export const originOf = (event: { id: string; key: string; at: string; traceparent?: string }): Origin => ({
  eventId: event.id,
  conversationKey: event.key,
  at: event.at,
  sequence: { next: 0 },
  traceparent: event.traceparent,
});

/**
 * A message from one machine (or from the event being applied) to another,
 * queued in memory and delivered by the core in order: a machine never calls
 * into another while its own transition is being interpreted.
 */
export type Letter =
  | { to: 'conversation'; origin: Origin; event: ConversationEvent }
  | { to: 'ticket'; origin: Origin; ticketId: string; event: HandoverEvent }
  /** The conversation asked for a ticket: it gets a number, its machine starts, and the conversation is told. */
  | { to: 'new ticket'; origin: Origin; category: TicketCategory; priority: TicketPriority };
