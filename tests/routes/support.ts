import Redis from 'ioredis';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { openDatabase, type Database } from '../../src/db/client';
import { createQueries } from '../../src/db/queries';
import { tickets, type Ticket } from '../../src/db/schema';
import type { PipelineEvent } from '../../src/domain/events';
import { phoneOf } from '../../src/domain/user-ids';
import { createLogger, type Logger } from '../../src/logger';
import { createServiceMetrics } from '../../src/boot/metrics';
import { createAppliedEvents, subscriberConnection, type AppliedEvents } from '../../src/streams/applied';
import { decodeEvent, streamKeys } from '../../src/streams/codec';
import { createDeadLetters, type DeadLetters } from '../../src/streams/dead-letters';
import { createProducer } from '../../src/streams/producer';
import { createTestDatabase, REDIS_URL, SECRETS } from '../support/harness';

export { SECRETS };
export const ADMIN_TOKEN = 'admin-token-for-route-tests';
export const METRICS_TOKEN = 'metrics-token-for-route-tests';

/** One app over the file's database and Redis, with its own key prefix: its own streams and rate-limit budgets. */
export interface TestApp {
  config: Config;
  deadLetters: DeadLetters;
  /** What the CRM routes wait on; with no worker here, a test announces commits itself. */
  appliedEvents: AppliedEvents;
  handle(request: Request): Promise<Response>;
  /** Every route the app registered, as Elysia lists them. */
  routes: { method: string; path: string }[];
  /** Listens on a free loopback port as index.ts does (Bun's router in front of Elysia); call the returned stop when done. */
  listen(): { url: string; stop(): Promise<void> };
  /** Every event the routes queued, decoded from the partition streams. */
  entries(): Promise<PipelineEvent[]>;
}

/**
 * What a route test file shares: a database of its own (migrated) and a Redis connection. No worker, no server:
 * nothing applies what the CRM routes queue, so they answer 202 after CRM_APPLY_TIMEOUT_MS (short here) unless a
 * test commits the event itself.
 */
export interface RouteContext {
  database: Database;
  redis: Redis;
  /** `logger`: to read what a route logs (silent by default). */
  app(env?: Record<string, string>, logger?: Logger): TestApp;
  insertTicket(values?: Partial<typeof tickets.$inferInsert>): Promise<TestTicket>;
  close(): Promise<void>;
}

/**
 * A ticket inserted without a conversation row: its user is known by the
 * conversation key alone, a fresh phone unless the test gives another, and
 * `userPhone` is that phone (undefined for a key that is a BSUID).
 */
export type TestTicket = Ticket & { userPhone: string | undefined };

let ticketCounter = 0;
let phoneCounter = 0;

/** A phone no other test of the process uses. */
export const freshPhone = () => `5730${String(process.pid % 10000).padStart(4, '0')}${String(++phoneCounter).padStart(4, '0')}`;

export async function routeContext(label: string): Promise<RouteContext> {
  const testDatabase = await createTestDatabase(`routes_${label}`);
  const database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 4 });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefixes: string[] = [];
  const appliedEvents: AppliedEvents[] = [];
  const logger = createLogger('silent');

  const app = (env: Record<string, string> = {}, appLogger = logger): TestApp => {
    const prefix = `hbtest:routes:${label}:${process.pid}:${Date.now().toString(36)}:${prefixes.length}:`;
    prefixes.push(prefix);
    const config = loadConfig({
      NODE_ENV: 'test',
      REDIS_KEY_PREFIX: prefix,
      CRM_API_TOKEN: SECRETS.crmToken,
      META_WEBHOOK_SECRET: SECRETS.metaSecret,
      WEBHOOK_VERIFY_TOKEN: SECRETS.verifyToken,
      ADMIN_TOKEN,
      METRICS_TOKEN,
      CRM_APPLY_TIMEOUT_MS: '20',
      ...env,
    });
    const keys = streamKeys(prefix);
    const deadLetters = createDeadLetters(redis, keys, config.STREAM_PARTITIONS);
    const producer = createProducer(redis, keys, config.STREAM_PARTITIONS);
    const metrics = createServiceMetrics({ database, deadLetters, redis, keys, partitions: config.STREAM_PARTITIONS });
    const applied = createAppliedEvents({
      redis,
      subscriber: () => subscriberConnection(redis),
      keys,
      partitions: config.STREAM_PARTITIONS,
      committedOf: createQueries(database.db).committedOf,
      logger: appLogger,
    });
    const subscribed = applied.start();
    appliedEvents.push(applied);
    const elysia = createApp({ config, database, redis, producer, appliedEvents: applied, deadLetters, metrics, logger: appLogger });
    return {
      config,
      deadLetters,
      appliedEvents: applied,
      handle: async (request) => {
        await subscribed;
        return elysia.handle(request);
      },
      routes: elysia.routes.map(({ method, path }) => ({ method, path })),
      listen() {
        elysia.listen({ port: 0, hostname: '127.0.0.1' });
        return { url: `http://127.0.0.1:${elysia.server!.port}`, stop: async () => void (await elysia.stop(true)) };
      },
      async entries() {
        const streams = await Promise.all(
          Array.from({ length: config.STREAM_PARTITIONS }, (_, partition) => redis.xrange(keys.partition(partition), '-', '+')),
        );
        return streams.flat().map(([, fields]) => decodeEvent(fields));
      },
    };
  };

  return {
    database,
    redis,
    app,
    async insertTicket(values = {}) {
      const now = new Date();
      const [ticket] = await database.db
        .insert(tickets)
        .values({
          id: `TK-2026-${String(process.pid % 1000).padStart(3, '0')}${String(++ticketCounter).padStart(3, '0')}`,
          conversationKey: freshPhone(),
          category: 'soporte_agente',
          priority: 'media',
          status: 'active',
          phase: 'with_agent',
          agentId: 'agent_007',
          agentName: 'Carlos Ruiz',
          requestedAt: now,
          assignedAt: now,
          lastActivityAt: now,
          lastUserMessageAt: now,
          snapshot: {},
          ...values,
        })
        .returning();
      return { ...ticket!, userPhone: phoneOf({}, ticket!.conversationKey) };
    },
    async close() {
      await Promise.all(appliedEvents.map((applied) => applied.close()));
      for (const prefix of prefixes) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      redis.disconnect();
      await database.close();
      await testDatabase.drop();
    },
  };
}

const BASE = 'http://localhost';

/** A request as a client sends it: JSON body, headers as given (no Authorization unless given). */
export function jsonRequest(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`${BASE}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The response's status and JSON body. */
export async function call(app: TestApp, request: Request): Promise<{ status: number; body: Record<string, any> }> {
  const response = await app.handle(request);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}
