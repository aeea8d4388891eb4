import { maskPhone, type Logger } from '../../logger';
import type { Metrics } from '../../metrics';
import type { EffectParams } from '../effects';
import type { HandoverContext } from '../handover';

export type Milestone = EffectParams['logMilestone']['milestone'];

export interface LogLine {
  fields: Record<string, unknown>;
  message: string;
}

/** The seed's three log events. */
export function milestoneLine(milestone: Milestone, ticketId: string, phone: string): LogLine {
  const message = {
    agent_required: `🔔 AGENTE REQUERIDO: ${maskPhone(phone)} - Ticket: ${ticketId}`,
    bot_to_human: `✅ Handover completado: Bot→Humano - ${ticketId}`,
    human_to_bot: `🔄 Control regresado: Humano→Bot - ${ticketId}`,
  }[milestone];
  return { fields: { event: `handover.${milestone}`, ticketId, phone: maskPhone(phone) }, message };
}

/** The lifecycle steps a support engineer looks for in the logs: why a ticket moved without anyone asking. */
const LOGGED_TICKET_EVENTS = new Set(['escalated', 'supervisor_queue', 'agent_reminded', 'out_of_hours', 'agent_message_refused', 'closed']);

export function ticketEventLine(type: string, ticketId: string, phone: string, data: Record<string, unknown>): LogLine | null {
  if (!LOGGED_TICKET_EVENTS.has(type)) return null;
  return { fields: { event: `ticket.${type}`, ticketId, phone: maskPhone(phone), ...data }, message: `ticket ${ticketId}: ${type.replace(/_/g, ' ')}` };
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

/**
 * Logs and metrics about what a batch decided, held until its transaction
 * commits: a rolled-back batch is applied again, and must not count twice.
 */
export class AfterCommit {
  private readonly hooks: (() => void)[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Pick<Metrics, 'handoverWait' | 'ticketDuration'>,
  ) {}

  log(line: LogLine | null): void {
    if (line) this.hooks.push(() => this.logger.info(line.fields, line.message));
  }

  observe(observations: Observation[]): void {
    for (const observation of observations) {
      this.hooks.push(() =>
        observation.histogram === 'handoverWait'
          ? this.metrics.handoverWait.observe(observation.labels, observation.seconds)
          : this.metrics.ticketDuration.observe(observation.labels, observation.seconds),
      );
    }
  }

  run(): void {
    for (const hook of this.hooks) hook();
  }
}
