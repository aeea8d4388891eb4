import type { CustomerRecord, PipelineEvent } from '../../../../src/domain/events';

let users = 0;

/**
 * One user's events, as the routes and dispatchers would put them on the
 * stream, stamped by a clock the test moves (`later`). Each user has a phone
 * of their own, so tests sharing a database do not see each other.
 */
export class UserScript {
  readonly phone = `57300${String(++users).padStart(7, '0')}`;
  private sequence = 0;

  constructor(public now = '2026-11-30T15:00:00.000Z') {}

  later(seconds: number): this {
    this.now = new Date(Date.parse(this.now) + seconds * 1000).toISOString();
    return this;
  }

  private event<T extends PipelineEvent['type']>(type: T, data: Extract<PipelineEvent, { type: T }>['data'], id?: string): PipelineEvent {
    return { type, key: this.phone, id: id ?? `${type}:${this.phone}:${++this.sequence}`, at: this.now, data } as PipelineEvent;
  }

  writes(text: string): PipelineEvent {
    return this.event('user.message', {
      user: { phone: this.phone },
      waMessageId: `wamid.${this.phone}.${++this.sequence}`,
      timestamp: this.now,
      type: 'text',
      text,
    });
  }

  taps(replyId: string, title: string): PipelineEvent {
    return this.event('user.message', {
      user: { phone: this.phone },
      waMessageId: `wamid.${this.phone}.${++this.sequence}`,
      timestamp: this.now,
      type: 'interactive',
      text: title,
      replyId,
    });
  }

  directoryFinds(document: string, customer: CustomerRecord): PipelineEvent {
    return this.event('customer.lookup.result', { document, outcome: 'found', customer });
  }

  directoryKnowsNot(document: string): PipelineEvent {
    return this.event('customer.lookup.result', { document, outcome: 'not_found' });
  }

  crmAccepts(ticketId: string): PipelineEvent {
    return this.event('crm.agent_request.result', { ticketId, outcome: 'accepted', queuePosition: 2 });
  }

  agentTakes(ticketId: string): PipelineEvent {
    return this.event('crm.handover', { ticketId, handoverType: 'bot_to_human', agentId: 'ag-7', agentName: 'Laura' });
  }

  agentWrites(ticketId: string, message: string): PipelineEvent {
    return this.event('crm.message', { ticketId, agentId: 'ag-7', message, messageType: 'text' });
  }

  agentHandsBack(ticketId: string): PipelineEvent {
    return this.event('crm.handover', { ticketId, handoverType: 'human_to_bot' });
  }

  /** WhatsApp's status webhook for one of our messages; `callbackData` echoes its outbox key. */
  whatsappReports(waMessageId: string, status: 'sent' | 'delivered' | 'read' | 'failed', callbackData?: string, errorCode?: number): PipelineEvent {
    return this.event('whatsapp.status', {
      waMessageId,
      status,
      timestamp: this.now,
      user: { phone: this.phone },
      ...(callbackData ? { callbackData } : {}),
      ...(errorCode ? { errors: [{ code: errorCode, title: `error ${errorCode}` }] } : {}),
    });
  }

  /**
   * A deadline's firing, with the scheduler's event id. `copy` gives the same
   * firing another id, one the dedupe does not know (its processed_events row
   * pruned, say): only the runtime's own check stops it then.
   */
  deadlineFires(ticketId: string, timer: string, dueAt: string, copy = ''): PipelineEvent {
    return this.event('timer.fired', { ticketId, timer, dueAt }, `timer:${ticketId}/${timer}@${dueAt}${copy}`);
  }
}
