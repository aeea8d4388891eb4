/**
 * Scale-out benchmark: the same load on one instance and on two.
 *
 * Starts the service as child processes (the start command) on one Redis and
 * one Postgres, with a CRM fake on loopback, opens CONVERSATIONS tickets, then
 * for each instance count:
 *   - throughput: BURST user messages (signed webhooks, spread over the
 *     instances, CONCURRENCY at a time) and the rate at which they reach the
 *     CRM's /api/bot/user-message;
 *   - latency: a steady RATE a second for SECONDS, each message timed from
 *     the webhook's 200 to its arrival at the CRM (p50, p99).
 * Writes docs/bench-scale.md.
 *
 *   bun run bench:scale
 *   BURST=4000 RATE=200 SECONDS=10 bun run bench:scale
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { signBody } from '../src/lib/security';
import { childEnvironment, userTextWebhook, waitReady } from './support';
import { freePort } from '../tests/support/ports';

const ROOT = join(import.meta.dir, '..');
const CONVERSATIONS = Number(process.env.CONVERSATIONS ?? 200);
const BURST = Number(process.env.BURST ?? 6000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const RATE = Number(process.env.RATE ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 10);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRETS = { crm: 'scale-crm-token', meta: 'scale-meta-secret' };

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);

/** waMessageId → when it first reached the CRM. */
const arrivals = new Map<string, number>();
const tickets = new Set<string>();
const crm = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(request) {
    const path = new URL(request.url).pathname;
    const body = (await request.json().catch(() => ({}))) as Record<string, string>;
    if (path === '/api/bot/agent-request') tickets.add(body.userPhone!);
    if (path === '/api/bot/user-message' && !arrivals.has(body.waMessageId!)) arrivals.set(body.waMessageId!, performance.now());
    return Response.json({ success: true, agentAssigned: { id: 'ag-1', name: 'Laura', estimatedResponseTime: '5 minutos' } });
  },
});
const graph = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: () => Response.json({ messaging_product: 'whatsapp', messages: [{ id: `wamid.${Math.random()}` }] }),
});
const directory = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json({ customerId: 'C-1', customerName: 'Cliente', isInactive: false }) });

function startInstance(databaseUrl: string, prefix: string, name: string) {
  const port = freePort();
  const child = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: childEnvironment({
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      CONSUMER_NAME: name,
      CRM_BASE_URL: `http://127.0.0.1:${crm.port}`,
      CRM_API_TOKEN: SECRETS.crm,
      BOT_API_TOKEN: 'scale-bot',
      BOT_SIGNING_SECRET: 'scale-signing',
      META_WEBHOOK_SECRET: SECRETS.meta,
      WEBHOOK_VERIFY_TOKEN: 'verify',
      WHATSAPP_API_URL: `http://127.0.0.1:${graph.port}/v21.0`,
      WHATSAPP_TOKEN: 'graph-token',
      WHATSAPP_PHONE_NUMBER_ID: '1234567890',
      WHATSAPP_SENDS_PER_SECOND: '1000',
      CUSTOMER_LOOKUP_URL: `http://127.0.0.1:${directory.port}/customers`,
      OUTBOX_POLL_MS: '50',
      HANDOVER_ASSIGN_TIMEOUT_S: '86400',
      AGENT_REPLY_TIMEOUT_S: '86400',
      QUEUE_UPDATE_INTERVAL_S: '86400',
      USER_ABANDON_TIMEOUT_S: '86400',
      WEBHOOK_RATE_LIMIT_PER_MINUTE: '10000000',
    }),
    stdout: 'ignore',
    stderr: 'ignore',
  });
  return { port, child };
}

let turn = 0;
async function postWebhook(ports: number[], body: string): Promise<void> {
  for (;;) {
    const port = ports[turn++ % ports.length]!;
    const response = await fetch(`http://127.0.0.1:${port}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(SECRETS.meta, body) },
      body,
    }).catch(() => undefined);
    await response?.arrayBuffer();
    if (response?.status === 200) return;
    await Bun.sleep(100);
  }
}

const phoneOf = (n: number) => `5735${String(n).padStart(8, '0')}`;

async function waitFor(ids: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (ids.every((id) => arrivals.has(id))) return true;
    await Bun.sleep(20);
  }
  return false;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

interface Result {
  instances: number;
  throughput: number;
  burstSeconds: number;
  p50: number;
  p99: number;
  max: number;
  steadySent: number;
}

async function measure(instances: number): Promise<Result> {
  const databaseName = `hb_scale_${instances}_${Date.now().toString(36)}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${databaseName}`);
  const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${databaseName}`);
  const prefix = `hbscale:${databaseName}:`;
  const running = Array.from({ length: instances }, (_, n) => startInstance(databaseUrl, prefix, `scale-${n}`));
  const ports = running.map((instance) => instance.port);
  try {
    await Promise.all(ports.map((port) => waitReady(port)));
    tickets.clear();
    log(`${instances} instance(s) up; opening ${CONVERSATIONS} tickets`);
    for (const word of ['Hola', 'soporte', '2020202020']) {
      await Promise.all(
        Array.from({ length: CONVERSATIONS }, (_, n) => postWebhook(ports, userTextWebhook(phoneOf(n), `wamid.setup.${instances}.${n}.${word}`, word))),
      );
      await Bun.sleep(500);
    }
    const deadline = Date.now() + 60_000;
    while (tickets.size < CONVERSATIONS && Date.now() < deadline) await Bun.sleep(50);

    // Throughput: a burst, CONCURRENCY webhooks in flight at a time.
    const burst = Array.from({ length: BURST }, (_, n) => ({ phone: phoneOf(n % CONVERSATIONS), id: `wamid.burst.${instances}.${n}` }));
    const startedAt = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < burst.length) {
          const message = burst[next++]!;
          await postWebhook(ports, userTextWebhook(message.phone, message.id, 'carga'));
        }
      }),
    );
    const complete = await waitFor(
      burst.map((message) => message.id),
      120_000,
    );
    const lastArrival = Math.max(...burst.map((message) => arrivals.get(message.id) ?? 0));
    const burstSeconds = (lastArrival - startedAt) / 1000;
    log(`${instances}: burst of ${BURST} ${complete ? '' : '(incomplete) '}in ${burstSeconds.toFixed(2)} s`);

    // Latency at a steady rate: webhook 200 → CRM.
    const accepted = new Map<string, number>();
    const sends: Promise<void>[] = [];
    const steadyStart = performance.now();
    for (let n = 0; n < RATE * SECONDS; n++) {
      const id = `wamid.steady.${instances}.${n}`;
      sends.push(postWebhook(ports, userTextWebhook(phoneOf(n % CONVERSATIONS), id, 'ritmo')).then(() => void accepted.set(id, performance.now())));
      const due = steadyStart + ((n + 1) * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
    await Promise.all(sends);
    await waitFor([...accepted.keys()], 60_000);
    const latencies = [...accepted].map(([id, at]) => (arrivals.get(id) ?? Infinity) - at).sort((a, b) => a - b);
    return {
      instances,
      throughput: BURST / burstSeconds,
      burstSeconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1)!,
      steadySent: latencies.length,
    };
  } finally {
    for (const instance of running) instance.child.kill('SIGTERM');
    await Promise.all(running.map((instance) => instance.child.exited));
    await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
    await admin.end();
  }
}

const results: Result[] = [];
try {
  for (const instances of [1, 2]) results.push(await measure(instances));
} finally {
  crm.stop(true);
  graph.stop(true);
  directory.stop(true);
}

const rows = results.map(
  (result) =>
    `| ${result.instances} | ${Math.round(result.throughput)} | ${result.burstSeconds.toFixed(2)} | ${result.p50.toFixed(1)} | ${result.p99.toFixed(1)} | ${result.max.toFixed(1)} |`,
);
console.log(rows.join('\n'));
const report = `# Scale-out benchmark (\`bun run bench:scale\`)

Run on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB,
Bun ${Bun.version}, Redis and Postgres on the same machine, the benchmark's own load generator and CRM fake too.
${CONVERSATIONS} conversations (open tickets, so every user message is relayed to the CRM), 8 partitions (the default).

Throughput: ${BURST} signed webhooks, ${CONCURRENCY} in flight, spread round-robin over the instances;
from the first send to the last arrival at the CRM fake. Latency: ${RATE} messages a second for ${SECONDS} s,
from each webhook's 200 to that message's arrival at the CRM (\`/api/bot/user-message\`).

| Instances | Throughput (msg/s) | Burst (s) | p50 (ms) | p99 (ms) | max (ms) |
|---|---|---|---|---|---|
${rows.join('\n')}

## What two cores can and cannot show

Everything here shares ${cpus().length} cores: the instances, Redis, Postgres, the load generator and the
fakes. A second instance adds no CPU, so this run cannot show throughput doubling; what it can show is
the cost of sharing the work (leases, fencing, one reader per partition, a second event loop competing
for the same cores) and that latency holds with two instances. Scale-out pays when each instance gets
its own cores (or host) and Postgres is not the bottleneck: the worker's transaction per partition batch
is the unit of work, and partitions spread evenly over instances (${'`'}STREAM_PARTITIONS${'`'} bounds the
parallelism: at most that many busy readers in total).
`;
await Bun.write(join(ROOT, 'docs/bench-scale.md'), report);
log('written docs/bench-scale.md');
