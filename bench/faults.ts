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
 */
import { createHash } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { signBody } from '../src/security';
import { childEnvironment, cloudApiWebhook, userTextWebhook, waitReady } from './support';

const ROOT = join(import.meta.dir, '..');
const TICKETS = Number(process.env.TICKETS ?? 40);
/** Messages a second, user and agent alternating. */
const RATE = Number(process.env.RATE ?? 20);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const HTTP_TIMEOUT_MS = 1500;
const SECRETS = { crm: 'faults-crm-token', bot: 'faults-bot-token', signing: 'faults-signing', meta: 'faults-meta-secret' };
const ALL_SCENARIOS = ['baseline', 'sigkill', 'crm-faults', 'graph-faults', 'postgres-stop'] as const;
type ScenarioName = (typeof ALL_SCENARIOS)[number];
const chosen = (process.env.SCENARIOS?.split(',') ?? ALL_SCENARIOS) as ScenarioName[];

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
const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${databaseName}`);
let child: ReturnType<typeof Bun.spawn> | undefined;
const SERVICE_LOG = process.env.FAULTS_SERVICE_LOG ?? '/tmp/hb-faults-service.log';
const serviceLog = Bun.file(SERVICE_LOG).writer();

function startService(): ReturnType<typeof Bun.spawn> {
  const process_ = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: childEnvironment({
      PORT: String(servicePort),
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      REDIS_KEY_PREFIX: `hbfaults:${databaseName}:`,
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
      for await (const chunk of stream as ReadableStream<Uint8Array>) serviceLog.write(chunk);
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

async function openTickets(): Promise<Ticket[]> {
  const tickets: Ticket[] = [];
  for (let n = 0; n < TICKETS; n++) {
    const phone = `5731${String(n).padStart(8, '0')}`;
    for (const word of ['Hola', 'soporte', '2020202020']) {
      await sendWebhook(userTextWebhook(phone, `wamid.setup.${n}.${word}`, word));
      await Bun.sleep(30);
    }
  }
  for (let n = 0; n < TICKETS; n++) {
    const phone = `5731${String(n).padStart(8, '0')}`;
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
  return tickets;
}

interface ScenarioIds {
  name: ScenarioName;
  users: string[];
  agents: string[];
  note: string;
}

/** Sends at RATE a second for `seconds`, while `disrupt` breaks things; returns the ids it sent. */
async function run(name: ScenarioName, tickets: Ticket[], seconds: number, disrupt: () => Promise<string>): Promise<ScenarioIds> {
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
  await drain(ids);
  return ids;
}

async function drain(ids: ScenarioIds, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const usersDone = ids.users.every((id) => crmReceived.has(`wamid.faults.${id}`));
    const agentsDone = ids.agents.every((id) => graphReceived.has(`a:${id}`));
    if (inFlight === 0 && usersDone && agentsDone) return;
    await Bun.sleep(250);
  }
  log(`${ids.name}: gave up waiting after ${timeoutMs / 1000} s`);
}

// -------------------------------------------------------------- the scenarios

const SCENARIOS: Record<ScenarioName, { seconds: number; disrupt: () => Promise<string> }> = {
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

// ------------------------------------------------------------------ the run

const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${databaseName}`);
const probe = Bun.serve({ port: 0, fetch: () => new Response() });
servicePort = probe.port!;
probe.stop(true);

const results: { ids: ScenarioIds; users: Count; agents: Count }[] = [];
interface Count {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
}

function count(ids: string[], deliveries: (id: string) => number): Count {
  const tally = { sent: ids.length, delivered: 0, lost: 0, duplicated: 0 };
  for (const id of ids) {
    const n = deliveries(id);
    if (n === 0) tally.lost++;
    else tally.delivered++;
    if (n > 1) tally.duplicated++;
  }
  return tally;
}

let exitCode = 0;
try {
  child = startService();
  await waitReady(servicePort);
  log(`service up on port ${servicePort}; opening ${TICKETS} tickets`);
  const tickets = await openTickets();
  log(`${tickets.length} tickets active`);
  const ran: ScenarioIds[] = [];
  for (const name of chosen) {
    log(`scenario ${name}`);
    ran.push(await run(name, tickets, SCENARIOS[name].seconds, SCENARIOS[name].disrupt));
  }
  // Late duplicates (a resend after a restart, say) would land now.
  await Bun.sleep(8000);
  for (const ids of ran) {
    results.push({
      ids,
      users: count(ids.users, (id) => crmReceived.get(`wamid.faults.${id}`)?.size ?? 0),
      agents: count(ids.agents, (id) => graphReceived.get(`a:${id}`) ?? 0),
    });
  }
} finally {
  await kill();
  clearInterval(statusPump);
  for (const server of [crm, graph, directory]) server.stop(true);
  await admin.unsafe(`drop database if exists ${databaseName} with (force)`).catch(() => {});
  await admin.end();
  await serviceLog.end();
}

const header = '| Scenario | Fault | User messages sent | at the CRM | lost | duplicated | Agent messages sent | at WhatsApp | lost | duplicated |';
const rows = results.map(
  ({ ids, users, agents }) =>
    `| ${ids.name} | ${ids.note} | ${users.sent} | ${users.delivered} | ${users.lost} | ${users.duplicated} | ${agents.sent} | ${agents.delivered} | ${agents.lost} | ${agents.duplicated} |`,
);
const table = [header, '|---|---|---|---|---|---|---|---|---|---|', ...rows].join('\n');
console.log(`\n${table}\n`);
const failures = results.filter(({ users, agents }) => users.lost + users.duplicated + agents.lost + agents.duplicated > 0);
if (failures.length > 0) {
  exitCode = 1;
  console.log(`LOSS OR DUPLICATE in: ${failures.map(({ ids }) => ids.name).join(', ')} (service log: ${SERVICE_LOG})`);
} else {
  console.log('no message lost, none duplicated');
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Bun ${Bun.version}, ${process.platform}`;
const digest = createHash('sha256').update(table).digest('hex').slice(0, 12);
await Bun.write(
  join(ROOT, 'docs/RELIABILITY.md'),
  `# Reliability: nothing lost, nothing twice

\`bun run bench:faults\` (bench/faults.ts) starts the service as a child
process against a CRM fake, a Graph API fake and a customer directory fake on
loopback, opens ${TICKETS} tickets, and sends ${RATE} messages a second, user
messages (signed webhooks) and agent messages (\`/api/crm/send-message\`)
alternating, while each scenario breaks something. The senders retry until
they get a 200, as Meta and a CRM do. The Graph fake acts like WhatsApp: a
signed \`sent\` status webhook for each accepted message, with its
\`biz_opaque_callback_data\`, retried until the service takes it.

Every message is then counted by id where it must arrive: user messages at
the CRM fake's \`/api/bot/user-message\` (by distinct \`Idempotency-Key\`, as
a CRM dedupes), agent messages among the sends the Graph fake accepted. A
message counted twice is a duplicate; one never seen is lost. The run exits 1
on either. To keep it short the service runs with \`HTTP_TIMEOUT_MS=1500\`,
\`WHATSAPP_RECONCILE_MS=5000\` and \`CIRCUIT_BREAKER_HALF_OPEN_MS=2000\`.

## Last recorded run

Machine: ${machine}. Date: ${new Date().toISOString().slice(0, 10)}. Scenarios: ${chosen.join(', ')}.

${table}

${failures.length === 0 ? 'No message was lost and none was duplicated.' : `Loss or duplicate in: ${failures.map(({ ids }) => ids.name).join(', ')}.`}
(table digest ${digest})

## What each scenario does

- **baseline**: no fault, for comparison.
- **sigkill**: the service is killed with SIGKILL three times, 1 s down each
  time. Webhooks and CRM calls get connection errors meanwhile and are
  retried by their senders; entries left pending are replayed from Redis;
  outbox rows left in flight are taken again when their lease runs out, and
  a WhatsApp send among them is reconciled against its status webhook
  before any resend.
- **crm-faults**: the CRM answers 500 (the circuit opens, rows wait without
  spending attempts), then takes calls but answers after the timeout (the
  retry carries the same \`Idempotency-Key\`).
- **graph-faults**: WhatsApp answers 130429, then 500, then accepts messages
  but answers after the timeout: those sends are in doubt and are settled by
  their status webhooks instead of being sent again.
- **postgres-stop**: Postgres is stopped for 30 s with \`pg_ctlcluster\`.
  Webhooks keep getting 200 (Redis holds the backlog), CRM calls get 503 and
  are retried, and the worker drains the backlog in order when Postgres is
  back. Needs root and a Debian Postgres cluster; elsewhere it says skipped.
  It stops the cluster that serves \`BENCH_DATABASE_ADMIN_URL\` (default port
  5432): on a machine others use, point it at a cluster of its own
  (\`pg_createcluster 15 faults --port 5433 --start -- --auth-host=trust\`,
  then \`BENCH_DATABASE_ADMIN_URL=postgres://postgres@127.0.0.1:5433/postgres\`).

Smaller versions of these run in \`bun test\`: tests/e2e/delivery.test.ts,
tests/e2e/outages.test.ts, tests/e2e/restart.test.ts.

## Limits, and how to see the runner catch a fault

A send whose response is lost is settled by its status webhook; only if no
status arrives within \`WHATSAPP_RECONCILE_MS\` (30 s by default) is it sent
again. A status later than that (Meta delays them under load) would let the
user see that message twice. The runner shows it: with
\`RECONCILE_MS=100 STATUS_DELAY_MS=4000 SCENARIOS=graph-faults\` it reports a
duplicate and exits 1. Redis here keeps nothing on disk: a Redis restart
(not a scenario) loses the streams' backlog; production Redis needs AOF.

## Rerun

\`\`\`sh
bun run bench:faults                                   # all scenarios, ~5 minutes
SCENARIOS=baseline,sigkill TICKETS=20 RATE=10 bun run bench:faults
\`\`\`

Needs Postgres on 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379.
Stopping Postgres stops it for everything on the machine: run it alone.
The service's log of the last run is in /tmp/hb-faults-service.log.
`,
);
log('wrote docs/RELIABILITY.md');
process.exit(exitCode);
