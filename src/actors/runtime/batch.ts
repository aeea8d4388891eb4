import { sql } from 'drizzle-orm';
import { initialTransition, transition } from 'xstate';
import { inOrder, inTexts, insertRows, quoted } from '../../db/bulk';
import type { Database, Tx } from '../../db/client';
import { conversations, messages, processedEvents, ticketKpis, tickets, type Ticket } from '../../db/schema';
import type { PipelineEvent, StatusUpdate, StreamEntry } from '../../events';
import { maskPhone, type Logger } from '../../logger';
import { knownIds, mergeIds, type UserIds } from '../../user-ids';
import type { ConversationEvent } from '../conversation';
import { effectsOf } from '../effects';
import { isClosed, type HandoverEvent, type HandoverMachine, type HandoverPolicy } from '../handover';
import { perform, type EffectHost, type MessageSettings } from './interpret';
import type { AfterCommit } from './observe';
import { CONVERSATION_UPSERT, KPI_UPSERT, kpiRow, projectConversation, projectTicket, TICKET_UPSERT } from './projection';
import { restoreConversation, restoreTicket } from './restore';
import { route, type LoadedActors } from './route';
import { applyStatus } from './status';
import { BatchRows } from './rows';
import { originOf, type ConversationMachine, type ConversationState, type Origin, type TicketState } from './state';
import { conversationTimerOwner, timerWrites } from './timers';

export interface BatchDeps extends MessageSettings {
  database: Database;
  logger: Logger;
  handoverPolicy: HandoverPolicy;
  conversationMachine: ConversationMachine;
  handoverMachine: HandoverMachine;
}

/** Records every event id; only those not seen before (in this batch or any earlier one) are applied. */
export async function claimFreshEvents(tx: Tx, entries: StreamEntry[]): Promise<StreamEntry[]> {
  const firstOccurrence = new Map<string, StreamEntry>();
  for (const entry of entries) if (!firstOccurrence.has(entry.event.id)) firstOccurrence.set(entry.event.id, entry);
  if (firstOccurrence.size === 0) return [];
  const inserted = await insertRows(
    tx,
    processedEvents,
    [...firstOccurrence.values()].map((entry) => ({ id: entry.event.id, streamEntryId: entry.entryId })),
    `on conflict do nothing returning ${quoted(processedEvents.id.name)}`,
  );
  const fresh = new Set(inserted.map((row) => row[processedEvents.id.name]));
  return [...firstOccurrence.values()].filter((entry) => fresh.has(entry.event.id));
}

/**
 * One partition batch inside its transaction: the actors it touches, loaded
 * once, driven by XState's pure `transition()`, and every row they decided,
 * written at `flush`.
 */
export class Batch implements EffectHost {
  readonly rows = new BatchRows();
  private readonly conversations = new Map<string, ConversationState>();
  private readonly tickets = new Map<string, TicketState>();
  /** wamid → the CRM's Idempotency-Key, for the agent messages this batch's replies and reactions name. */
  private readonly crmKeys = new Map<string, string>();
  private readonly loaded: LoadedActors = {
    conversation: (phone) => this.conversations.get(phone)?.snapshot.context,
    ticket: (ticketId) => {
      const state = this.tickets.get(ticketId);
      return state && { open: !isClosed(state.snapshot.value), deadlines: state.snapshot.context.deadlines };
    },
  };

  constructor(
    private readonly deps: BatchDeps,
    private readonly tx: Tx,
    readonly afterCommit: AfterCommit,
  ) {}

  get settings(): MessageSettings {
    return this.deps;
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  /**
   * The users' conversations, and the agent messages their replies and
   * reactions name: started at once, to go out with the statements the
   * caller started before (the fences, the dedupe), pipelined.
   */
  loadConversations(events: PipelineEvent[]): Promise<unknown> {
    const phones = [...new Set(events.map((event) => event.key))];
    if (phones.length === 0) return Promise.resolve();
    const restoring = this.tx
      .select()
      .from(conversations)
      .where(inTexts(conversations.phone, phones))
      .prepare('batch_conversations')
      .execute()
      .then((rows) => {
        for (const row of rows) this.conversations.set(row.phone, restoreConversation(this.deps.conversationMachine, row));
      });
    return inOrder([restoring, this.loadCrmKeys(events)]);
  }

  /** Every ticket the loaded conversations or the events name (after `loadConversations`). */
  async loadTickets(events: PipelineEvent[]): Promise<void> {
    const ticketIds = new Set<string>();
    for (const state of this.conversations.values()) {
      const { ticketId, surveyTicketId } = state.snapshot.context;
      if (ticketId) ticketIds.add(ticketId);
      if (surveyTicketId) ticketIds.add(surveyTicketId);
    }
    for (const event of events) {
      if ('ticketId' in event.data && typeof event.data.ticketId === 'string') ticketIds.add(event.data.ticketId);
    }
    await this.loadTicketsById([...ticketIds]);
  }

  /** The messages the batch's replies and reactions point at, when an agent sent them with an Idempotency-Key. */
  private async loadCrmKeys(events: PipelineEvent[]): Promise<void> {
    const named = events.flatMap((event) => (event.type === 'user.message' ? [event.data.replyTo, event.data.reaction?.waMessageId] : []));
    const wamids = [...new Set(named.filter((wamid): wamid is string => wamid !== undefined))];
    if (wamids.length === 0) return;
    const rows = await this.tx
      .select({ waMessageId: messages.waMessageId, crmKey: messages.crmKey })
      .from(messages)
      .where(inTexts(messages.waMessageId, wamids))
      .prepare('batch_crm_keys')
      .execute();
    for (const row of rows) if (row.waMessageId && row.crmKey) this.crmKeys.set(row.waMessageId, row.crmKey);
  }

  crmIdOf(waMessageId: string): string {
    return this.crmKeys.get(waMessageId) ?? waMessageId;
  }

  /** Restores the tickets not loaded yet; an old snapshot's missing deadlines are armed as it is restored. */
  private async loadTicketsById(ticketIds: string[]): Promise<void> {
    const missing = ticketIds.filter((ticketId) => !this.tickets.has(ticketId));
    if (missing.length === 0) return;
    const ticketRows = await this.tx.select().from(tickets).where(inTexts(tickets.id, missing)).prepare('batch_tickets').execute();
    const now = new Date().toISOString();
    for (const row of ticketRows) {
      const state = restoreTicket(this.deps.handoverMachine, this.deps.handoverPolicy, row, now);
      if (state.armLegacyDeadlines) this.rows.timers(timerWrites(row.id, row.id, row.phone, {}, state.snapshot.context.deadlines));
      this.tickets.set(row.id, state);
    }
  }

  async apply(event: PipelineEvent): Promise<void> {
    const origin = originOf(event);
    const target = route(event, this.loaded);
    if (event.type === 'user.message') {
      this.learnIds(origin.phone, event.data.user);
      this.rows.received(origin.phone, target.to === 'ticket' ? target.ticketId : null, event.data);
    }
    if (event.type === 'timer.fired' && target.to !== 'nowhere') this.logFiring(origin, event.data);
    switch (target.to) {
      case 'conversation':
        return this.sendToConversation(origin, target.event);
      case 'ticket':
        return this.sendToTicket(origin, target.ticketId, target.event);
      case 'status':
        return this.applyStatus(origin, target.update);
      case 'ids':
        return this.learnIds(origin.phone, target.ids);
      case 'nowhere':
        return this.logDropped(event);
    }
  }

  /** History first; an agent's message it failed goes to its ticket, which may not be among the batch's yet (closed since). */
  private async applyStatus(origin: Origin, update: StatusUpdate): Promise<void> {
    for (const failure of await applyStatus(this.tx, update)) {
      await this.loadTicketsById([failure.ticketId]);
      await this.sendToTicket(origin, failure.ticketId, { type: 'whatsapp.agent_message.failed', at: origin.at, failure });
    }
  }

  ticket(ticketId: string): TicketState | undefined {
    return this.tickets.get(ticketId);
  }

  userIds(key: string): UserIds {
    return knownIds(this.conversation(key).ids, key);
  }

  /** What a webhook says of the user, kept with their conversation: a later send or CRM call names them by it. */
  private learnIds(key: string, seen: UserIds): void {
    const state = this.conversation(key);
    const ids = mergeIds(knownIds(state.ids, key), seen);
    if (JSON.stringify(ids) === JSON.stringify(state.ids)) return;
    state.ids = ids;
    state.dirty = true;
  }

  /** The user's conversation; a user never seen before starts a new one. */
  conversation(phone: string): ConversationState {
    let state = this.conversations.get(phone);
    if (!state) {
      const [snapshot] = initialTransition(this.deps.conversationMachine, { phone });
      state = { snapshot, ids: {}, createdAt: new Date().toISOString(), dirty: true };
      this.conversations.set(phone, state);
    }
    return state;
  }

  async sendToConversation(origin: Origin, event: ConversationEvent): Promise<void> {
    const state = this.conversation(origin.phone);
    const [next, actions] = transition(this.deps.conversationMachine, state.snapshot, event);
    this.rows.timers(timerWrites(conversationTimerOwner(origin.phone), null, origin.phone, state.snapshot.context.deadlines, next.context.deadlines));
    state.snapshot = next;
    state.dirty = true;
    await perform(this, { origin, ticketId: null }, effectsOf(actions));
  }

  private async sendToTicket(origin: Origin, ticketId: string, event: HandoverEvent): Promise<void> {
    const state = this.tickets.get(ticketId);
    if (!state) {
      this.logger.warn({ event: 'ticket.unknown', ticketId, type: event.type }, 'event for an unknown ticket dropped');
      return;
    }
    if (!state.snapshot.can(event)) {
      this.rows.ticketEvent(ticketId, 'event_rejected', { event: event.type, state: state.snapshot.value }, event.at);
      this.logger.warn({ event: 'ticket.event_rejected', ticketId, type: event.type, state: state.snapshot.value }, 'ticket state does not accept this event');
      return;
    }
    const [next, actions] = transition(this.deps.handoverMachine, state.snapshot, event);
    this.rows.timers(timerWrites(ticketId, ticketId, state.snapshot.context.phone, state.snapshot.context.deadlines, next.context.deadlines));
    state.snapshot = next;
    state.dirty = true;
    await perform(this, { origin, ticketId }, effectsOf(actions));
  }

  async openTicket(origin: Origin, category: Ticket['category'], priority: Ticket['priority']): Promise<void> {
    const customer = this.conversation(origin.phone).snapshot.context.customer;
    if (!customer) throw new Error('openTicket without an authenticated customer');
    const ticketId = await this.nextTicketId(origin.at);
    const input = { ticketId, phone: origin.phone, category, priority, customer, requestedAt: origin.at };
    const [snapshot, actions] = initialTransition(this.deps.handoverMachine, input);
    this.tickets.set(ticketId, { snapshot, dirty: true, csat: null, surveyStatus: null, kpisAsStored: null });
    this.rows.timers(timerWrites(ticketId, ticketId, origin.phone, {}, snapshot.context.deadlines));
    await this.sendToConversation(origin, { type: 'ticket.opened', at: origin.at, ticketId });
    await perform(this, { origin, ticketId }, effectsOf(actions));
  }

  /** `TK-YYYY-NNNNNN`: the year of the request, a number from a sequence shared by all instances. */
  private async nextTicketId(at: string): Promise<string> {
    const [row] = await this.deps.database.rows<{ n: number | string }>(this.tx, sql`select nextval('ticket_number_seq') as n`);
    return `TK-${new Date(at).getUTCFullYear()}-${String(row!.n).padStart(6, '0')}`;
  }

  /** Every row the batch decided, pipelined: tickets before the rows that reference them. */
  async flush(): Promise<void> {
    const { tx } = this;
    const now = new Date();
    const writes: Promise<unknown>[] = [];
    const dirtyConversations = [...this.conversations.entries()].filter(([, state]) => state.dirty);
    if (dirtyConversations.length > 0) {
      const rows = dirtyConversations.map(([phone, state]) => projectConversation(this.deps.conversationMachine, phone, state, now));
      writes.push(insertRows(tx, conversations, rows, CONVERSATION_UPSERT));
    }
    const dirtyTickets = [...this.tickets.values()].filter((state) => state.dirty);
    if (dirtyTickets.length > 0) {
      const rows = dirtyTickets.map((state) => projectTicket(this.deps.handoverMachine, state));
      writes.push(insertRows(tx, tickets, rows, TICKET_UPSERT));
      // The KPI row moves with its ticket, in the same transaction; a relayed message leaves it as it was.
      const changedKpis = rows.map(kpiRow).filter((kpis, index) => JSON.stringify(kpis) !== dirtyTickets[index]!.kpisAsStored);
      if (changedKpis.length > 0) writes.push(insertRows(tx, ticketKpis, changedKpis, KPI_UPSERT));
    }
    writes.push(...this.rows.write(tx));
    await inOrder(writes);
  }

  private logFiring(origin: Origin, fired: { timer: string; dueAt: string; ticketId?: string }): void {
    const lateMs = Date.parse(origin.at) - Date.parse(fired.dueAt);
    this.logger.info(
      { event: 'timer.fired', ticketId: fired.ticketId, phone: maskPhone(origin.phone), timer: fired.timer, dueAt: fired.dueAt, lateMs },
      'deadline fired',
    );
  }

  private logDropped(event: PipelineEvent): void {
    if (event.type === 'timer.fired') {
      const { ticketId, timer, dueAt } = event.data;
      this.logger.debug({ event: 'timer.stale', ticketId, timer, dueAt }, 'deadline moved or cleared before it fired');
    } else if (event.type === 'meta.thread_control') {
      const fields = { event: 'thread_control.unmatched', phone: maskPhone(event.key), control: event.data.event };
      this.logger.info(fields, 'thread control event names no open ticket');
    }
  }
}
