import { initialTransition } from 'xstate';
import type { ConversationRow, Ticket } from '../../db/schema';
import { identityChange, knownIds, mergeIds, type IdentityChange, type UserIds } from '../../domain/user-ids';
import { OPEN_VOICE, type BotVoice } from '../../domain/bot-voice';
import { isClosed } from '../handover';
import { restoreConversation, restoreTicket } from './restore';
import type { LoadedActors } from './route';
import type { ConversationState, Machines, TicketState } from './state';

/**
 * The actors a batch touches, restored from their rows, and what it knows of
 * their users: the batch's working state, in memory. Asking for a
 * conversation never seen before starts one.
 */
export class BatchActors {
  private readonly conversations = new Map<string, ConversationState>();
  private readonly tickets = new Map<string, TicketState>();
  /** wamid → the CRM's Idempotency-Key, for the agent messages this batch's replies and reactions name. */
  private readonly crmKeys: Map<string, string>;
  /** Tickets restored from snapshots older than their deadlines: theirs were armed now and must be written. */
  readonly legacyTickets: TicketState[] = [];

  readonly loaded: LoadedActors = {
    conversation: (key) => {
      const state = this.conversations.get(key);
      return state && { ticketId: state.snapshot.context.ticketId, deadlines: state.snapshot.context.deadlines, voice: state.voice };
    },
    ticket: (ticketId) => {
      const state = this.tickets.get(ticketId);
      return state && { open: !isClosed(state.snapshot.value), deadlines: state.snapshot.context.deadlines };
    },
  };

  constructor(
    private readonly machines: Machines,
    rows: { conversations: ConversationRow[]; tickets: Ticket[]; crmKeys: { waMessageId: string; crmKey: string }[] },
    private readonly now: string,
  ) {
    for (const row of rows.conversations) this.conversations.set(row.conversationKey, restoreConversation(machines.conversationMachine, row));
    for (const row of rows.tickets) {
      const state = restoreTicket(machines.handoverMachine, machines.handoverPolicy, row, now);
      if (state.armLegacyDeadlines) this.legacyTickets.push(state);
      this.tickets.set(row.id, state);
    }
    this.crmKeys = new Map(rows.crmKeys.map(({ waMessageId, crmKey }) => [waMessageId, crmKey]));
  }

  /** The user's conversation; a user never seen before starts a new one. */
  conversation(key: string): ConversationState {
    let state = this.conversations.get(key);
    if (!state) {
      const [snapshot] = initialTransition(this.machines.conversationMachine, { conversationKey: key });
      state = { snapshot, ids: {}, voice: OPEN_VOICE, notice: null, createdAt: this.now, dirty: true };
      this.conversations.set(key, state);
    }
    return state;
  }

  ticket(ticketId: string): TicketState | undefined {
    return this.tickets.get(ticketId);
  }

  addTicket(ticketId: string, state: TicketState): void {
    this.tickets.set(ticketId, state);
  }

  /** Every id known of the user a conversation key names. */
  userIds(key: string): UserIds {
    return knownIds(this.conversation(key).ids, key);
  }

  /**
   * What a webhook says of the user, kept with their conversation: a later send or CRM call names them by it.
   * Returns the change when it replaced their phone or BSUID (the CRM must hear of it).
   */
  learnIds(key: string, seen: UserIds): IdentityChange | null {
    const state = this.conversation(key);
    const known = knownIds(state.ids, key);
    const ids = mergeIds(known, seen);
    if (JSON.stringify(ids) === JSON.stringify(state.ids)) return null;
    state.ids = ids;
    state.dirty = true;
    return identityChange(known, ids);
  }

  /** Who may speak in a conversation changed (the thread's owner, a person on the Business app): kept with it. */
  setVoice(key: string, voice: Partial<BotVoice>): void {
    const state = this.conversation(key);
    const next = { ...state.voice, ...voice };
    if (next.threadOwner === state.voice.threadOwner && next.botPausedUntil === state.voice.botPausedUntil) return;
    state.voice = next;
    state.dirty = true;
  }

  /** The id the CRM knows a message by (see `MessageRefs.crmIdOf`): its Idempotency-Key when an agent sent it with one. */
  crmIdOf(waMessageId: string): string {
    return this.crmKeys.get(waMessageId) ?? waMessageId;
  }

  dirtyConversations(): [string, ConversationState][] {
    return [...this.conversations.entries()].filter(([, state]) => state.dirty);
  }

  dirtyTickets(): TicketState[] {
    return [...this.tickets.values()].filter((state) => state.dirty);
  }
}
