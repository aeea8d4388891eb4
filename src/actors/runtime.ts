import { inArray, sql } from 'drizzle-orm';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import type { Database, Tx } from '../db/client';
import {
  conversations,
  messages,
  outbox,
  processedEvents,
  ticketEvents,
  ticketKpis,
  tickets,
  timers,
  type ConversationRow,
  type MessageAuthor,
  type NewMessage,
  type NewOutboxRow,
  type NewTicketKpis,
  type NewTimerRow,
  type OutboxKind,
  type SurveyStatus,
  type Ticket,
} from '../db/schema';
import type { InboundMessage, PipelineEvent, StatusUpdate, StreamEntry, TimerFired } from '../events';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { maskPhone } from '../logger';
import { renderText, type Texts } from '../texts';
import { buttonsMessage, listMessage, mediaMessage, templateMessage, textMessage, type WhatsAppMessage } from '../integrations/whatsapp-messages';
import { createConversationMachine, type ConversationEvent, type ConversationPolicy, type ConversationTimer } from './conversation';
import { addSeconds, type Deadlines } from './deadlines';
import { effectsOf, type Effect, type TicketUpdateReason } from './effects';
import { createHandoverMachine, phaseOf, statusOf, type HandoverEvent, type HandoverPolicy, type HandoverTimer } from './handover';
import { REPLY_IDS } from './intents';
import { reportFailedAgentMessage, settleInDoubtSend } from '../outbox/failed-messages';
import { OUTSIDE_WINDOW_CODE } from '../integrations/whatsapp';

export interface RuntimeDeps {
  database: Database;
  texts: Texts;
  emergencyPhone: string;
  logger: Logger;
  handoverPolicy: HandoverPolicy;
  conversationPolicy: ConversationPolicy;
  /** The approved template an agent's message goes out as past WhatsApp's window; null: such messages are refused. */
  reengageTemplate: { name: string; languageCode: string } | null;
  metrics: Pick<Metrics, 'handoverWait' | 'ticketDuration'>;
}

type ConversationSnapshot = SnapshotFrom<ReturnType<typeof createConversationMachine>>;
type HandoverSnapshot = SnapshotFrom<ReturnType<typeof createHandoverMachine>>;

interface ConversationState {
  snapshot: ConversationSnapshot;
  createdAt: string;
  dirty: boolean;
}

interface TicketState {
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
interface Origin {
  eventId: string;
  phone: string;
  at: string;
  sequence: { next: number };
}

/**
 * Applies stream events to the actors. One call handles one batch of one
 * partition in one Postgres transaction: dedupe, load the snapshots, run
 * XState's pure `transition()`, and write snapshots, history, outbox rows and
 * ticket events together. Nothing leaves the process here: the outbox does
 * that after the commit.
 */
export function createRuntime(deps: RuntimeDeps) {
  const { database, texts, logger } = deps;
  const conversationMachine = createConversationMachine(deps.conversationPolicy);
  const handoverMachine = createHandoverMachine(deps.handoverPolicy);

  function restoreConversation(row: ConversationRow): ConversationState {
    const persisted = row.snapshot as { value: ConversationSnapshot['value']; context: Partial<ConversationSnapshot['context']> };
    return {
      // Snapshots written before the deadlines existed have none: they start with none armed.
      snapshot: conversationMachine.resolveState({
        value: persisted.value,
        context: { deadlines: {}, ...persisted.context } as ConversationSnapshot['context'],
      }),
      createdAt: row.createdAt.toISOString(),
      dirty: false,
    };
  }

  function restoreTicket(row: Ticket): TicketState {
    const persisted = row.snapshot as { value: HandoverSnapshot['value']; context: Partial<HandoverSnapshot['context']> };
    // Snapshots written before the lifecycle rules lack their fields: defaults, and the deadlines an open ticket needs
    // so that it cannot stay in human mode forever (armed now, written by `load`).
    const legacy = persisted.context.deadlines === undefined && persisted.value !== 'closed';
    const now = new Date().toISOString();
    const lastActivityAt = persisted.context.lastActivityAt ?? now;
    const context = {
      queuePosition: null,
      lastUserMessageAt: persisted.context.lastActivityAt,
      ladderStep: 0,
      escalations: 0,
      supervisorQueued: false,
      agentReminded: false,
      ...persisted.context,
      deadlines: persisted.context.deadlines ?? (legacy ? legacyDeadlines(String(persisted.value), lastActivityAt, now) : {}),
    } as HandoverSnapshot['context'];
    return {
      snapshot: handoverMachine.resolveState({ value: persisted.value, context }),
      dirty: legacy,
      armLegacyDeadlines: legacy,
      csat: row.csat,
      surveyStatus: row.surveyStatus,
      kpisAsStored: JSON.stringify(kpiRow(row)),
    };
  }

  function legacyDeadlines(state: string, lastActivityAt: string, now: string): HandoverSnapshot['context']['deadlines'] {
    const { windowS, assignTimeoutS } = deps.handoverPolicy;
    return { idle: addSeconds(lastActivityAt, windowS), ...(state === 'waitingAgent' ? { assign: addSeconds(now, assignTimeoutS) } : {}) };
  }

  function projectTicket(state: TicketState): typeof tickets.$inferInsert {
    const context = state.snapshot.context;
    const value = String(state.snapshot.value);
    const date = (iso: string | null) => (iso ? new Date(iso) : null);
    return {
      id: context.ticketId,
      phone: context.phone,
      customerId: context.customer.customerId,
      customerName: context.customer.customerName,
      category: context.category,
      priority: context.priority,
      status: statusOf(value),
      phase: phaseOf(value, context),
      closeReason: context.closeReason,
      agentId: context.agent?.id ?? null,
      agentName: context.agent?.name ?? null,
      requestedAt: new Date(context.requestedAt),
      assignedAt: date(context.assignedAt),
      firstAgentReplyAt: date(context.firstAgentReplyAt),
      closedAt: date(context.closedAt),
      lastActivityAt: new Date(context.lastActivityAt),
      lastUserMessageAt: new Date(context.lastUserMessageAt),
      escalations: context.escalations,
      messageCount: context.messageCount,
      csat: state.csat,
      surveyStatus: state.surveyStatus,
      snapshot: handoverMachine.getPersistedSnapshot(state.snapshot),
    };
  }

  async function applyBatch(entries: StreamEntry[]): Promise<{ applied: number; duplicates: number }> {
    const afterCommit: (() => void)[] = [];
    const result = await database.db.transaction(async (tx) => {
      const batch = new Batch(tx, afterCommit);
      const fresh = await batch.claimFreshEvents(entries);
      await batch.load(fresh.map((entry) => entry.event));
      for (const { event } of fresh) await batch.apply(event);
      await batch.flush();
      return { applied: fresh.length, duplicates: entries.length - fresh.length };
    });
    for (const run of afterCommit) run();
    return result;
  }

  class Batch {
    private readonly conversations = new Map<string, ConversationState>();
    private readonly tickets = new Map<string, TicketState>();
    private readonly newMessages: NewMessage[] = [];
    private readonly newOutbox: NewOutboxRow[] = [];
    private readonly newTicketEvents: (typeof ticketEvents.$inferInsert)[] = [];
    private readonly statusUpdates: StatusUpdate[] = [];
    /** Timer rows to write at flush: the last word per timer id wins; a null due time deletes the row. */
    private readonly timerWrites = new Map<string, Omit<NewTimerRow, 'dueAt'> & { dueAt: Date | null }>();

    constructor(
      private readonly tx: Tx,
      private readonly afterCommit: (() => void)[],
    ) {}

    /** Records every event id; only those not seen before (in this batch or any earlier one) are applied. */
    async claimFreshEvents(entries: StreamEntry[]): Promise<StreamEntry[]> {
      const firstOccurrence = new Map<string, StreamEntry>();
      for (const entry of entries) if (!firstOccurrence.has(entry.event.id)) firstOccurrence.set(entry.event.id, entry);
      if (firstOccurrence.size === 0) return [];
      const inserted = await this.tx
        .insert(processedEvents)
        .values([...firstOccurrence.values()].map((entry) => ({ id: entry.event.id, streamEntryId: entry.entryId })))
        .onConflictDoNothing()
        .returning({ id: processedEvents.id });
      const fresh = new Set(inserted.map((row) => row.id));
      return [...firstOccurrence.values()].filter((entry) => fresh.has(entry.event.id));
    }

    /** Two queries for the whole batch: the users' conversations, then every ticket they or the events name. */
    async load(events: PipelineEvent[]): Promise<void> {
      const phones = [...new Set(events.map((event) => event.key))];
      if (phones.length === 0) return;
      const rows = await this.tx.select().from(conversations).where(inArray(conversations.phone, phones));
      for (const row of rows) this.conversations.set(row.phone, restoreConversation(row));
      const ticketIds = new Set<string>();
      for (const state of this.conversations.values()) {
        const { ticketId, surveyTicketId } = state.snapshot.context;
        if (ticketId) ticketIds.add(ticketId);
        if (surveyTicketId) ticketIds.add(surveyTicketId);
      }
      for (const event of events) {
        if ('ticketId' in event.data && typeof event.data.ticketId === 'string') ticketIds.add(event.data.ticketId);
      }
      if (ticketIds.size === 0) return;
      const ticketRows = await this.tx
        .select()
        .from(tickets)
        .where(inArray(tickets.id, [...ticketIds]));
      for (const row of ticketRows) {
        const state = restoreTicket(row);
        if (state.armLegacyDeadlines) this.syncTimers(row.id, row.id, row.phone, {}, state.snapshot.context.deadlines);
        this.tickets.set(row.id, state);
      }
    }

    async apply(event: PipelineEvent): Promise<void> {
      const origin: Origin = { eventId: event.id, phone: event.key, at: event.at, sequence: { next: 0 } };
      switch (event.type) {
        case 'user.message':
          return this.onUserMessage(origin, event.data);
        case 'whatsapp.status':
          this.statusUpdates.push(event.data);
          return;
        case 'crm.handover': {
          const { ticketId, handoverType, agentId, agentName } = event.data;
          const machineEvent: HandoverEvent =
            handoverType === 'bot_to_human'
              ? { type: 'crm.handover.bot_to_human', at: event.at, agent: { id: agentId ?? '', name: agentName ?? agentId ?? '' } }
              : { type: 'crm.handover.human_to_bot', at: event.at };
          return this.sendToTicket(origin, ticketId, machineEvent);
        }
        case 'crm.message':
          return this.sendToTicket(origin, event.data.ticketId, { type: 'crm.message', at: event.at, message: event.data });
        case 'meta.thread_control': {
          const ticketId = event.data.ticketId ?? this.conversations.get(event.key)?.snapshot.context.ticketId ?? undefined;
          if (!ticketId) {
            logger.info(
              { event: 'thread_control.unmatched', phone: maskPhone(event.key), control: event.data.event },
              'thread control event names no open ticket',
            );
            return;
          }
          return this.sendToTicket(origin, ticketId, { type: 'meta.thread_control', at: event.at, control: event.data });
        }
        case 'crm.agent_request.result': {
          const { ticketId, outcome, agentAssigned, error } = event.data;
          return this.sendToTicket(
            origin,
            ticketId,
            outcome === 'accepted'
              ? { type: 'crm.agent_request.accepted', at: event.at, agent: agentAssigned ?? null, queuePosition: event.data.queuePosition ?? null }
              : { type: 'crm.agent_request.failed', at: event.at, error: error ?? 'unknown error' },
          );
        }
        case 'customer.lookup.result':
          return this.sendToConversation(origin, { type: 'customer.lookup.completed', at: event.at, result: event.data });
        case 'timer.fired':
          return this.onTimerFired(origin, event.data);
      }
    }

    /**
     * A firing acts only if the deadline is still armed at that time: the
     * scheduler may deliver it twice (a crash before it marked the row, two
     * instances), or after the machine moved on.
     */
    private async onTimerFired(origin: Origin, fired: TimerFired): Promise<void> {
      const deadlines: Deadlines<string> | undefined = fired.ticketId
        ? this.tickets.get(fired.ticketId)?.snapshot.context.deadlines
        : this.conversations.get(origin.phone)?.snapshot.context.deadlines;
      if (deadlines?.[fired.timer] !== fired.dueAt) {
        logger.debug({ event: 'timer.stale', ticketId: fired.ticketId, timer: fired.timer, dueAt: fired.dueAt }, 'deadline moved or cleared before it fired');
        return;
      }
      logger.info(
        {
          event: 'timer.fired',
          ticketId: fired.ticketId,
          phone: maskPhone(origin.phone),
          timer: fired.timer,
          dueAt: fired.dueAt,
          lateMs: Date.parse(origin.at) - Date.parse(fired.dueAt),
        },
        'deadline fired',
      );
      if (fired.ticketId) {
        return this.sendToTicket(origin, fired.ticketId, { type: 'timer.fired', at: origin.at, timer: fired.timer as HandoverTimer, dueAt: fired.dueAt });
      }
      return this.sendToConversation(origin, { type: 'timer.fired', at: origin.at, timer: fired.timer as ConversationTimer, dueAt: fired.dueAt });
    }

    private async onUserMessage(origin: Origin, message: InboundMessage): Promise<void> {
      const openTicketId = this.conversation(origin.phone).snapshot.context.ticketId;
      const ticket = openTicketId ? this.tickets.get(openTicketId) : undefined;
      this.newMessages.push({
        phone: origin.phone,
        ticketId: ticket && ticket.snapshot.status !== 'done' ? openTicketId : null,
        direction: 'inbound',
        author: 'user',
        type: message.type,
        body: message.text ?? null,
        media: message.media ?? null,
        waMessageId: message.waMessageId,
        status: 'received',
        createdAt: new Date(message.timestamp),
      });
      // While a ticket is open its handover machine owns the user's messages: the bot stays silent.
      if (openTicketId && ticket && ticket.snapshot.status !== 'done') {
        return this.sendToTicket(origin, openTicketId, { type: 'user.message', at: origin.at, message });
      }
      return this.sendToConversation(origin, { type: 'user.message', at: origin.at, message });
    }

    private conversation(phone: string): ConversationState {
      let state = this.conversations.get(phone);
      if (!state) {
        const [snapshot] = initialTransition(conversationMachine, { phone });
        state = { snapshot, createdAt: new Date().toISOString(), dirty: true };
        this.conversations.set(phone, state);
      }
      return state;
    }

    private async sendToConversation(origin: Origin, event: ConversationEvent): Promise<void> {
      const state = this.conversation(origin.phone);
      const [next, actions] = transition(conversationMachine, state.snapshot, event);
      this.syncTimers(conversationTimerOwner(origin.phone), null, origin.phone, state.snapshot.context.deadlines, next.context.deadlines);
      state.snapshot = next;
      state.dirty = true;
      await this.perform(origin, effectsOf(actions), null);
    }

    /** Arms, moves and clears the timer rows of one machine to match its deadlines after a transition. */
    private syncTimers(owner: string, ticketId: string | null, phone: string, before: Deadlines<string>, after: Deadlines<string>): void {
      for (const timer of new Set([...Object.keys(before), ...Object.keys(after)])) {
        const due = after[timer];
        if (due === before[timer]) continue;
        this.timerWrites.set(`${owner}/${timer}`, {
          id: `${owner}/${timer}`,
          key: phone,
          ticketId,
          timer,
          dueAt: due ? new Date(due) : null,
          enqueuedAt: null,
        });
      }
    }

    private async sendToTicket(origin: Origin, ticketId: string, event: HandoverEvent): Promise<void> {
      const state = this.tickets.get(ticketId);
      if (!state) {
        logger.warn({ event: 'ticket.unknown', ticketId, type: event.type }, 'event for an unknown ticket dropped');
        return;
      }
      if (!state.snapshot.can(event)) {
        this.newTicketEvents.push({ ticketId, type: 'event_rejected', data: { event: event.type, state: state.snapshot.value }, at: new Date(event.at) });
        logger.warn({ event: 'ticket.event_rejected', ticketId, type: event.type, state: state.snapshot.value }, 'ticket state does not accept this event');
        return;
      }
      const [next, actions] = transition(handoverMachine, state.snapshot, event);
      this.syncTimers(ticketId, ticketId, state.snapshot.context.phone, state.snapshot.context.deadlines, next.context.deadlines);
      state.snapshot = next;
      state.dirty = true;
      await this.perform(origin, effectsOf(actions), ticketId);
    }

    private async openTicket(origin: Origin, category: Ticket['category'], priority: Ticket['priority']): Promise<void> {
      const conversation = this.conversation(origin.phone);
      const customer = conversation.snapshot.context.customer;
      if (!customer) throw new Error('openTicket without an authenticated customer');
      const ticketId = await this.nextTicketId(origin.at);
      const [snapshot, actions] = initialTransition(handoverMachine, {
        ticketId,
        phone: origin.phone,
        category,
        priority,
        customer,
        requestedAt: origin.at,
      });
      this.tickets.set(ticketId, { snapshot, dirty: true, csat: null, surveyStatus: null, kpisAsStored: null });
      this.syncTimers(ticketId, ticketId, origin.phone, {}, snapshot.context.deadlines);
      await this.sendToConversation(origin, { type: 'ticket.opened', at: origin.at, ticketId });
      await this.perform(origin, effectsOf(actions), ticketId);
    }

    /** `TK-YYYY-NNNNNN`: the year of the request, a number from a sequence shared by all instances. */
    private async nextTicketId(at: string): Promise<string> {
      const [row] = await database.rows<{ n: number | string }>(this.tx, sql`select nextval('ticket_number_seq') as n`);
      return `TK-${new Date(at).getUTCFullYear()}-${String(row!.n).padStart(6, '0')}`;
    }

    private async perform(origin: Origin, effects: Effect[], ticketId: string | null): Promise<void> {
      for (const effect of effects) {
        switch (effect.type) {
          case 'reply':
            this.sendWhatsApp(origin, ticketId, 'bot', null, 'text', this.render(effect.params.text, effect.params.vars), null);
            break;
          case 'showMenu': {
            const { greeting, notUnderstood, profileName } = effect.params;
            const body = [
              greeting ? renderText(texts, 'greeting', { profileGreeting: profileName ? `, ${profileName}` : '' }) : '',
              notUnderstood ? texts.notUnderstood : '',
              texts.menuBody,
            ]
              .filter(Boolean)
              .join('\n\n');
            const buttons = [
              { id: REPLY_IDS.support, title: texts.menuSupport },
              { id: REPLY_IDS.identify, title: texts.menuIdentify },
              { id: REPLY_IDS.emergency, title: texts.menuEmergency },
            ];
            this.sendWhatsApp(origin, ticketId, 'bot', null, 'interactive', body, buttonsMessage(origin.phone, body, buttons));
            break;
          }
          case 'offerSurvey': {
            this.setSurveyStatus(effect.params.ticketId, 'offered');
            const rows = ([1, 2, 3, 4, 5] as const).map((score) => ({ id: `${REPLY_IDS.csatPrefix}${score}`, title: texts[`csat${score}`] }));
            const body = texts.surveyBody;
            this.sendWhatsApp(origin, effect.params.ticketId, 'bot', null, 'interactive', body, listMessage(origin.phone, body, texts.surveyButton, rows));
            break;
          }
          case 'lookupCustomer':
            this.enqueue(origin, 'customer.lookup', `lookup:${origin.phone}`, null, { phone: origin.phone, document: effect.params.document });
            break;
          case 'openTicket':
            await this.openTicket(origin, effect.params.category, effect.params.priority);
            break;
          case 'recordCsat':
            this.recordCsat(origin, effect.params.ticketId, effect.params.score);
            break;
          case 'closeSurvey':
            this.closeSurvey(origin, effect.params.ticketId, effect.params.outcome);
            break;
          case 'requestAgent':
            this.enqueue(origin, 'crm.agent_request', `crm:${origin.phone}`, ticketId, this.agentRequestBody(ticketId!));
            break;
          case 'relayToCrm': {
            const { message } = effect.params;
            this.enqueue(origin, 'crm.user_message', `crm:${origin.phone}`, ticketId, {
              ticketId,
              userPhone: origin.phone,
              message: message.text ?? '',
              messageType: message.type,
              ...(message.media?.id ? { mediaId: message.media.id } : {}),
              ...(message.media?.caption ? { caption: message.media.caption } : {}),
              waMessageId: message.waMessageId,
              timestamp: message.timestamp,
            });
            break;
          }
          case 'deliverAgentMessage': {
            const { messageType, body, media, agentId, asTemplate } = effect.params;
            const template = deps.reengageTemplate;
            const payload =
              asTemplate && template
                ? templateMessage(origin.phone, template.name, template.languageCode, messageType === 'text' ? body : (media?.caption ?? body))
                : messageType === 'text'
                  ? textMessage(origin.phone, body)
                  : mediaMessage(origin.phone, messageType, media ?? { url: body });
            this.sendWhatsApp(
              origin,
              ticketId,
              'agent',
              agentId ?? null,
              messageType,
              messageType === 'text' ? body : (media?.caption ?? null),
              payload,
              media,
            );
            break;
          }
          case 'refuseAgentMessage':
            this.enqueue(origin, 'crm.ticket_update', `crm:${origin.phone}`, ticketId, {
              ...this.ticketUpdateBody(origin, ticketId!, 'message_failed'),
              message: { type: effect.params.messageType, body: effect.params.body, waMessageId: null },
              error: { code: OUTSIDE_WINDOW_CODE, title: 'more than 24 hours since the user last wrote, and no re-engagement template is configured' },
            });
            break;
          case 'notifyCrm':
            this.enqueue(origin, 'crm.ticket_update', `crm:${origin.phone}`, ticketId, {
              ...this.ticketUpdateBody(origin, ticketId!, effect.params.reason),
              status: effect.params.status,
            });
            break;
          case 'ticketClosed':
            await this.sendToConversation(origin, { type: 'ticket.closed', at: origin.at, ticketId: ticketId!, reason: effect.params.reason });
            break;
          case 'recordTicketEvent': {
            const { type, data = {} } = effect.params;
            this.newTicketEvents.push({ ticketId: ticketId!, type, data, at: new Date(origin.at) });
            this.observeHandover(origin, type, ticketId!);
            if (LOGGED_TICKET_EVENTS.has(type)) {
              const line = { event: `ticket.${type}`, ticketId, phone: maskPhone(origin.phone), ...data };
              this.afterCommit.push(() => logger.info(line, `ticket ${ticketId}: ${type.replace(/_/g, ' ')}`));
            }
            break;
          }
          case 'logMilestone':
            this.logMilestone(effect.params.milestone, ticketId!, origin.phone);
            break;
        }
      }
    }

    /** The handover histograms, observed once the transaction that decided them has committed. */
    private observeHandover(origin: Origin, type: string, ticketId: string): void {
      const ticket = this.tickets.get(ticketId)?.snapshot.context;
      if (!ticket) return;
      const seconds = (from: string, to: string | null) => (to ? (Date.parse(to) - Date.parse(from)) / 1000 : undefined);
      // The first bot_to_human only: a transfer to another agent keeps the first assignment time.
      if (type === 'agent_connected' && ticket.assignedAt === origin.at) {
        const wait = seconds(ticket.requestedAt, ticket.assignedAt)!;
        this.afterCommit.push(() => deps.metrics.handoverWait.observe({ category: ticket.category }, wait));
      }
      if (type === 'closed') {
        const duration = seconds(ticket.requestedAt, ticket.closedAt);
        if (duration !== undefined) {
          this.afterCommit.push(() =>
            deps.metrics.ticketDuration.observe({ category: ticket.category, close_reason: ticket.closeReason ?? 'unknown' }, duration),
          );
        }
      }
    }

    private render(key: Parameters<typeof renderText>[1], vars: Record<string, string | number> = {}): string {
      return renderText(texts, key, { emergencyPhone: deps.emergencyPhone, ...vars });
    }

    /** The seed's three log events, written once the transaction that decided them has committed. */
    private logMilestone(milestone: 'agent_required' | 'bot_to_human' | 'human_to_bot', ticketId: string, phone: string): void {
      const line = { event: `handover.${milestone}`, ticketId, phone: maskPhone(phone) };
      const message = {
        agent_required: `🔔 AGENTE REQUERIDO: ${maskPhone(phone)} - Ticket: ${ticketId}`,
        bot_to_human: `✅ Handover completado: Bot→Humano - ${ticketId}`,
        human_to_bot: `🔄 Control regresado: Humano→Bot - ${ticketId}`,
      }[milestone];
      this.afterCommit.push(() => logger.info(line, message));
    }

    /** One rating per ticket: a second answer (a replayed tap) changes nothing. */
    private recordCsat(origin: Origin, ticketId: string, score: number): void {
      const ticket = this.surveyedTicket(ticketId);
      if (!ticket || ticket.csat !== null) return;
      ticket.csat = score;
      this.setSurveyStatus(ticketId, 'answered');
      this.newTicketEvents.push({ ticketId, type: 'csat', data: { score }, at: new Date(origin.at) });
      this.enqueue(origin, 'crm.ticket_update', `crm:${origin.phone}`, ticketId, this.ticketUpdateBody(origin, ticketId, 'csat', { csat: score }));
    }

    /** The survey ended without a rating: recorded with the ticket and told to the CRM, so the response rate is honest. */
    private closeSurvey(origin: Origin, ticketId: string, outcome: 'expired' | 'skipped'): void {
      const ticket = this.surveyedTicket(ticketId);
      if (!ticket || ticket.csat !== null) return;
      this.setSurveyStatus(ticketId, outcome);
      this.newTicketEvents.push({ ticketId, type: `survey_${outcome}`, data: {}, at: new Date(origin.at) });
      this.enqueue(origin, 'crm.ticket_update', `crm:${origin.phone}`, ticketId, this.ticketUpdateBody(origin, ticketId, `survey_${outcome}`));
    }

    private surveyedTicket(ticketId: string): TicketState | undefined {
      const ticket = this.tickets.get(ticketId);
      if (!ticket) logger.warn({ event: 'survey.unknown_ticket', ticketId }, 'survey outcome for an unknown ticket');
      return ticket;
    }

    private setSurveyStatus(ticketId: string, status: SurveyStatus): void {
      const ticket = this.tickets.get(ticketId);
      if (!ticket) return;
      ticket.surveyStatus = status;
      ticket.dirty = true;
    }

    /** DESIGN 2.2's ticket-update body: `{ ticketId, userPhone, status, reason, priority?, csat?, timestamp }`. */
    private ticketUpdateBody(origin: Origin, ticketId: string, reason: TicketUpdateReason, extra: { csat?: number } = {}): Record<string, unknown> {
      const ticket = this.tickets.get(ticketId)!.snapshot;
      return {
        ticketId,
        userPhone: ticket.context.phone,
        status: statusOf(String(ticket.value)),
        reason,
        priority: ticket.context.priority,
        ...extra,
        timestamp: origin.at,
      };
    }

    /** The seed's agent-request body, built from the ticket and the conversation as they stand now. */
    private agentRequestBody(ticketId: string): Record<string, unknown> {
      const ticket = this.tickets.get(ticketId)!.snapshot.context;
      const conversation = this.conversation(ticket.phone);
      return {
        ticketId,
        userPhone: ticket.phone,
        userContext: {
          phoneNumber: ticket.phone,
          customerId: ticket.customer.customerId,
          customerName: ticket.customer.customerName,
          isAuthenticated: true,
          lastActivity: ticket.requestedAt,
          sessionInfo: { hasActiveSession: true, sessionStart: conversation.createdAt },
        },
        priority: ticket.priority,
        category: ticket.category,
        serviceSuspended: ticket.customer.isInactive,
        requestTime: ticket.requestedAt,
      };
    }

    private nextKey(origin: Origin): string {
      return `${origin.eventId}#${origin.sequence.next++}`;
    }

    private enqueue(origin: Origin, kind: OutboxKind, lane: string, ticketId: string | null, payload: Record<string, unknown>): string {
      const idempotencyKey = this.nextKey(origin);
      this.newOutbox.push({ kind, lane, payload, idempotencyKey, ticketId });
      return idempotencyKey;
    }

    private sendWhatsApp(
      origin: Origin,
      ticketId: string | null,
      author: MessageAuthor,
      authorId: string | null,
      type: string,
      body: string | null,
      payload: WhatsAppMessage | null,
      media?: NewMessage['media'],
    ): void {
      const message = payload ?? textMessage(origin.phone, body ?? '');
      const outboxKey = this.enqueue(origin, 'whatsapp.send', `wa:${origin.phone}`, ticketId, message);
      this.newMessages.push({
        phone: origin.phone,
        ticketId,
        direction: 'outbound',
        author,
        authorId,
        type,
        body,
        media: media ?? null,
        status: 'queued',
        outboxKey,
        createdAt: new Date(origin.at),
      });
    }

    async flush(): Promise<void> {
      const { tx } = this;
      const dirtyConversations = [...this.conversations.entries()].filter(([, state]) => state.dirty);
      if (dirtyConversations.length > 0) {
        await tx
          .insert(conversations)
          .values(
            dirtyConversations.map(([phone, state]) => ({
              phone,
              state: JSON.stringify(state.snapshot.value),
              snapshot: conversationMachine.getPersistedSnapshot(state.snapshot),
              createdAt: new Date(state.createdAt),
              updatedAt: new Date(),
            })),
          )
          .onConflictDoUpdate({
            target: conversations.phone,
            set: {
              state: sql`excluded.state`,
              snapshot: sql`excluded.snapshot`,
              revision: sql`${conversations.revision} + 1`,
              updatedAt: sql`excluded.updated_at`,
            },
          });
      }
      const dirtyTickets = [...this.tickets.values()].filter((state) => state.dirty);
      if (dirtyTickets.length > 0) {
        const projected = Object.fromEntries(TICKET_PROJECTION_COLUMNS.map((column) => [camel(column), sql.raw(`excluded.${column}`)]));
        const rows = dirtyTickets.map((state) => projectTicket(state));
        await tx
          .insert(tickets)
          .values(rows)
          .onConflictDoUpdate({ target: tickets.id, set: { ...projected, revision: sql`${tickets.revision} + 1` } });
        // The KPI row moves with its ticket, in the same transaction; a relayed message leaves it as it was.
        const changedKpis = rows.map(kpiRow).filter((kpis, index) => JSON.stringify(kpis) !== dirtyTickets[index]!.kpisAsStored);
        if (changedKpis.length > 0) {
          await tx
            .insert(ticketKpis)
            .values(changedKpis)
            .onConflictDoUpdate({
              target: ticketKpis.ticketId,
              set: Object.fromEntries(KPI_COLUMNS.map((column) => [camel(column), sql.raw(`excluded.${column}`)])),
            });
        }
      }
      if (this.newTicketEvents.length > 0) await tx.insert(ticketEvents).values(this.newTicketEvents);
      if (this.newMessages.length > 0) await tx.insert(messages).values(this.newMessages).onConflictDoNothing();
      if (this.newOutbox.length > 0) await tx.insert(outbox).values(this.newOutbox);
      await this.flushTimers();
      for (const update of this.statusUpdates) await applyStatus(tx, update);
    }

    private async flushTimers(): Promise<void> {
      const writes = [...this.timerWrites.values()];
      const cleared = writes.filter((write) => write.dueAt === null).map((write) => write.id);
      const armed = writes.filter((write): write is NewTimerRow => write.dueAt !== null);
      if (cleared.length > 0) await this.tx.delete(timers).where(inArray(timers.id, cleared));
      if (armed.length > 0) {
        await this.tx
          .insert(timers)
          .values(armed)
          .onConflictDoUpdate({ target: timers.id, set: { dueAt: sql`excluded.due_at`, enqueuedAt: null, enqueueCount: 0 } });
      }
    }
  }

  return { applyBatch };
}

/** The KPI row of a ticket, from its projection: the same values the ticket row gets. */
function kpiRow(ticket: typeof tickets.$inferInsert): NewTicketKpis {
  return {
    ticketId: ticket.id,
    requestedAt: ticket.requestedAt,
    assignedAt: ticket.assignedAt,
    firstAgentReplyAt: ticket.firstAgentReplyAt,
    closedAt: ticket.closedAt,
    status: ticket.status,
    closeReason: ticket.closeReason,
    category: ticket.category,
    priority: ticket.priority,
    agentId: ticket.agentId,
    agentName: ticket.agentName,
    escalations: ticket.escalations,
    csat: ticket.csat,
    surveyStatus: ticket.surveyStatus,
  };
}

/** The KPI columns a later transition can change (the durations follow, computed by Postgres). */
const KPI_COLUMNS = [
  'assigned_at',
  'first_agent_reply_at',
  'closed_at',
  'status',
  'close_reason',
  'priority',
  'agent_id',
  'agent_name',
  'escalations',
  'csat',
  'survey_status',
];

/** A conversation's timers are named by a hash of the phone: timer ids travel in event ids, which operators see. */
const conversationTimerOwner = (phone: string) => `conversation-${Bun.hash(phone).toString(36)}`;

/** The lifecycle steps a support engineer looks for in the logs: why a ticket moved without anyone asking. */
const LOGGED_TICKET_EVENTS = new Set(['escalated', 'supervisor_queue', 'agent_reminded', 'out_of_hours', 'agent_message_refused', 'closed']);

/** The columns a ticket's later transitions can change: everything but its identity and request. */
const TICKET_PROJECTION_COLUMNS = [
  'status',
  'phase',
  'close_reason',
  'agent_id',
  'agent_name',
  'assigned_at',
  'first_agent_reply_at',
  'closed_at',
  'last_activity_at',
  'last_user_message_at',
  'priority',
  'escalations',
  'message_count',
  'csat',
  'survey_status',
  'snapshot',
];

const camel = (column: string) => column.replace(/_(\w)/g, (_, letter: string) => letter.toUpperCase());

/**
 * Moves a message up WhatsApp's ladder, never down: statuses arrive out of
 * order (a `delivered` after its `read`). `biz_opaque_callback_data` carries
 * the outbox key, so a status also finds a send whose Graph response was lost.
 */
async function applyStatus(tx: Tx, update: StatusUpdate): Promise<void> {
  const ladder = sql.raw(`array['queued','sent','failed','delivered','read']::delivery_status[]`);
  const matches = update.callbackData
    ? sql`(${messages.waMessageId} = ${update.waMessageId} or (${messages.waMessageId} is null and ${messages.outboxKey} = ${update.callbackData}))`
    : sql`${messages.waMessageId} = ${update.waMessageId}`;
  const changed = await tx
    .update(messages)
    .set({
      status: update.status,
      statusAt: new Date(update.timestamp),
      waMessageId: update.waMessageId,
      ...(update.errors ? { error: update.errors } : {}),
    })
    .where(
      sql`${matches} and ${messages.direction} = 'outbound' and coalesce(array_position(${ladder}, ${messages.status}), 0) < array_position(${ladder}, ${update.status}::delivery_status)`,
    )
    .returning({ outboxKey: messages.outboxKey });
  // WhatsApp has the message: a send that timed out is settled rather than repeated.
  if (update.callbackData) await settleInDoubtSend(tx, update.callbackData, update.status);
  if (update.status === 'failed') {
    for (const { outboxKey } of changed) {
      if (outboxKey) await reportFailedAgentMessage(tx, outboxKey, update.errors?.[0] ?? {}, new Date(update.timestamp));
    }
  }
}
