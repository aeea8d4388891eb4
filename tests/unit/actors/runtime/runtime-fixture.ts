import { Histogram } from 'prom-client';
import { createRuntime } from '../../../../src/actors/runtime';
import { loadConfig } from '../../../../src/config';
import { openDatabase, type Database } from '../../../../src/db/client';
import type { PipelineEvent } from '../../../../src/domain/events';
import { handoverPolicy } from '../../../../src/boot/policy';
import { createLogger } from '../../../../src/logger';
import { DEFAULT_TEXTS } from '../../../../src/domain/texts';
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

export { UserScript } from './user-script';
