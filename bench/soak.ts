/**
 * Soak benchmark (DESIGN 6, issue 25): a busy desk's mixed traffic, sustained,
 * from outside. The service runs as child processes (the start command) on a
 * redis-server of its own (AOF everysec) and a database of its own, against
 * loopback CRM, Graph and directory fakes that count every message by id
 * (bench/soak/fakes.ts). Per second, PEAK user messages to agents on open
 * tickets, as many agent replies (POST /api/crm/send-message, open loop), the
 * three statuses of every message sent, and NEW_USERS users walking the menu
 * to a ticket while as many tickets are handed back and their survey answered
 * (bench/soak/traffic.ts). Phases (PHASES, in this order):
 *   one      one instance, SOAK_MINUTES;
 *   two      two instances sharing Redis and Postgres, the traffic spread over both;
 *   history  one instance on a database already holding a year (HISTORY_TICKETS tickets, bench/soak/history.ts);
 *   ramp     one instance, PEAKS one after another, RAMP_MINUTES each: the highest at which every minute's
 *            p99s hold (not in the default PHASES).
 * Per minute: p50/p99 webhook → CRM and send-message → Graph, worker lag, RSS per instance, Postgres per
 * table (bench/soak/probes.ts). Exits 1 on any loss, duplicate or stuck walk (bench/soak/ledger.ts).
 * Writes each phase's block of docs/bench-soak.md (unless WRITE=0).
 *
 *   bun run bench:soak
 *   SOAK_MINUTES=1 PEAK=25 PHASES=one bun run bench:soak
 *   PHASES=ramp PEAKS=25,50,75,100 RAMP_MINUTES=1 bun run bench:soak
 *   PHASES=history HISTORY_TICKETS=500000 bun run bench:soak
 *   SERVICE_OUTBOX_CONCURRENCY=128 bun run bench:soak     # SERVICE_X=v: the service runs with X=v
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { serviceClient } from './soak/client';
import { startSoakFakes } from './soak/fakes';
import { awaitRollups, seedHistory } from './soak/history';
import { account } from './soak/ledger';
import { startPrivatePostgres } from './soak/private-postgres';
import { startProbes, type MinuteProbe } from './soak/probes';
import { held, minuteFigures, minuteLine, renderReport, verdict, type Minute, type PhaseResult } from './soak/report';
import { startStack } from './soak/stack';
import { statusPump } from './soak/statuses';
import { desk, type Rates } from './soak/traffic';

const ROOT = join(import.meta.dir, '..');
const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const MINUTES = setting('SOAK_MINUTES', 10);
/** User messages to agents a second at the desk's peak; everything else follows from it unless set. */
const PEAK = setting('PEAK', 50);
const ratesFor = (peak: number): Rates => {
  const newUsers = setting('NEW_USERS', peak / 50);
  return { user: peak, agent: setting('AGENT_RATE', peak), newUsers, closes: newUsers };
};
const TICKETS = setting('TICKETS', 200);
const PARTITIONS = setting('SERVICE_STREAM_PARTITIONS', 8);
const STATUS_DELAYS_MS = (process.env.STATUS_DELAYS_MS ?? '100,1000,3000').split(',').map(Number);
const PEAKS = (process.env.PEAKS ?? '25,50,75,100').split(',').map(Number);
const RAMP_MINUTES = setting('RAMP_MINUTES', 1);
const HISTORY = { tickets: setting('HISTORY_TICKETS', 500_000), messagesPerTicket: setting('MESSAGES_PER_TICKET', 10), pipeline: process.env.HISTORY_PIPELINE !== '0' };
const PHASES = (process.env.PHASES ?? 'one,two,history').split(',');
/** `private` (default): a Postgres of the soak's own with stock settings (autovacuum on); `shared`: BENCH_DATABASE_ADMIN_URL's. */
const POSTGRES = process.env.SOAK_POSTGRES ?? 'private';
const SHARED_ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The service's settings for a soak: a number on Meta's 1,000 a second tier, so shaping does not bind at these rates. */
const SERVICE_ENV = { STREAM_PARTITIONS: String(PARTITIONS), WHATSAPP_SENDS_PER_SECOND: '1000' };

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Bun ${Bun.version}; the service, Redis, Postgres, the load generator and the fakes share these cores`;
const describe = (r: Rates) =>
  `${r.user} user messages/s to agents, ${r.agent} agent replies/s, 3 statuses per message sent, ${r.newUsers} new users/s walking the menu to a ticket and as many tickets handed back with their survey answered`;

interface PhaseSpec {
  name: string;
  title: string;
  instances: number;
  phoneDigit: number;
  minutes: number;
  ratesAt: (minute: number) => Rates;
  history?: boolean;
}

async function runPhase(spec: PhaseSpec, adminUrl: string): Promise<PhaseResult> {
  log(`phase ${spec.name}: ${spec.title}`);
  const pump = statusPump(STATUS_DELAYS_MS);
  const fakes = startSoakFakes(spec.name, pump.push);
  const stack = await startStack({ tag: spec.name, adminUrl, fakes, env: SERVICE_ENV });
  let probes: ReturnType<typeof startProbes> | undefined;
  const notes: string[] = [];
  try {
    if (spec.history) {
      // The service migrates the database; the year is written while it is stopped, as an upgrade would find it.
      await stack.start(1);
      await stack.stopInstances();
      const took = await seedHistory(stack.databaseUrl, HISTORY, log);
      notes.push(
        `History: ${HISTORY.tickets.toLocaleString('en')} closed tickets over the year, ${HISTORY.messagesPerTicket} messages each` +
          `${HISTORY.pipeline ? ', their processed_events and done outbox rows' : ''}; seeded in ${Object.values(took)
            .reduce((a, b) => a + b, 0)
            .toFixed(0)} s (${Object.entries(took)
            .map(([table, seconds]) => `${table} ${seconds.toFixed(0)} s`)
            .join(', ')}).`,
      );
    }
    const instances = await stack.start(spec.instances);
    if (spec.history) {
      const seconds = await awaitRollups(stack.databaseUrl, log);
      notes.push(`Before the traffic, the service's first start on the year summed it into the KPI rollups in ${seconds.toFixed(0)} s (once; a desk that ran for the year has them).`);
    }
    const client = serviceClient(instances.map((instance) => instance.port));
    pump.start(client);
    const traffic = desk({ tag: spec.name, phoneDigit: spec.phoneDigit, client, fakes });
    log(`${spec.name}: ${spec.instances} instance(s) up; opening ${TICKETS} tickets`);
    await traffic.open(TICKETS, 32);
    probes = startProbes({ redisUrl: stack.redisUrl, prefix: stack.prefix, partitions: PARTITIONS, databaseUrl: stack.databaseUrl, instances: () => stack.instances });
    const tablesBefore = await probes.tables();
    notes.push(`Postgres (${POSTGRES === 'private' ? "the soak's own" : 'shared'}): ${await probes.settings()}.`);
    const uptime = (await Bun.$`uptime`.text()).trim();
    const openTickets = traffic.pool.length;
    log(`${spec.name}: ${openTickets} tickets open; ${uptime}`);

    const t0 = performance.now();
    const minuteProbes: MinuteProbe[] = [];
    let told = 0;
    const live = (minute: number) => minuteFigures(minute, spec.ratesAt(minute), t0, traffic.records, fakes, pump.posted);
    await traffic.run(spec.ratesAt, spec.minutes, t0, async (minute) => {
      minuteProbes[minute] = await probes!.minute();
      // A couple of seconds for the minute's last messages to land before it is told.
      await Bun.sleep(2000);
      log(`${spec.name} ${minuteLine({ ...live(minute), probe: minuteProbes[minute] })}`);
      told++;
    });
    while (told < spec.minutes) await Bun.sleep(50);
    log(`${spec.name}: traffic stopped; waiting for what is in flight`);
    await traffic.settle();
    const tally = await account(traffic.records, fakes, pump, stack.databaseUrl);
    const minutes: Minute[] = minuteProbes.map((probe, minute) => ({ ...live(minute), probe }));
    const warnings = [...stack.logCounts].map(([event, count]) => `${event} ×${count}`);
    if (warnings.length > 0) notes.push(`Warnings and errors the service logged: ${warnings.join(', ')}.`);
    if (client.retried.webhooks + client.retried.crm > 0)
      notes.push(`Retried by the load generator: ${client.retried.webhooks} webhooks, ${client.retried.crm} CRM calls (no answer, 429 or 5xx).`);
    if (traffic.records.skipped > 0) notes.push(`${traffic.records.skipped} messages were due while no ticket was open.`);
    for (const failure of tally.failures) log(`${spec.name} FAILURE: ${failure}`);
    return { name: spec.name, title: spec.title, instances: spec.instances, minutes, tablesBefore, tally, uptime, machine, openTickets, notes };
  } finally {
    pump.stop();
    await probes?.stop();
    await stack.stop();
    fakes.stop();
  }
}

const steady = (rates: Rates) => () => rates;
const specs: Record<string, PhaseSpec> = {
  one: { name: 'one', title: `One instance at the peak: ${describe(ratesFor(PEAK))}`, instances: 1, phoneDigit: 1, minutes: MINUTES, ratesAt: steady(ratesFor(PEAK)) },
  two: { name: 'two', title: `Two instances at the peak: ${describe(ratesFor(PEAK))}`, instances: 2, phoneDigit: 2, minutes: MINUTES, ratesAt: steady(ratesFor(PEAK)) },
  history: {
    name: 'history',
    title: `One instance at the peak on a year of history: ${describe(ratesFor(PEAK))}`,
    instances: 1,
    phoneDigit: 3,
    minutes: MINUTES,
    ratesAt: steady(ratesFor(PEAK)),
    history: true,
  },
  ramp: {
    name: 'ramp',
    title: `One instance, the peak raised every ${RAMP_MINUTES} minute(s): ${PEAKS.join(', ')} user messages/s (and as many agent replies)`,
    instances: 1,
    phoneDigit: 4,
    minutes: PEAKS.length * RAMP_MINUTES,
    ratesAt: (minute) => ratesFor(PEAKS[Math.min(PEAKS.length - 1, Math.floor(minute / RAMP_MINUTES))]!),
  },
};

/** The highest peak whose every minute held both p99 budgets, each step below it too. */
function rampSummary(result: PhaseResult): string {
  const steps = PEAKS.map((peak, step) => ({ peak, minutes: result.minutes.slice(step * RAMP_MINUTES, (step + 1) * RAMP_MINUTES) }));
  const failed = steps.findIndex((step) => !step.minutes.every(held));
  const summary = `Highest peak at which every minute's p99s held (webhook → CRM ≤ 100 ms, send-message → Graph ≤ 150 ms): ${
    failed === 0 ? `none of ${PEAKS.join(', ')}` : `**${steps[(failed < 0 ? steps.length : failed) - 1]!.peak}** user messages/s`
  }.`;
  log(summary);
  return summary;
}

const unknown = PHASES.filter((name) => !specs[name]);
if (unknown.length > 0) throw new Error(`unknown phase(s) ${unknown.join(', ')}: PHASES takes ${Object.keys(specs).join(', ')}`);
const results: PhaseResult[] = [];
const server = POSTGRES === 'private' ? await startPrivatePostgres() : undefined;
try {
  for (const name of PHASES) {
    const result = await runPhase(specs[name]!, server?.adminUrl ?? SHARED_ADMIN_URL);
    if (name === 'ramp') result.notes.push(rampSummary(result));
    results.push(result);
    for (const line of verdict(result)) log(`${name} ${line}`);
    // Written after each phase: a later phase that breaks does not take the earlier ones' figures with it.
    if (process.env.WRITE !== '0') {
      const report = Bun.file(join(ROOT, 'docs/bench-soak.md'));
      await Bun.write(report, renderReport((await report.exists()) ? await report.text() : '', [result]));
      log(`written ${name} to docs/bench-soak.md`);
    }
  }
} finally {
  await server?.stop();
}

const failures = results.flatMap((result) => result.tally.failures.map((failure) => `${result.name}: ${failure}`));
if (failures.length > 0) {
  console.error(`FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
