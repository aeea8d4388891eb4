/**
 * Fault-injection runner: nothing lost, nothing twice.
 *
 * Starts the service as a child process (the start command) against a CRM
 * fake, a Graph API fake and a customer directory fake on loopback, opens
 * many tickets, and drives a steady stream of user messages (signed
 * webhooks) and agent messages (/api/crm/send-message) through them while
 * each scenario breaks something. Senders behave like Meta and the CRM:
 * they retry until they get a 200. The Graph fake behaves like WhatsApp: it
 * sends a signed `sent` status webhook for each accepted message, echoing
 * `biz_opaque_callback_data`, and retries it until the service takes it.
 *
 * At the end every message is counted by id where it should arrive: user
 * messages at the CRM's /api/bot/user-message (one per Idempotency-Key, as a
 * CRM dedupes), agent messages among the sends the Graph fake accepted.
 * Prints lost, duplicated and delivered per scenario, writes
 * docs/RELIABILITY.md, and exits 1 on any loss or duplicate.
 *
 *   bun run bench:faults                      # all scenarios
 *   SCENARIOS=baseline,sigkill bun run bench:faults
 *
 * The redis-* scenarios run each on a stack of their own: a private
 * redis-server (AOF always, everysec, or none) on a free port, a database
 * reached through a proxy that can hold Postgres (the worker falls behind),
 * and the service; the shared Redis on 6379 is never touched.
 */
import { join } from 'node:path';
import postgres from 'postgres';
import { signBody } from '../src/lib/security';
import { startPrivateRedis, type Persistence } from '../tests/support/private-redis';
import { startPausableProxy } from './faults/pausable-proxy';
import { writeReliabilityDoc, type ScenarioResult } from './faults/report';
import { childEnvironment, cloudApiWebhook, userTextWebhook, waitReady } from './support';

const ROOT = join(import.meta.dir, '..');
const TICKETS = Number(process.env.TICKETS ?? 40);
/** Messages a second, user and agent alternating. */
const RATE = Number(process.env.RATE ?? 20);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const HTTP_TIMEOUT_MS = 1500;
const SECRETS = { crm: 'faults-crm-token', bot: 'faults-bot-token', signing: 'faults-signing', meta: 'faults-meta-secret' };
const ALL_SCENARIOS = ['baseline', 'sigkill', 'crm-faults', 'graph-faults', 'postgres-stop', 'redis-always', 'redis-everysec', 'redis-none'] as const;
type ScenarioName = (typeof ALL_SCENARIOS)[number];
const chosen = (process.env.SCENARIOS?.split(',') ?? ALL_SCENARIOS) as ScenarioName[];
/** The scenarios that SIGKILL a Redis of their own, and how it persists. */
const REDIS_SCENARIOS: Partial<Record<ScenarioName, Persistence>> = { 'redis-always': 'always', 'redis-everysec': 'everysec', 'redis-none': 'off' };

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);

// ---------------------------------------------------------------- the fakes

type CrmMode = 'ok' | 'error500' | 'timeout';
type GraphMode = 'ok' | 'rate_limited' | 'error500' | 'timeout';
let crmMode: CrmMode = 'ok';
let graphMode: GraphMode = 'ok';
let servicePort = 0;

/** waMessageId → the Idempotency-Keys it reached the CRM under. */
const crmReceived = new Map<string, Set<string>>();
/** agent message text → how many sends of it WhatsApp accepted. */
const graphReceived = new Map<string, number>();
const agentRequests = new Map<string, string>();

const crm = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(request) {
    const path = new URL(request.url).pathname;
    const body = (await request.json().catch(() => ({}))) as Record<string, any>;
    if (path === '/api/bot/agent-request') {
      agentRequests.set(body.userPhone, body.ticketId);
      return Response.json({ success: true, agentAssigned: { id: 'ag-1', name: 'Laura', estimatedResponseTime: '5 minutos' } });
    }
    if (path !== '/api/bot/user-message') return Response.json({ success: true });
    if (crmMode === 'error500') return Response.json({ error: 'injected' }, { status: 500 });
    const keys = crmReceived.get(body.waMessageId) ?? new Set<string>();
    keys.add(request.headers.get('idempotency-key') ?? 'none');
    crmReceived.set(body.waMessageId, keys);
    // Taken, but the answer comes after the caller gave up: the retry carries the same key.
    if (crmMode === 'timeout') await Bun.sleep(HTTP_TIMEOUT_MS * 2);
    return Response.json({ success: true });
  },
});

let wamid = 0;
/** Status webhooks Meta still owes the service (it retries them until they get a 200). */
const pendingStatuses: { body: string; notBefore: number }[] = [];
/** How late Meta's status webhooks arrive; a reconcile window shorter than this shows up as duplicates. */
const STATUS_DELAY_MS = Number(process.env.STATUS_DELAY_MS ?? 0);

const graph = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(request) {
    const body = (await request.json().catch(() => ({}))) as Record<string, any>;
    if (graphMode === 'rate_limited') return Response.json({ error: { code: 130429, message: 'Rate limit hit' } }, { status: 400 });
    if (graphMode === 'error500') return Response.json({ error: { code: 2, message: 'Service temporarily unavailable' } }, { status: 500 });
    const id = `wamid.graph.${++wamid}`;
    const text: string | undefined = body.text?.body;
    if (text?.startsWith('a:')) graphReceived.set(text, (graphReceived.get(text) ?? 0) + 1);
    pendingStatuses.push({ body: statusWebhook(id, body.to, body.biz_opaque_callback_data), notBefore: Date.now() + STATUS_DELAY_MS });
    if (graphMode === 'timeout') await Bun.sleep(HTTP_TIMEOUT_MS * 2);
    return Response.json({ messaging_product: 'whatsapp', contacts: [{ wa_id: body.to }], messages: [{ id }] });
  },
});

const directory = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: () => Response.json({ customerId: 'C-1', customerName: 'Cliente Pruebas', isInactive: false }),
});

function statusWebhook(id: string, to: string, callbackData?: string): string {
  return cloudApiWebhook({
    statuses: [{ id, status: 'sent', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: to, biz_opaque_callback_data: callbackData }],
  });
}

const statusPump = setInterval(async () => {
  const due = pendingStatuses.filter((status) => status.notBefore <= Date.now()).slice(0, 50);
  for (const status of due) pendingStatuses.splice(pendingStatuses.indexOf(status), 1);
  for (const status of due) {
    const accepted = await post('/webhook', status.body, { 'x-hub-signature-256': signBody(SECRETS.meta, status.body) }).catch(() => false);
    if (!accepted) pendingStatuses.push(status);
  }
}, 100);

async function post(path: string, body: string, headers: Record<string, string>): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${servicePort}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(5000),
  });
  await response.arrayBuffer();
  return response.status === 200;
}

// ------------------------------------------------------------- the service

const databaseName = `hb_faults_${Date.now().toString(36)}`;
/** The database and Redis the service runs on: the shared ones, or a redis-* scenario's own. */
let target = { databaseUrl: ADMIN_URL.replace(/\/[^/]*$/, `/${databaseName}`), redisUrl: REDIS_URL, prefix: `hbfaults:${databaseName}:` };
let child: ReturnType<typeof Bun.spawn> | undefined;
const SERVICE_LOG = process.env.FAULTS_SERVICE_LOG ?? '/tmp/hb-faults-service.log';
const serviceLog = Bun.file(SERVICE_LOG).writer();
/** What the service said about Redis (its `redis.*` log lines), in order. */
const redisEvents: { event: string; partition?: number }[] = [];

function startService(): ReturnType<typeof Bun.spawn> {
  const process_ = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: childEnvironment({
      PORT: String(servicePort),
      LOG_LEVEL: 'warn',
      DATABASE_URL: target.databaseUrl,
      REDIS_URL: target.redisUrl,
      REDIS_KEY_PREFIX: target.prefix,
      CONSUMER_NAME: 'faults-runner',
      CRM_BASE_URL: `http://127.0.0.1:${crm.port}`,
      CRM_API_TOKEN: SECRETS.crm,
      BOT_API_TOKEN: SECRETS.bot,
      BOT_SIGNING_SECRET: SECRETS.signing,
      META_WEBHOOK_SECRET: SECRETS.meta,
      WEBHOOK_VERIFY_TOKEN: 'verify',
      WHATSAPP_API_URL: `http://127.0.0.1:${graph.port}/v21.0`,
      WHATSAPP_TOKEN: 'graph-token',
      WHATSAPP_PHONE_NUMBER_ID: '1234567890',
      CUSTOMER_LOOKUP_URL: `http://127.0.0.1:${directory.port}/customers`,
      HTTP_TIMEOUT_MS: String(HTTP_TIMEOUT_MS),
      WHATSAPP_RECONCILE_MS: process.env.RECONCILE_MS ?? '5000',
      CIRCUIT_BREAKER_HALF_OPEN_MS: '2000',
      OUTBOX_MAX_ATTEMPTS: '200',
      OUTBOX_POLL_MS: '100',
      // The lifecycle deadlines stay out of the way: this run is about delivery.
      HANDOVER_ASSIGN_TIMEOUT_S: '86400',
      AGENT_REPLY_TIMEOUT_S: '86400',
      QUEUE_UPDATE_INTERVAL_S: '86400',
      USER_ABANDON_TIMEOUT_S: '86400',
      CRM_RATE_LIMIT_PER_MINUTE: '1000000',
      WEBHOOK_RATE_LIMIT_PER_MINUTE: '1000000',
    }),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  for (const stream of [process_.stdout, process_.stderr]) {
    void (async () => {
      const decoder = new TextDecoder();
      let partial = '';
      for await (const chunk of stream as ReadableStream<Uint8Array>) {
        serviceLog.write(chunk);
        const lines = (partial + decoder.decode(chunk, { stream: true })).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          const parsed = line.startsWith('{') ? (JSON.parse(line) as { event?: string; partition?: number }) : {};
          if (parsed.event?.startsWith('redis.')) redisEvents.push({ event: parsed.event, partition: parsed.partition });
        }
      }
    })();
  }
  return process_;
}

async function kill(): Promise<void> {
  child?.kill('SIGKILL');
  await child?.exited;
}

// --------------------------------------------------------------- the traffic

interface Ticket {
  phone: string;
  ticketId: string;
}

let sequence = 0;
let inFlight = 0;
/** Each stack opens tickets for phones of its own: the CRM fake remembers the earlier ones. */
let phoneBase = 0;

/** Like Meta and like a CRM: try again until the service says 200. */
async function deliverUntilAccepted(send: () => Promise<boolean>): Promise<void> {
  inFlight++;
  try {
    for (let attempt = 0; ; attempt++) {
      if (await send().catch(() => false)) return;
      await Bun.sleep(Math.min(2000, 200 * 2 ** Math.min(attempt, 4)));
    }
  } finally {
    inFlight--;
  }
}

const sendWebhook = (body: string) => deliverUntilAccepted(() => post('/webhook', body, { 'x-hub-signature-256': signBody(SECRETS.meta, body) }));
const sendUser = (phone: string, id: string) => sendWebhook(userTextWebhook(phone, `wamid.faults.${id}`, `u:${id}`));

const sendAgent = (ticket: Ticket, id: string) => {
  const body = JSON.stringify({ ticketId: ticket.ticketId, userPhone: ticket.phone, agentId: 'ag-1', message: `a:${id}`, messageType: 'text' });
  return deliverUntilAccepted(() => post('/api/crm/send-message', body, { authorization: `Bearer ${SECRETS.crm}`, 'idempotency-key': `agent-${id}` }));
};

const phoneOf = (n: number) => `5731${String(phoneBase + n).padStart(8, '0')}`;

async function openTickets(): Promise<Ticket[]> {
  const tickets: Ticket[] = [];
  for (let n = 0; n < TICKETS; n++) {
    const phone = phoneOf(n);
    for (const word of ['Hola', 'soporte', '2020202020']) {
      await sendWebhook(userTextWebhook(phone, `wamid.setup.${n}.${word}`, word));
      await Bun.sleep(30);
    }
  }
  for (let n = 0; n < TICKETS; n++) {
    const phone = phoneOf(n);
    const deadline = Date.now() + 60_000;
    while (!agentRequests.has(phone)) {
      if (Date.now() > deadline) throw new Error(`no ticket for ${phone}`);
      await Bun.sleep(50);
    }
    const ticketId = agentRequests.get(phone)!;
    const body = JSON.stringify({ ticketId, userPhone: phone, agentId: 'ag-1', agentName: 'Laura', handoverType: 'bot_to_human' });
    await deliverUntilAccepted(() => post('/api/crm/handover', body, { authorization: `Bearer ${SECRETS.crm}` }));
    tickets.push({ phone, ticketId });
  }
  // The agent can write only once the ticket is active.
  for (const ticket of tickets) {
    for (;;) {
      const response = await fetch(`http://127.0.0.1:${servicePort}/api/crm/handover-status/${ticket.ticketId}`, {
        headers: { authorization: `Bearer ${SECRETS.crm}` },
      });
      if (((await response.json()) as { status?: string }).status === 'active') break;
      await Bun.sleep(50);
    }
  }
  phoneBase += TICKETS;
  return tickets;
}

interface ScenarioIds {
  name: ScenarioName;
  users: string[];
  agents: string[];
  note: string;
}

/** Sends at RATE a second for `seconds`, while `disrupt` breaks things; returns the ids it sent. */
async function run(name: ScenarioName, tickets: Ticket[], seconds: number, disrupt: () => Promise<string>, quietMs?: number): Promise<ScenarioIds> {
  const ids: ScenarioIds = { name, users: [], agents: [], note: '' };
  let sending = true;
  const traffic = (async () => {
    while (sending) {
      const ticket = tickets[sequence % tickets.length]!;
      const id = `${name}.${++sequence}`;
      if (sequence % 2 === 0) {
        ids.users.push(id);
        void sendUser(ticket.phone, id);
      } else {
        ids.agents.push(id);
        void sendAgent(ticket, id);
      }
      await Bun.sleep(1000 / RATE);
    }
  })();
  const disruption = disrupt();
  await Bun.sleep(seconds * 1000);
  sending = false;
  await traffic;
  ids.note = await disruption;
  log(`${name}: ${ids.users.length} user and ${ids.agents.length} agent messages sent; waiting for delivery`);
  await drain(ids, quietMs);
  return ids;
}

/** Waits until every message arrived, or (where loss is expected) nothing more arrived for `quietMs` once all were accepted. */
async function drain(ids: ScenarioIds, quietMs = Infinity, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let arrived = -1;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    const users = ids.users.filter((id) => crmReceived.has(`wamid.faults.${id}`)).length;
    const agents = ids.agents.filter((id) => graphReceived.has(`a:${id}`)).length;
    if (inFlight === 0 && users === ids.users.length && agents === ids.agents.length) return;
    if (users + agents !== arrived) [arrived, quietSince] = [users + agents, Date.now()];
    if (inFlight === 0 && Date.now() - quietSince > quietMs) return;
    await Bun.sleep(250);
  }
  log(`${ids.name}: gave up waiting after ${timeoutMs / 1000} s`);
}

// -------------------------------------------------------------- the scenarios

const SCENARIOS: Partial<Record<ScenarioName, { seconds: number; disrupt: () => Promise<string> }>> = {
  baseline: { seconds: 10, disrupt: async () => 'no fault' },
  sigkill: {
    seconds: 24,
    disrupt: async () => {
      for (let round = 0; round < 3; round++) {
        await Bun.sleep(4000);
        await kill();
        log('sigkill: service killed');
        await Bun.sleep(1000);
        child = startService();
        await waitReady(servicePort);
        log('sigkill: service restarted');
      }
      return 'SIGKILL three times, restarted after 1 s each';
    },
  },
  'crm-faults': {
    seconds: 24,
    disrupt: async () => {
      crmMode = 'error500';
      await Bun.sleep(8000);
      crmMode = 'timeout';
      await Bun.sleep(8000);
      crmMode = 'ok';
      return `CRM: 500 for 8 s, then answers after the ${HTTP_TIMEOUT_MS} ms timeout for 8 s`;
    },
  },
  'graph-faults': {
    seconds: 28,
    disrupt: async () => {
      graphMode = 'rate_limited';
      await Bun.sleep(7000);
      graphMode = 'error500';
      await Bun.sleep(7000);
      graphMode = 'timeout';
      await Bun.sleep(7000);
      graphMode = 'ok';
      return 'Graph: 130429 for 7 s, 500 for 7 s, accepted but answered after the timeout for 7 s';
    },
  },
  'postgres-stop': {
    seconds: 45,
    disrupt: async () => {
      // The cluster that serves the benchmark's database: with several on the machine, stopping another proves nothing.
      const port = new URL(ADMIN_URL).port || '5432';
      const clusters = await Bun.$`pg_lsclusters --no-header`
        .quiet()
        .text()
        .catch(() => '');
      const [version, name] =
        clusters
          .split('\n')
          .map((line) => line.trim().split(/\s+/))
          .find((fields) => fields[2] === port) ?? [];
      if (!version || !name || process.getuid?.() !== 0) return 'skipped: pg_ctlcluster is not usable here';
      await Bun.sleep(5000);
      await Bun.$`pg_ctlcluster --skip-systemctl-redirect ${version} ${name} stop -m fast`.quiet();
      log('postgres-stop: Postgres stopped');
      await Bun.sleep(30_000);
      await Bun.$`pg_ctlcluster --skip-systemctl-redirect ${version} ${name} start`.quiet();
      log('postgres-stop: Postgres started');
      return 'Postgres stopped for 30 s (pg_ctlcluster stop -m fast), then started';
    },
  },
};

/**
 * A redis-* scenario on a stack of its own: a private redis-server with the
 * given persistence, a database behind a proxy that can hold Postgres, the
 * service, and tickets of its own. Under traffic Postgres is held (the worker
 * falls behind while webhooks are acknowledged into Redis), Redis is
 * SIGKILLed 3 s later and restarted after 1 s, and Postgres is let go 2 s
 * after that. What the service said about Redis is kept with the counts.
 */
async function runOnOwnRedis(name: ScenarioName, persistence: Persistence): Promise<{ ids: ScenarioIds; said: ScenarioResult['said'] }> {
  const redis = await startPrivateRedis(persistence);
  const database = `${databaseName}_${name.replace(/-/g, '_')}`;
  await admin.unsafe(`create database ${database}`);
  const proxy = startPausableProxy(Number(new URL(ADMIN_URL).port || 5432));
  const viaProxy = new URL(ADMIN_URL);
  viaProxy.port = String(proxy.port);
  viaProxy.pathname = `/${database}`;
  target = { databaseUrl: viaProxy.toString(), redisUrl: redis.url, prefix: `hbfaults:${database}:` };
  const heard = redisEvents.length;
  const aof = persistence === 'off' ? 'no persistence' : `AOF ${persistence}`;
  try {
    child = startService();
    await waitReady(servicePort);
    const tickets = await openTickets();
    log(`${name}: ${tickets.length} tickets active on a redis-server of its own (${aof}, port ${redis.port})`);
    const disrupt = async () => {
      await Bun.sleep(3000);
      proxy.pause();
      log(`${name}: Postgres held: the worker falls behind`);
      await Bun.sleep(3000);
      await redis.kill();
      log(`${name}: Redis SIGKILLed`);
      await Bun.sleep(1000);
      await redis.restart();
      log(`${name}: Redis restarted`);
      await Bun.sleep(2000);
      proxy.resume();
      log(`${name}: Postgres let go`);
      return `Redis (${aof}) SIGKILLed after 3 s of Postgres held (worker behind), restarted 1 s later`;
    };
    // Where messages are lost, waiting for them ends once nothing more arrives.
    const ids = await run(name, tickets, 16, disrupt, persistence === 'off' ? 20_000 : undefined);
    await Bun.sleep(8000);
    const said = redisEvents.slice(heard);
    const resets = said.filter((line) => line.event === 'redis.reset_detected');
    return {
      ids,
      said: {
        resets: resets.length,
        partitions: [...new Set(resets.map((line) => line.partition!))].sort((a, b) => a - b),
        restarts: said.filter((line) => line.event === 'redis.restarted').length,
      },
    };
  } finally {
    await kill();
    proxy.stop();
    await redis.stop();
    await admin.unsafe(`drop database if exists ${database} with (force)`).catch(() => {});
  }
}

// ------------------------------------------------------------------ the run

const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
const probe = Bun.serve({ port: 0, fetch: () => new Response() });
servicePort = probe.port!;
probe.stop(true);

const results: ScenarioResult[] = [];

function count(ids: string[], deliveries: (id: string) => number): ScenarioResult['users'] {
  const tally = { sent: ids.length, delivered: 0, lost: 0, duplicated: 0 };
  for (const id of ids) {
    const n = deliveries(id);
    if (n === 0) tally.lost++;
    else tally.delivered++;
    if (n > 1) tally.duplicated++;
  }
  return tally;
}

const tally = (ids: ScenarioIds, extra: Pick<ScenarioResult, 'said' | 'persistence'> = {}): ScenarioResult => ({
  ids,
  users: count(ids.users, (id) => crmReceived.get(`wamid.faults.${id}`)?.size ?? 0),
  agents: count(ids.agents, (id) => graphReceived.get(`a:${id}`) ?? 0),
  ...extra,
});

const shared = chosen.filter((name) => !REDIS_SCENARIOS[name]);
try {
  if (shared.length > 0) {
    await admin.unsafe(`create database ${databaseName}`);
    child = startService();
    await waitReady(servicePort);
    log(`service up on port ${servicePort}; opening ${TICKETS} tickets`);
    const tickets = await openTickets();
    log(`${tickets.length} tickets active`);
    const ran: ScenarioIds[] = [];
    for (const name of shared) {
      log(`scenario ${name}`);
      ran.push(await run(name, tickets, SCENARIOS[name]!.seconds, SCENARIOS[name]!.disrupt));
    }
    // Late duplicates (a resend after a restart, say) would land now.
    await Bun.sleep(8000);
    await kill();
    results.push(...ran.map((ids) => tally(ids)));
  }
  for (const name of chosen.filter((candidate) => REDIS_SCENARIOS[candidate])) {
    log(`scenario ${name}`);
    const persistence = REDIS_SCENARIOS[name]!;
    const { ids, said } = await runOnOwnRedis(name, persistence);
    results.push(tally(ids, { said, persistence }));
  }
} finally {
  await kill();
  clearInterval(statusPump);
  for (const server of [crm, graph, directory]) server.stop(true);
  await admin.unsafe(`drop database if exists ${databaseName} with (force)`).catch(() => {});
  await admin.end();
  await serviceLog.end();
}

const settings = ['SCENARIOS', 'TICKETS', 'RATE', 'BENCH_DATABASE_ADMIN_URL', 'REDIS_URL', 'RECONCILE_MS', 'STATUS_DELAY_MS'].filter(
  (name) => process.env[name],
);
const command = [...settings.map((name) => `${name}=${process.env[name]}`), 'bun run bench:faults'].join(' ');
const { failures, table } = await writeReliabilityDoc({ root: ROOT, results, chosen, tickets: TICKETS, rate: RATE, command });
console.log(`\n${table}\n`);
if (failures.length > 0) console.log(`FAILED: ${failures.join('; ')} (service log: ${SERVICE_LOG})`);
else console.log('as expected: nothing lost or duplicated where Redis keeps what it acknowledged; every loss reported');
log('wrote docs/RELIABILITY.md');
process.exit(failures.length > 0 ? 1 : 0);
