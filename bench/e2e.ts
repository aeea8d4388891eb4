/**
 * End-to-end benchmark (DESIGN 6): messages through the whole pipeline.
 *
 * The service runs as a child process (the start command, `bun src/index.ts`)
 * on a private redis-server and its own Postgres database, with a CRM fake
 * and a Graph API fake on loopback that answer at once (keep-alive). It opens
 * TICKETS tickets with an agent, then measures:
 *   profile  PROFILE_MESSAGES user and as many agent messages, the service's Postgres
 *            traffic through a counting proxy: statements, replies awaited, socket writes and Redis commands per event;
 *   (a) burst    BURST user messages, CONCURRENCY in flight: sustained msg/s at the CRM fake;
 *   (b) steady   RATE msg/s for SECONDS: latency from the webhook's 200 to the CRM call, and RSS every 5 s;
 *   (c) agents   AGENT_BURST send-message calls counted at the Graph fake, shaping raised
 *                (WHATSAPP_SENDS_PER_SECOND=SENDS_RAISED), then SHAPED_MESSAGES with shaping binding (SHAPED);
 *   (d) menus    MENU_USERS users without a ticket say hello: the bot's replies at the Graph fake;
 *   (e) crm      CRM_RATE requests a second for CRM_SECONDS, half send-message, half handover (a transfer):
 *                latency of each route now that it waits until its event is applied (bench/e2e/crm-routes.ts).
 * Every message is counted by id; any loss or duplicate makes it exit 1.
 * PHASES=burst,steady runs only those (of profile, burst, steady, agents, menus, crm, shaped).
 * LIVE_OPEN_TICKETS=2000 LIVE_VIEWERS=10: that many more tickets left waiting for an agent, and that many
 * supervisors with the live view open (GET /api/live) through the burst (a): what the live view costs it.
 * Writes docs/bench-e2e.md (unless WRITE=0, or a run of some phases only, or with the live view's options).
 *
 *   bun run bench:e2e
 *   BURST=20000 SECONDS=60 CPU_PROFILE=1 bun run bench:e2e
 *   SERVICE_DATABASE_POOL_SIZE=20 bun run bench:e2e      # SERVICE_X=v: the service runs with X=v
 *   BENCH_DATABASE_ADMIN_URL=postgres://postgres@127.0.0.1:5433/postgres bun run bench:e2e
 *   TRACES=1 bun run bench:e2e      # tracing on: the service exports every span to a receiver on loopback
 *   NUMBERS=2 bun run bench:e2e      # two WhatsApp numbers served, half the users writing to the second
 *   PHASES=burst BURST=5000 LIVE_OPEN_TICKETS=2000 LIVE_VIEWERS=10 bun run bench:e2e   # the burst beside 10 live views
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { signBody } from '../src/lib/security';
import { startCountingPostgresProxy, startPrivateRedis } from './e2e/counters';
import { crmRoutesVerdict, measureCrmRoutes } from './e2e/crm-routes';
import { startFakes, startOtlpReceiver } from './e2e/fakes';
import { boardReadCost, openLiveViewers } from './e2e/live-viewers';
import { renderReport, type Figures } from './e2e/report';
import { childEnvironment, PRIMARY_NUMBER, userTextWebhook, waitReady } from './support';
import { freePort } from '../tests/support/ports';

const ROOT = join(import.meta.dir, '..');
const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const TICKETS = setting('TICKETS', 64);
const CONCURRENCY = setting('CONCURRENCY', 32);
/**
 * send-message answers once its message is applied, so a CRM's rate is its requests in flight over that
 * latency (Little's law): at 1,000 a second and 100 ms, 100 in flight. The agent phases keep this many, so
 * that they measure the pipeline rather than a client waiting on its own connections.
 */
const AGENT_CONCURRENCY = setting('AGENT_CONCURRENCY', 256);
const BURST = setting('BURST', 10000);
const RATE = setting('RATE', 200);
const SECONDS = setting('SECONDS', 60);
const AGENT_BURST = setting('AGENT_BURST', 5000);
const SENDS_RAISED = setting('SENDS_RAISED', 10000);
const SHAPED = setting('SHAPED', 200);
const SHAPED_MESSAGES = setting('SHAPED_MESSAGES', 4000);
const MENU_USERS = setting('MENU_USERS', 2000);
const PROFILE_MESSAGES = setting('PROFILE_MESSAGES', 2000);
const CRM_RATE = setting('CRM_RATE', 200);
const CRM_SECONDS = setting('CRM_SECONDS', 30);
/** WhatsApp numbers served (WHATSAPP_PHONE_NUMBER_IDS): with 2, users whose phone ends in an odd digit write to the second. */
const NUMBERS = setting('NUMBERS', 1);
const SECOND_NUMBER = '2222222222';
const numberFor = (phone: string) => (NUMBERS > 1 && Number(phone.at(-1)) % 2 === 1 ? SECOND_NUMBER : PRIMARY_NUMBER);
/** Tickets opened and left waiting for an agent (none of the burst's traffic is theirs): the live view's board to read. */
const LIVE_OPEN_TICKETS = setting('LIVE_OPEN_TICKETS', 0);
/** Supervisors with the live view open through the burst. */
const LIVE_VIEWERS = setting('LIVE_VIEWERS', 0);
const PHASE_NAMES = ['profile', 'burst', 'steady', 'agents', 'menus', 'crm', 'shaped'];
const PHASES = new Set((process.env.PHASES ?? PHASE_NAMES.join(',')).split(',').map((name) => name.trim()));
for (const name of PHASES) if (!PHASE_NAMES.includes(name)) throw new Error(`PHASES: no phase ${name} (${PHASE_NAMES.join(', ')})`);
const runs = (phase: string) => PHASES.has(phase);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRETS = { crm: 'e2e-crm-token', meta: 'e2e-meta-secret', metrics: 'e2e-metrics-token' };

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
const { crm, graph, directory, crmKeys, crmFirst, agentRequests, graphSends, graphTimes, graphRecipients, graphFrom } = startFakes();
const traces = process.env.TRACES === '1' ? startOtlpReceiver() : undefined;

// ------------------------------------------------------------- the service

const databaseName = `hb_e2e_${Date.now().toString(36)}`;
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${databaseName}`);
const adminTarget = new URL(ADMIN_URL);
const redis = await startPrivateRedis(freePort());
const counting = startCountingPostgresProxy(adminTarget.hostname, Number(adminTarget.port || 5432));
const databaseUrl = (port: number) => ADMIN_URL.replace(/\/\/([^@/]*@)?[^/]*\/[^/]*$/, `//$1127.0.0.1:${port}/${databaseName}`);

let service: { port: number; child: ReturnType<typeof Bun.spawn>; peakRss: number; sampler: ReturnType<typeof setInterval> } | undefined;
let peakRss = 0;
const rssOf = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await Bun.file(`/proc/${pid}/status`).text())?.[1] ?? 0) * 1024;

async function startService(options: { sendsPerSecond: number; counted: boolean }): Promise<void> {
  await stopService();
  const port = freePort();
  const profile = process.env.CPU_PROFILE === '1' && !options.counted ? ['--cpu-prof-md', '--cpu-prof-dir=/tmp/hb-e2e-profile'] : [];
  const child = Bun.spawn(['bun', ...profile, ...(process.env.PRELOAD ? ['--preload', join(ROOT, process.env.PRELOAD)] : []), 'src/index.ts'], {
    cwd: ROOT,
    env: childEnvironment({
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl(options.counted ? counting.port : Number(adminTarget.port || 5432)),
      REDIS_URL: redis.url,
      CRM_BASE_URL: `http://127.0.0.1:${crm.port}`,
      CRM_API_TOKEN: SECRETS.crm,
      BOT_API_TOKEN: 'e2e-bot',
      BOT_SIGNING_SECRET: 'e2e-signing',
      META_WEBHOOK_SECRET: SECRETS.meta,
      WEBHOOK_VERIFY_TOKEN: 'verify',
      WHATSAPP_API_URL: `http://127.0.0.1:${graph.port}/v21.0`,
      WHATSAPP_TOKEN: 'graph-token',
      WHATSAPP_PHONE_NUMBER_ID: PRIMARY_NUMBER,
      ...(NUMBERS > 1 ? { WHATSAPP_PHONE_NUMBER_IDS: `${PRIMARY_NUMBER},${SECOND_NUMBER}` } : {}),
      WHATSAPP_SENDS_PER_SECOND: String(options.sendsPerSecond),
      CUSTOMER_LOOKUP_URL: `http://127.0.0.1:${directory.port}/customers`,
      // The CRM is one client of the API; agents at a thousand a second are above its default budget.
      CRM_RATE_LIMIT_PER_MINUTE: '10000000',
      HANDOVER_ASSIGN_TIMEOUT_S: '86400',
      AGENT_REPLY_TIMEOUT_S: '86400',
      QUEUE_UPDATE_INTERVAL_S: '86400',
      USER_ABANDON_TIMEOUT_S: '86400',
      ...(traces ? { OTEL_EXPORTER_OTLP_ENDPOINT: traces.url } : {}),
      // The live view's token (METRICS_TOKEN guards GET /api/live), only when supervisors watch: a run without them is as before.
      ...(LIVE_VIEWERS > 0 ? { METRICS_TOKEN: SECRETS.metrics } : {}),
      // SERVICE_X=v sets X=v for the service: to try a setting without editing the benchmark.
      ...Object.fromEntries(
        Object.entries(process.env).flatMap(([name, value]) => (name.startsWith('SERVICE_') && value !== undefined ? [[name.slice(8), value]] : [])),
      ),
    }),
    stdout: 'inherit',
    stderr: 'inherit',
  });
  const sampler = setInterval(async () => {
    const rss = await rssOf(child.pid).catch(() => 0);
    peakRss = Math.max(peakRss, rss);
  }, 250);
  service = { port, child, peakRss: 0, sampler };
  await waitReady(port);
}

/**
 * CPU seconds (user and system) the service's processes spent, summed over its restarts: what one run's work
 * cost it, which a machine shared with other loads changes far less than the rates and latencies.
 */
let serviceCpuSeconds = 0;
/** utime and stime, the 14th and 15th fields of /proc/<pid>/stat, in clock ticks (100 a second on Linux). */
const cpuOf = async (pid: number) => {
  const fields = (await Bun.file(`/proc/${pid}/stat`).text()).replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/**
 * CPU seconds of the stores' processes serving this run: its Postgres database's client backends (pg_stat_activity) and
 * the private redis-server, by pid, so that a phase's cost can be told from what the machine's other users spend.
 * Postgres elsewhere than this machine: its backends are not counted (their /proc is not here).
 */
async function storesCpu(): Promise<Map<number, number>> {
  // Client backends only: an autovacuum worker comes and goes on its own clock, and would make the figure a lottery.
  const backends = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${databaseName} and backend_type = 'client backend'`;
  const pids = [redis.pid, ...backends.map((backend) => backend.pid)];
  return new Map(await Promise.all(pids.map(async (pid) => [pid, await cpuOf(pid).catch(() => 0)] as [number, number])));
}
const cpuSince = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, seconds]) => sum + seconds - (before.get(pid) ?? 0), 0);

async function stopService(): Promise<void> {
  if (!service) return;
  clearInterval(service.sampler);
  serviceCpuSeconds += await cpuOf(service.child.pid).catch(() => 0);
  service.child.kill('SIGTERM');
  await service.child.exited;
  service = undefined;
}

// --------------------------------------------------------------- the traffic

/** Like Meta and the CRM: again until a 200. Returns when the 200 came. */
async function post(path: string, body: string, headers: Record<string, string>): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`http://127.0.0.1:${service!.port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    }).catch(() => undefined);
    await response?.arrayBuffer();
    if (response?.status === 200) return performance.now();
    if (attempt === 0) log(`${path} answered ${response?.status ?? 'nothing'}; retrying`);
    await Bun.sleep(100);
  }
}
const sendUser = (phone: string, id: string, text: string) => {
  const body = userTextWebhook(phone, id, text, undefined, numberFor(phone));
  return post('/webhook', body, { 'x-hub-signature-256': signBody(SECRETS.meta, body) });
};
const sendAgent = (ticket: Ticket, id: string) =>
  post('/api/crm/send-message', JSON.stringify({ ticketId: ticket.ticketId, userPhone: ticket.phone, agentId: 'ag-1', message: id, messageType: 'text' }), {
    authorization: `Bearer ${SECRETS.crm}`,
    'idempotency-key': id,
  });

/** Runs `count` sends, `concurrency` at a time. */
async function inParallel(count: number, send: (n: number) => Promise<unknown>, concurrency = CONCURRENCY): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await send(next++);
    }),
  );
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (done()) return true;
    await Bun.sleep(20);
  }
  return done();
}

interface Ticket {
  phone: string;
  ticketId: string;
}
const phoneOf = (n: number) => `5735${String(n).padStart(8, '0')}`;

async function openTickets(): Promise<Ticket[]> {
  for (const word of ['Hola', 'soporte', '2020202020']) {
    await Promise.all(Array.from({ length: TICKETS }, (_, n) => sendUser(phoneOf(n), `wamid.setup.${n}.${word}`, word)));
    await Bun.sleep(300);
  }
  if (!(await waitUntil(() => agentRequests.size >= TICKETS, 60_000))) throw new Error('tickets were not requested');
  const tickets = Array.from({ length: TICKETS }, (_, n) => ({ phone: phoneOf(n), ticketId: agentRequests.get(phoneOf(n))! }));
  for (const ticket of tickets) {
    const body = JSON.stringify({ ticketId: ticket.ticketId, userPhone: ticket.phone, agentId: 'ag-1', agentName: 'Laura', handoverType: 'bot_to_human' });
    await post('/api/crm/handover', body, { authorization: `Bearer ${SECRETS.crm}` });
  }
  for (const ticket of tickets) {
    for (;;) {
      const response = await fetch(`http://127.0.0.1:${service!.port}/api/crm/handover-status/${ticket.ticketId}`, {
        headers: { authorization: `Bearer ${SECRETS.crm}` },
      });
      if (((await response.json()) as { status?: string }).status === 'active') break;
      await Bun.sleep(50);
    }
  }
  return tickets;
}

/** LIVE_OPEN_TICKETS users through the menu to a ticket no agent takes: it waits, with its place in the queue. */
async function openWaitingTickets(count: number): Promise<void> {
  const phones = Array.from({ length: count }, (_, n) => `5737${String(n).padStart(8, '0')}`);
  // A user's messages keep their order (one partition each): each word is sent to everyone before the next.
  for (const word of ['Hola', 'soporte', '2020202020']) await inParallel(count, (n) => sendUser(phones[n]!, `wamid.waiting.${n}.${word}`, word));
  if (!(await waitUntil(() => phones.every((phone) => agentRequests.has(phone)), 180_000))) throw new Error('the waiting tickets were not requested');
}

/** Until the fakes have heard nothing new for `quietMs`: what opening the tickets queued is sent before a phase starts. */
async function settle(quietMs = 2000): Promise<void> {
  const heard = () => [...graphSends.values()].reduce((sum, sends) => sum + sends, 0) + crmKeys.size + agentRequests.size;
  let last = -1;
  let quietSince = performance.now();
  while (performance.now() - quietSince < quietMs) {
    const now = heard();
    if (now !== last) [last, quietSince] = [now, performance.now()];
    await Bun.sleep(100);
  }
}

const failures: string[] = [];
/** Lost: never arrived. Duplicated: reached the CRM under two keys, or WhatsApp twice. */
function account(name: string, ids: string[], arrived: (id: string) => number): void {
  const lost = ids.filter((id) => arrived(id) === 0).length;
  const duplicated = ids.filter((id) => arrived(id) > 1).length;
  log(`${name}: ${ids.length - lost} delivered, ${lost} lost, ${duplicated} duplicated`);
  if (lost + duplicated > 0) failures.push(`${name}: ${lost} lost, ${duplicated} duplicated`);
}
const atCrm = (id: string) => crmKeys.get(id)?.size ?? 0;
const atGraph = (key: string) => graphSends.get(key) ?? 0;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function userBurst(tickets: Ticket[], tag: string, count: number): Promise<{ ids: string[]; seconds: number }> {
  const ids = Array.from({ length: count }, (_, n) => `wamid.${tag}.${n}`);
  const startedAt = performance.now();
  await inParallel(count, (n) => sendUser(tickets[n % tickets.length]!.phone, ids[n]!, 'carga'));
  await waitUntil(() => ids.every((id) => crmFirst.has(id)), 180_000);
  const last = Math.max(...ids.map((id) => crmFirst.get(id) ?? 0));
  return { ids, seconds: (last - startedAt) / 1000 };
}

async function agentBurst(tickets: Ticket[], tag: string, count: number): Promise<{ keys: string[]; seconds: number; rate: number }> {
  const ids = Array.from({ length: count }, (_, n) => `a.${tag}.${n}`);
  const keys = ids.map((id, n) => `${tickets[n % tickets.length]!.phone}|${id}`);
  const startedAt = performance.now();
  await inParallel(count, (n) => sendAgent(tickets[n % tickets.length]!, ids[n]!), AGENT_CONCURRENCY);
  log(`${tag} agents: the API accepted ${count} in ${((performance.now() - startedAt) / 1000).toFixed(2)} s`);
  await waitUntil(() => keys.every((key) => graphTimes.has(key)), 180_000);
  const times = keys.map((key) => graphTimes.get(key) ?? 0).sort((a, b) => a - b);
  // The Graph fake's own view, over whole seconds from the first send: the send rate is a budget per second,
  // so first-to-last over a few seconds would count one second's budget too many.
  const seconds = Math.floor((times.at(-1)! - times[0]!) / 1000);
  const rate = seconds >= 1 ? times.filter((at) => at < times[0]! + seconds * 1000).length / seconds : times.length;
  return { keys, seconds: (times.at(-1)! - startedAt) / 1000, rate };
}

// -------------------------------------------------------------- the run

const figures: Partial<Figures> = { load: [] };
const noteLoad = (phase: string) =>
  figures.load!.push(
    `${phase}: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(', ')}`,
  );
try {
  await startService({ sendsPerSecond: SENDS_RAISED, counted: runs('profile') });
  log(`service up${runs('profile') ? ' (counted through the Postgres proxy)' : ''}; opening ${TICKETS} tickets`);
  const tickets = await openTickets();
  if (LIVE_OPEN_TICKETS > 0) {
    const openingAt = performance.now();
    await openWaitingTickets(LIVE_OPEN_TICKETS);
    log(`${LIVE_OPEN_TICKETS} more tickets waiting for an agent, opened in ${((performance.now() - openingAt) / 1000).toFixed(1)} s`);
  }

  if (runs('profile')) {
    // Profile: what one event costs the stores.
    const pgBefore = counting.counts();
    const redisBefore = await redis.commandCounts();
    const profileUsers = await userBurst(tickets, 'profile', PROFILE_MESSAGES);
    const profileAgents = await agentBurst(tickets, 'profile', PROFILE_MESSAGES);
    const pgAfter = counting.counts();
    const redisAfter = await redis.commandCounts();
    const events = PROFILE_MESSAGES * 2;
    figures.perEvent = {
      events,
      statements: (pgAfter.statements - pgBefore.statements) / events,
      replies: (pgAfter.replies - pgBefore.replies) / events,
      writes: (pgAfter.writes - pgBefore.writes) / events,
      redis: [...redisAfter]
        .map(([command, calls]) => [command, (calls - (redisBefore.get(command) ?? 0)) / events] as const)
        .filter(([, calls]) => calls >= 0.01)
        .sort((a, b) => b[1] - a[1]),
    };
    account('profile users', profileUsers.ids, atCrm);
    account('profile agents', profileAgents.keys, atGraph);
    log(
      `profile: ${figures.perEvent.statements.toFixed(2)} statements, ${figures.perEvent.replies.toFixed(2)} replies awaited, ${figures.perEvent.writes.toFixed(2)} socket writes to Postgres an event`,
    );
    log(`profile: Redis commands an event: ${figures.perEvent.redis.map(([command, calls]) => `${command} ${calls.toFixed(2)}`).join(', ')}`);

    await startService({ sendsPerSecond: SENDS_RAISED, counted: false });
  }

  if (runs('burst')) {
    if (!runs('profile')) {
      // Without the profile's restart, the burst follows the opening of the tickets: their last sends go first. Then the
      // database as autovacuum keeps it on a desk that has run a while, with statistics: a database minutes old has none,
      // and the planner scanned the whole outbox and messages tables in the dispatcher's statements, a cost that grew
      // with the rows the opening of thousands of tickets had left (docs/bench-e2e.md, "The live view's cost").
      await settle();
      const benchDatabase = postgres(databaseUrl(Number(adminTarget.port || 5432)), { max: 1, onnotice: () => {} });
      await benchDatabase.unsafe('vacuum (analyze)').finally(() => benchDatabase.end());
    }
    const viewers =
      LIVE_VIEWERS > 0 ? await openLiveViewers({ baseUrl: `http://127.0.0.1:${service!.port}`, token: SECRETS.metrics, count: LIVE_VIEWERS }) : undefined;
    if (viewers) log(`${LIVE_VIEWERS} live views open; the board: ${viewers.first.waiting} waiting, ${viewers.first.withAgent} with an agent`);
    noteLoad('before the burst');
    const viewed = viewers?.received();
    const [cpuBefore, storesBefore] = [await cpuOf(service!.child.pid), await storesCpu()];
    const burst = await userBurst(tickets, 'burst', BURST);
    const cpuSeconds = (await cpuOf(service!.child.pid)) - cpuBefore;
    const storesSeconds = cpuSince(storesBefore, await storesCpu());
    figures.burst = { count: BURST, seconds: burst.seconds, rate: BURST / burst.seconds };
    log(
      `(a) burst: ${BURST} in ${burst.seconds.toFixed(2)} s = ${figures.burst.rate.toFixed(0)} msg/s; CPU time: the service ${cpuSeconds.toFixed(2)} s, Postgres and Redis ${storesSeconds.toFixed(2)} s`,
    );
    if (viewers) {
      const after = viewers.received();
      const boards = (after.boards - viewed!.boards) / LIVE_VIEWERS;
      log(`(a) live views through the burst: ${boards.toFixed(1)} boards each (${((after.bytes - viewed!.bytes) / LIVE_VIEWERS / 1024).toFixed(0)} KiB)`);
      viewers.close();
      const read = await boardReadCost(databaseUrl(Number(adminTarget.port || 5432)));
      log(
        `(a) one read of the board (${LIVE_OPEN_TICKETS + TICKETS} open tickets): ${read.wallMs.toFixed(1)} ms, ${read.cpuMs.toFixed(1)} ms CPU in process, ${(read.bytes / 1024).toFixed(0)} KiB`,
      );
    }
    account('(a) burst', burst.ids, atCrm);
  }

  if (runs('steady')) {
    noteLoad('before the steady run');
    const accepted = new Map<string, number>();
    const rss: number[] = [];
    const sends: Promise<void>[] = [];
    const steadyStart = performance.now();
    for (let n = 0; n < RATE * SECONDS; n++) {
      const id = `wamid.steady.${n}`;
      sends.push(sendUser(tickets[n % tickets.length]!.phone, id, 'ritmo').then((at) => void accepted.set(id, at)));
      if (n % (RATE * 5) === 0) rss.push(await rssOf(service!.child.pid));
      const wait = steadyStart + ((n + 1) * 1000) / RATE - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
    await Promise.all(sends);
    await waitUntil(() => [...accepted.keys()].every((id) => crmFirst.has(id)), 60_000);
    rss.push(await rssOf(service!.child.pid));
    const latencies = [...accepted].map(([id, at]) => (crmFirst.get(id) ?? Infinity) - at).sort((a, b) => a - b);
    figures.steady = {
      rate: RATE,
      seconds: SECONDS,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1)!,
      rss,
    };
    log(`(b) steady ${RATE}/s: p50 ${figures.steady.p50.toFixed(1)} ms, p95 ${figures.steady.p95.toFixed(1)} ms, p99 ${figures.steady.p99.toFixed(1)} ms`);
    account('(b) steady', [...accepted.keys()], atCrm);
  }

  if (runs('agents')) {
    noteLoad('before the agent burst');
    const agents = await agentBurst(tickets, 'raised', AGENT_BURST);
    figures.agents = { count: AGENT_BURST, seconds: agents.seconds, rate: AGENT_BURST / agents.seconds, graphRate: agents.rate, sendsPerSecond: SENDS_RAISED };
    log(`(c) agents, shaping raised: ${AGENT_BURST} in ${agents.seconds.toFixed(2)} s = ${figures.agents.rate.toFixed(0)} msg/s`);
    account('(c) agents raised', agents.keys, atGraph);
  }

  if (runs('menus')) {
    noteLoad('before the menus');
    const menuPhones = Array.from({ length: MENU_USERS }, (_, n) => `5736${String(n).padStart(8, '0')}`);
    const menuStart = performance.now();
    await inParallel(MENU_USERS, (n) => sendUser(menuPhones[n]!, `wamid.menu.${n}`, 'Hola'));
    const replied = (phone: string) => graphRecipients.has(phone);
    await waitUntil(() => graphSends.size >= MENU_USERS && menuPhones.every(replied), 120_000);
    const menuKeys = [...graphTimes.keys()].filter((key) => key.startsWith('5736'));
    const menuLast = Math.max(...menuKeys.map((key) => graphTimes.get(key)!));
    figures.menus = { users: MENU_USERS, replies: menuKeys.length, seconds: (menuLast - menuStart) / 1000, rate: MENU_USERS / ((menuLast - menuStart) / 1000) };
    log(`(d) menus: ${MENU_USERS} users answered in ${figures.menus.seconds.toFixed(2)} s = ${figures.menus.rate.toFixed(0)} users/s`);
    account('(d) menu replies', menuKeys, atGraph);
    if (menuPhones.some((phone) => !replied(phone))) failures.push('(d) menus: a user got no reply');
  }

  if (runs('crm')) {
    noteLoad('before the CRM routes');
    const crmRoutes = await measureCrmRoutes({
      baseUrl: `http://127.0.0.1:${service!.port}`,
      crmToken: SECRETS.crm,
      tickets,
      rate: CRM_RATE,
      seconds: CRM_SECONDS,
    });
    figures.crm = crmRoutes.figures;
    const crmVerdict = crmRoutesVerdict(crmRoutes.figures);
    crmVerdict.lines.forEach(log);
    failures.push(...crmVerdict.failures);
    await waitUntil(() => crmRoutes.agentMessageKeys.every((key) => graphTimes.has(key)), 60_000);
    account('(e) CRM routes agents', crmRoutes.agentMessageKeys, atGraph);
  }

  if (runs('shaped')) {
    await startService({ sendsPerSecond: SHAPED, counted: false });
    noteLoad('before the shaped agents');
    const shaped = await agentBurst(tickets, 'shaped', SHAPED_MESSAGES);
    figures.shaped = { count: SHAPED_MESSAGES, rate: shaped.rate, sendsPerSecond: SHAPED };
    log(`(c) agents, shaping at ${SHAPED}/s: ${shaped.rate.toFixed(1)} msg/s at the Graph fake`);
    account('(c) agents shaped', shaped.keys, atGraph);
    // The send rate is each number's (Meta's throughput is per number): with two, the tickets split between them, twice the rate.
    const shapedTotal = SHAPED * Math.min(NUMBERS, 2);
    if (Math.abs(shaped.rate - shapedTotal) > shapedTotal * 0.05) failures.push(`(c) shaped: ${shaped.rate.toFixed(1)}/s is not ${shapedTotal}/s ± 5 %`);
  }
  figures.peakRss = peakRss;
} finally {
  await stopService();
  counting.stop();
  await redis.stop();
  crm.stop(true);
  graph.stop(true);
  directory.stop(true);
  traces?.stop();
  await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
  await admin.end();
}

log(`peak RSS of the service: ${(peakRss / 2 ** 20).toFixed(0)} MiB; its CPU time over the run: ${serviceCpuSeconds.toFixed(1)} s`);
if (traces)
  log(
    `traces: ${traces.received.spans} spans received in ${traces.received.exports} exports (${(traces.received.bytes / 2 ** 20).toFixed(1)} MiB of OTLP JSON)`,
  );
if (NUMBERS > 1) {
  // Every user is answered from the number they wrote to, and from that one only.
  const strays = [...graphFrom].filter(([recipient, from]) => from.size !== 1 || !from.has(numberFor(recipient)));
  const bySecond = [...graphFrom].filter(([, from]) => from.has(SECOND_NUMBER)).length;
  log(`two numbers: ${graphFrom.size - bySecond} users answered from ${PRIMARY_NUMBER}, ${bySecond} from ${SECOND_NUMBER}, ${strays.length} from another`);
  if (strays.length > 0) failures.push(`numbers: ${strays.length} users answered from a number they did not write to`);
}
const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Bun ${Bun.version}`;
// The report's table has every phase, under the budgets' conditions: a partial run, or one beside live views, is only logged.
const fullRun = PHASE_NAMES.every(runs) && LIVE_OPEN_TICKETS === 0 && LIVE_VIEWERS === 0;
if (process.env.WRITE !== '0' && !fullRun) log('docs/bench-e2e.md not written: some phases only, or with the live view (LIVE_*)');
if (process.env.WRITE !== '0' && fullRun) {
  const report = Bun.file(join(ROOT, 'docs/bench-e2e.md'));
  const existing = (await report.exists()) ? await report.text() : '';
  await Bun.write(
    report,
    renderReport(existing, figures as Figures, { machine, tickets: TICKETS, concurrency: CONCURRENCY, agentConcurrency: AGENT_CONCURRENCY, failures }),
  );
  log('written docs/bench-e2e.md');
}
if (failures.length > 0) {
  console.error(`FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
