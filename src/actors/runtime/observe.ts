import type { Logger } from '../../logger';
import { maskKey } from '../../domain/masking';
import type { Metrics } from '../../observability/metrics';
import { traceIdOf } from '../../domain/trace-context';
import type { PipelineEvent } from '../../domain/events';
import type { EffectParams } from '../effects';
import type { HandoverContext } from '../handover';

export type Milestone = EffectParams['logMilestone']['milestone'];

/** What the runtime counts and times after a commit; the billing counter is optional for runtimes built without it (tests). */
export type RuntimeMetrics = Pick<Metrics, 'handoverWait' | 'ticketDuration'> & Partial<Pick<Metrics, 'billableMessages'>>;

export interface LogLine {
  /** Info when absent. */
  level?: 'debug' | 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

/** The seed's three log events. */
export function milestoneLine(milestone: Milestone, ticketId: string, conversationKey: string): LogLine {
  const message = {
    agent_required: `🔔 AGENTE REQUERIDO: ${maskKey(conversationKey)} - Ticket: ${ticketId}`,
    bot_to_human: `✅ Handover completado: Bot→Humano - ${ticketId}`,
    human_to_bot: `🔄 Control regresado: Humano→Bot - ${ticketId}`,
  }[milestone];
  return { fields: { event: `handover.${milestone}`, ticketId, conversationKey: maskKey(conversationKey) }, message };
}

/** The lifecycle steps a support engineer looks for in the logs: why a ticket moved without anyone asking. */
const LOGGED_TICKET_EVENTS = new Set(['escalated', 'supervisor_queue', 'agent_reminded', 'out_of_hours', 'agent_message_refused', 'closed']);

export function ticketEventLine(type: string, ticketId: string, conversationKey: string, data: Record<string, unknown>): LogLine | null {
  if (!LOGGED_TICKET_EVENTS.has(type)) return null;
  return {
    fields: { event: `ticket.${type}`, ticketId, conversationKey: maskKey(conversationKey), ...data },
    message: `ticket ${ticketId}: ${type.replace(/_/g, ' ')}`,
  };
}

export type Observation =
  | { histogram: 'handoverWait'; labels: { category: string }; seconds: number }
  | { histogram: 'ticketDuration'; labels: { category: string; close_reason: string }; seconds: number };

/** What a ticket event adds to the handover histograms, given the ticket after it. */
export function handoverObservations(type: string, ticket: HandoverContext, at: string): Observation[] {
  const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;
  const observations: Observation[] = [];
  // The first bot_to_human only: a transfer to another agent keeps the first assignment time.
  if (type === 'agent_connected' && ticket.assignedAt === at) {
    observations.push({ histogram: 'handoverWait', labels: { category: ticket.category }, seconds: seconds(ticket.requestedAt, ticket.assignedAt) });
  }
  if (type === 'closed' && ticket.closedAt) {
    observations.push({
      histogram: 'ticketDuration',
      labels: { category: ticket.category, close_reason: ticket.closeReason ?? 'unknown' },
      seconds: seconds(ticket.requestedAt, ticket.closedAt),
    });
  }
  return observations;
}

/** A deadline that acted (a firing whose deadline moved is dropped: `droppedLine`). */
export function firingLine(fired: { timer: string; dueAt: string; ticketId?: string }, conversationKey: string, at: string): LogLine {
  const lateMs = Date.parse(at) - Date.parse(fired.dueAt);
  return {
    fields: { event: 'timer.fired', ticketId: fired.ticketId, conversationKey: maskKey(conversationKey), timer: fired.timer, dueAt: fired.dueAt, lateMs },
    message: 'deadline fired',
  };
}

/** Why an event went to no machine, when a support engineer may ask. */
export function droppedLine(event: PipelineEvent): LogLine | null {
  if (event.type === 'timer.fired') {
    const { ticketId, timer, dueAt } = event.data;
    return { level: 'debug', fields: { event: 'timer.stale', ticketId, timer, dueAt }, message: 'deadline moved or cleared before it fired' };
  }
  if (event.type === 'meta.thread_control') {
    return {
      fields: { event: 'thread_control.unmatched', conversationKey: maskKey(event.key), control: event.data.event },
      message: 'thread control event names no open ticket',
    };
  }
  if (event.type === 'whatsapp.call') {
    return {
      fields: { event: 'call.no_ticket', conversationKey: maskKey(event.key), call: event.data.event },
      message: 'a user called the business number without an open ticket: nothing recorded',
    };
  }
  return null;
}

/** A user's message the bot did not answer: another responder owns the thread, or a person on the Business app is answering. */
export const quietLine = (conversationKey: string, reason: string): LogLine => ({
  level: 'debug',
  fields: { event: 'bot.quiet', conversationKey: maskKey(conversationKey), reason },
  message:
    reason === 'thread_not_owned'
      ? 'another responder owns the thread: the bot does not answer'
      : 'a person is answering from the WhatsApp Business app: the bot does not answer',
});

export const unknownTicketLine = (ticketId: string, type: string): LogLine => ({
  level: 'warn',
  fields: { event: 'ticket.unknown', ticketId, type },
  message: 'event for an unknown ticket dropped',
});

export const rejectedEventLine = (ticketId: string, type: string, state: unknown): LogLine => ({
  level: 'warn',
  fields: { event: 'ticket.event_rejected', ticketId, type, state },
  message: 'ticket state does not accept this event',
});

/** An event the ticket takes without any change: a request repeated (a new key for what is already so); nothing to act on. */
export const unchangedTicketLine = (ticketId: string, type: string): LogLine => ({
  level: 'debug',
  fields: { event: 'ticket.unchanged', ticketId, type },
  message: 'event changes nothing on the ticket',
});

export const unknownSurveyTicketLine = (ticketId: string): LogLine => ({
  level: 'warn',
  fields: { event: 'survey.unknown_ticket', ticketId },
  message: 'survey outcome for an unknown ticket',
});

/**
 * Logs and metrics about what a batch decided, held as data until its
 * transaction commits: a rolled-back batch is applied again, and must not
 * count (or log) twice.
 */
export class AfterCommit {
  readonly lines: LogLine[] = [];
  readonly observations: Observation[] = [];
  /** Messages WhatsApp said it charges for, by pricing category. */
  readonly billable = new Map<string, number>();
  private traceId: string | undefined;

  /** The lines logged from now on are this event's: they carry its trace id (tracing on), the id its other lines share. */
  applying(event: { traceparent?: string }): void {
    this.traceId = traceIdOf(event.traceparent);
  }

  log(line: LogLine | null): void {
    if (line) this.lines.push(this.traceId ? { ...line, fields: { ...line.fields, traceId: this.traceId } } : line);
  }

  observe(observations: Observation[]): void {
    this.observations.push(...observations);
  }

  countBillable(category: string): void {
    this.billable.set(category, (this.billable.get(category) ?? 0) + 1);
  }

  run(logger: Logger, metrics: RuntimeMetrics): void {
    for (const line of this.lines) logger[line.level ?? 'info'](line.fields, line.message);
    for (const [category, count] of this.billable) metrics.billableMessages?.inc({ category }, count);
    for (const observation of this.observations) {
      if (observation.histogram === 'handoverWait') metrics.handoverWait.observe(observation.labels, observation.seconds);
      else metrics.ticketDuration.observe(observation.labels, observation.seconds);
    }
  }
}
