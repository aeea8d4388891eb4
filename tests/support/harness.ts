import postgres from 'postgres';
import { createTestDatabase } from './databases';
import { loadConfig, type Config } from '../../src/config';
import { startService, type Service } from '../../src/index';
import { createLogger } from '../../src/logger';
import { signBody } from '../../src/lib/security';
import { startFakeCrm, startFakeDirectory, startFakeGraph, type DirectoryEntry, type FakeServer } from './fakes';
import { cloudApiWebhook, metaJson, text, userMessagePayload } from './meta';
import { postgresShuttingDown, startTcpProxy, type TcpProxy } from './tcp-proxy';

export { buttonReply, cloudApiWebhook, metaJson, PRIMARY_NUMBER, text, userMessagePayload } from './meta';

export { ADMIN_URL, createTestDatabase } from './databases';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const SECRETS = {
  crmToken: 'crm-token-for-tests',
  botToken: 'bot-token-for-tests',
  botSigning: 'bot-signing-secret',
  metaSecret: 'meta-app-secret',
  verifyToken: 'verify-me',
  whatsappToken: 'graph-token',
  adminToken: 'admin-token-for-tests',
};

/** A name no other test file, worker or run uses: Redis key prefixes are per stack. */
function uniqueName(label: string): string {
  return `${label}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
}

/** One line the service logged (pino's JSON): `event` names what happened, `level` 40 is a warning, 50 an error. */
export interface LogLine {
  level: number;
  event?: string;
  msg?: string;
  [field: string]: unknown;
}

export interface TestStack {
  service: Service;
  config: Config;
  crm: FakeServer;
  graph: FakeServer;
  directory: FakeServer;
  sql: postgres.Sql;
  /** Present when asked for: cut them to take Postgres or Redis away from the service alone. */
  proxies: { database?: TcpProxy; redis?: TcpProxy };
  /** What the service logged at warn level and above, oldest first. */
  logs: LogLine[];
  stop(): Promise<void>;
}

export const DIRECTORY: Record<string, DirectoryEntry> = {
  '1010101010': { customerId: 'C-100', customerName: 'Juan Pérez', isInactive: true },
  '2020202020': { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false },
};

/** The settings that point a service at the fakes, with the tests' secrets and short polls. */
export function fakesEnvironment(fakes: { crm: FakeServer; graph: FakeServer; directory: FakeServer }): Record<string, string> {
  return {
    CRM_BASE_URL: fakes.crm.url,
    CRM_API_TOKEN: SECRETS.crmToken,
    BOT_API_TOKEN: SECRETS.botToken,
    BOT_SIGNING_SECRET: SECRETS.botSigning,
    META_WEBHOOK_SECRET: SECRETS.metaSecret,
    WEBHOOK_VERIFY_TOKEN: SECRETS.verifyToken,
    WHATSAPP_API_URL: `${fakes.graph.url}/v21.0`,
    WHATSAPP_TOKEN: SECRETS.whatsappToken,
    WHATSAPP_PHONE_NUMBER_ID: '1234567890',
    CUSTOMER_LOOKUP_URL: `${fakes.directory.url}/customers`,
    CUSTOMER_LOOKUP_TOKEN: 'directory-token',
    ADMIN_TOKEN: SECRETS.adminToken,
    // A commit pokes the outbox at once: its poll only paces retries. Deadlines fire within 100 ms. Faster polls were
    // a tenth of a core per idle service, and the suite is CPU-bound.
    OUTBOX_POLL_MS: '250',
    TIMER_POLL_MS: '100',
  };
}

/**
 * Postgres.js keeps a connection reserved by a transaction that a cut link
 * interrupted, and its end() then waits out the service's whole 5 s close
 * timeout. A stack whose database link was cut waits this long, then moves
 * on: the pool ends itself in the background, and the database is dropped
 * with its connections.
 */
const CUT_STOP_WAIT_MS = 500;

/** Warnings and errors are always kept (tests read them); TEST_LOG_LEVEL=info or debug keeps more and prints them too. */
const LOG_LEVEL = ['trace', 'debug', 'info'].includes(process.env.TEST_LOG_LEVEL ?? '') ? process.env.TEST_LOG_LEVEL! : 'warn';

/** The application_name of the tests' own connections, told apart from the service's. */
const TEST_CLIENT = 'hb-test';

/**
 * Boots the real service (the code path of `bun run start`) against real
 * Redis and Postgres, with the CRM, Graph API and directory faked on loopback.
 */
export async function startStack(
  label: string,
  overrides: Record<string, string> = {},
  options: { proxy?: { database?: boolean; redis?: boolean } } = {},
): Promise<TestStack> {
  const database = await createTestDatabase(label);
  const databaseUrl = database.url;
  const proxies: TestStack['proxies'] = {};
  if (options.proxy?.database) {
    proxies.database = startTcpProxy('127.0.0.1', Number(new URL(databaseUrl).port || 5432), { refusal: postgresShuttingDown() });
  }
  if (options.proxy?.redis) proxies.redis = startTcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
  const serviceDatabaseUrl = proxies.database ? databaseUrl.replace(/:\d+\//, `:${proxies.database.port}/`) : databaseUrl;
  const serviceRedisUrl = proxies.redis ? REDIS_URL.replace(/:\d+(\/|$)/, `:${proxies.redis.port}$1`) : REDIS_URL;
  const crm = startFakeCrm();
  const graph = startFakeGraph();
  const directory = startFakeDirectory(DIRECTORY);
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: LOG_LEVEL,
    DATABASE_URL: serviceDatabaseUrl,
    REDIS_URL: serviceRedisUrl,
    REDIS_KEY_PREFIX: `hbtest:${uniqueName(label)}:`,
    ...fakesEnvironment({ crm, graph, directory }),
    ...overrides,
  });
  const logs: LogLine[] = [];
  const echo = process.env.TEST_LOG_LEVEL !== undefined && process.env.TEST_LOG_LEVEL !== 'silent';
  const service = await startService(
    config,
    createLogger(config.LOG_LEVEL, {
      write(line: string) {
        logs.push(JSON.parse(line) as LogLine);
        if (echo) process.stdout.write(line);
      },
    }),
  );
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, connection: { application_name: TEST_CLIENT } });
  const stop = async () => {
    const stopped = service.stop();
    await (proxies.database ? Promise.race([stopped, Bun.sleep(CUT_STOP_WAIT_MS)]) : stopped);
    await sql.end();
    await Promise.all([crm.stop(), graph.stop(), directory.stop()]);
    proxies.database?.stop();
    proxies.redis?.stop();
    await database.drop();
  };
  return { service, config, crm, graph, directory, sql, proxies, logs, stop };
}

/**
 * Postgres goes away for the service alone, as in a fast shutdown: every one of
 * its connections is ended by the server with FATAL 57P01, and a new one is
 * refused with 57P03 (the proxy). The test's own connections stay.
 */
export async function takeDatabaseAway(stack: TestStack): Promise<void> {
  stack.proxies.database!.refuse();
  await stack.sql`select pg_terminate_backend(pid) from pg_stat_activity
    where datname = current_database() and application_name <> ${TEST_CLIENT} and pid <> pg_backend_pid()`;
}

/** Stream trouble the service logged: a batch or an entry that failed, a stalled partition, a dead letter. */
export function streamTrouble(stack: TestStack): LogLine[] {
  return stack.logs.filter((line) => line.event?.startsWith('stream.'));
}

/** The dead-letter stream as operators see it (GET /api/admin/dead-letters). */
export async function deadLetters(stack: TestStack): Promise<{ total: number; entries: Record<string, any>[] }> {
  const response = await fetch(`${stack.service.url}/api/admin/dead-letters`, { headers: { authorization: `Bearer ${SECRETS.adminToken}` } });
  if (response.status !== 200) throw new Error(`dead-letters answered ${response.status}`);
  return (await response.json()) as { total: number; entries: Record<string, any>[] };
}

/**
 * Polls until `check` returns a value (not undefined, null or false); the deadline only bounds a broken run. Quickly
 * at first, then less often: most waits end within a few checks, and a long one (a deadline seconds away, a service
 * booting) polled every 25 ms spent the suite's CPU on queries and requests that could only say "not yet".
 */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let pauseMs = 10;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      // null is "not yet" too: `row?.column && row` is null while the column is.
      if (value !== undefined && value !== null && value !== false) return value as Exclude<T, undefined | null | false>;
    } catch (error) {
      last = error;
    }
    await Bun.sleep(pauseMs);
    pauseMs = Math.min(pauseMs * 1.5, 200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function postWebhook(stack: TestStack, body: string, signature = signBody(SECRETS.metaSecret, body), path = '/webhook'): Promise<Response> {
  return fetch(`${stack.service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
}

export async function sendUser(stack: TestStack, phone: string, content: Record<string, unknown>, options: { id?: string; phoneNumberId?: string } = {}) {
  const { id, payload } = userMessagePayload(phone, content, options);
  const response = await postWebhook(stack, metaJson(payload));
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
  return id;
}

export async function crmCall(stack: TestStack, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${SECRETS.crmToken}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** What the user has received so far: the sends to `phone` the Graph fake accepted. */
export function sentTo(stack: TestStack, phone: string): Record<string, any>[] {
  return stack.graph.requests
    .filter((request) => request.status === 200)
    .map((request) => request.body as Record<string, any>)
    .filter((body) => body?.to === phone);
}

/** The text a person would read in a sent message, whatever its type. */
export function readable(message: Record<string, any>): string {
  if (message.type === 'text') return message.text.body;
  if (message.type === 'interactive') return message.interactive.body.text;
  return `[${message.type}] ${message[message.type]?.link ?? ''}`;
}

/**
 * Waits until the outbox holds nothing left to deliver: after that nothing more reaches the CRM or WhatsApp
 * unless a new event makes it, so counting what the fakes got is final.
 */
export async function outboxSettled(stack: TestStack): Promise<void> {
  await eventually(async () => {
    const [row] = await stack.sql`select count(*)::int as open from outbox where status in ('pending', 'in_flight')`;
    return row!.open === 0;
  }, 'every outbox row delivered or given up');
}

/** Drives a user from "Hola" to an open ticket; returns the ticket id the CRM was given. */
export async function openTicketFor(stack: TestStack, phone: string, document: string): Promise<string> {
  await sendUser(stack, phone, text('Hola'));
  await eventually(() => sentTo(stack, phone).length >= 1, 'menu');
  await sendUser(stack, phone, text('soporte'));
  await eventually(() => sentTo(stack, phone).length >= 2, 'document question');
  await sendUser(stack, phone, text(document));
  const request = await eventually(
    () => stack.crm.to('/api/bot/agent-request').find((r) => (r.body as { userPhone?: string }).userPhone === phone),
    'agent-request',
  );
  return (request.body as { ticketId: string }).ticketId;
}

/** Opens a ticket and has the CRM hand it to an agent; waits until it is active. */
export async function activeTicketFor(stack: TestStack, phone: string, document: string): Promise<string> {
  const ticketId = await openTicketFor(stack, phone, document);
  await handOverToAgent(stack, ticketId, phone);
  return ticketId;
}

/** The CRM's `bot_to_human` for an open ticket; waits until the ticket is active and the user has been told. */
export async function handOverToAgent(stack: TestStack, ticketId: string, phone: string): Promise<void> {
  const { status } = await crmCall(stack, 'POST', '/api/crm/handover', {
    ticketId,
    userPhone: phone,
    agentId: 'agent_007',
    agentName: 'Carlos Ruiz',
    handoverType: 'bot_to_human',
  });
  if (status !== 200) throw new Error(`handover answered ${status}`);
  await eventually(async () => (await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body.status === 'active', 'active ticket');
  // The last thing the bot tells the user; what the test does next is not mixed up with the bot's own messages.
  await eventually(() => sentTo(stack, phone).map(readable).includes('Agente Carlos Ruiz conectado'), 'the agent announced to the user');
}

/** A Cloud API `statuses` webhook, as Meta sends it for a message we sent. */
export async function sendStatus(
  stack: TestStack,
  status: {
    id: string;
    recipient: string;
    status: 'sent' | 'delivered' | 'read' | 'failed';
    callbackData?: string;
    errors?: { code: number; title: string }[];
    pricing?: { billable: boolean; pricing_model: string; category: string };
  },
) {
  const payload = cloudApiWebhook({
    statuses: [
      {
        id: status.id,
        status: status.status,
        timestamp: String(Math.floor(Date.now() / 1000)),
        recipient_id: status.recipient,
        ...(status.callbackData ? { biz_opaque_callback_data: status.callbackData } : {}),
        ...(status.errors ? { errors: status.errors } : {}),
        ...(status.pricing ? { pricing: status.pricing } : {}),
      },
    ],
  });
  const response = await postWebhook(stack, metaJson(payload));
  if (response.status !== 200) throw new Error(`status webhook answered ${response.status}`);
}
