import { Histogram } from 'prom-client';
import { createRuntime } from '../../../../src/actors/runtime';
import { loadConfig } from '../../../../src/config';
import { openDatabase, type Database } from '../../../../src/db/client';
import type { CustomerRecord, PipelineEvent } from '../../../../src/events';
import { handoverPolicy } from '../../../../src/index';
import { createLogger } from '../../../../src/logger';
import { DEFAULT_TEXTS } from '../../../../src/texts';
import { createTestDatabase } from '../../../support/harness';

/** The runtime alone on a database of its own: events go in through `applyBatch`, no worker, no HTTP. */
export interface RuntimeFixture {
  database: Database;
  runtime: ReturnType<typeof createRuntime>;
  apply(...events: PipelineEvent[]): Promise<{ applied: number; duplicates: number }>;
  /** Every log line the runtime wrote, as pino serialised it. */
  logLines: string[];
  close(): Promise<void>;
}

/** `settings` are environment overrides, e.g. `{ WHATSAPP_REENGAGE_TEMPLATE: 'seguimiento' }`. */
export async function openRuntimeFixture(label: string, settings: Record<string, string> = {}): Promise<RuntimeFixture> {
  const testDatabase = await createTestDatabase(label);
  const database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 2 });
  const config = loadConfig({ NODE_ENV: 'test', HANDOVER_ASSIGN_TIMEOUT_S: '60', QUEUE_UPDATE_INTERVAL_S: '600', LOG_LEVEL: 'debug', ...settings });
  const logLines: string[] = [];
  const histogram = (name: string, labelNames: string[]) => new Histogram({ name, help: name, labelNames, registers: [] });
  const runtime = createRuntime({
    database,
    texts: DEFAULT_TEXTS,
    emergencyPhone: config.EMERGENCY_PHONE,
    logger: createLogger(config.LOG_LEVEL, { write: (line: string) => void logLines.push(line) }),
    handoverPolicy: handoverPolicy(config),
    conversationPolicy: { surveyTimeoutS: config.SURVEY_TIMEOUT_S },
    reengageTemplate: config.WHATSAPP_REENGAGE_TEMPLATE ? { name: config.WHATSAPP_REENGAGE_TEMPLATE, languageCode: config.WHATSAPP_TEMPLATE_LANGUAGE } : null,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    metrics: { handoverWait: histogram('wait', ['category']), ticketDuration: histogram('duration', ['category', 'close_reason']) },
  });
  let entry = 0;
  return {
    database,
    runtime,
    logLines,
    apply: (...events) => runtime.applyBatch(events.map((event) => ({ entryId: `${Date.now()}-${entry++}`, event }))),
    close: async () => {
      await database.close();
      await testDatabase.drop();
    },
  };
}

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
