import { createHash } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Persistence } from '../../tests/support/private-redis';

export interface Count {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
}

export interface ScenarioResult {
  ids: { name: string; note: string };
  users: Count;
  agents: Count;
  /** The redis-* scenarios: how their Redis persisted, and what the service said about it. */
  persistence?: Persistence;
  said?: { resets: number; partitions: number[]; restarts: number };
}

/**
 * What each scenario must show. Everywhere: nothing twice. Where Redis keeps
 * what it acknowledged (every scenario but the two below): nothing lost.
 * AOF everysec: a loss is within its documented bound (up to a second, and
 * a SIGKILL of Redis alone should lose nothing), shown, not failed. No
 * persistence: a loss is expected (the worker was behind), and the service
 * must have reported it; no loss means the scenario tested nothing.
 */
function failuresOf(result: ScenarioResult): string[] {
  const { name } = result.ids;
  const lost = result.users.lost + result.agents.lost;
  const problems: string[] = [];
  if (result.users.duplicated + result.agents.duplicated > 0) problems.push(`${name}: duplicated`);
  if (result.persistence === 'off') {
    if (lost === 0) problems.push(`${name}: nothing was lost, so the worker was not behind when Redis died`);
    else if (!result.said || result.said.resets === 0) problems.push(`${name}: ${lost} messages lost and the service did not report it`);
  } else if (result.persistence !== 'everysec' && lost > 0) {
    problems.push(`${name}: ${lost} lost`);
  }
  return problems;
}

const said = (result: ScenarioResult) =>
  !result.said
    ? ''
    : `${result.said.restarts} \`redis.restarted\`; ${
        result.said.resets === 0 ? 'no `redis.reset_detected`' : `\`redis.reset_detected\` for partitions ${result.said.partitions.join(', ')}`
      }`;

export async function writeReliabilityDoc(options: {
  root: string;
  results: ScenarioResult[];
  chosen: string[];
  tickets: number;
  rate: number;
  /** The command as run, with the settings it was given. */
  command: string;
}): Promise<{ failures: string[]; table: string }> {
  const { results } = options;
  const header = '| Scenario | Fault | User messages sent | at the CRM | lost | duplicated | Agent messages sent | at WhatsApp | lost | duplicated |';
  const rows = results.map(
    ({ ids, users, agents }) =>
      `| ${ids.name} | ${ids.note} | ${users.sent} | ${users.delivered} | ${users.lost} | ${users.duplicated} | ${agents.sent} | ${agents.delivered} | ${agents.lost} | ${agents.duplicated} |`,
  );
  const table = [header, '|---|---|---|---|---|---|---|---|---|---|', ...rows].join('\n');
  const redisRows = results
    .filter((result) => result.persistence)
    .map((result) => `| ${result.ids.name} | ${result.users.lost + result.agents.lost} | ${said(result)} |`);
  const redisTable = redisRows.length === 0 ? '' : ['| Scenario | acknowledged, then lost | what the service said |', '|---|---|---|', ...redisRows].join('\n');
  const failures = results.flatMap(failuresOf);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Bun ${Bun.version}, ${process.platform}`;
  const digest = createHash('sha256')
    .update(table + redisTable)
    .digest('hex')
    .slice(0, 12);
  const verdict =
    failures.length === 0
      ? 'Nothing was duplicated; nothing was lost where Redis keeps what it acknowledged; every loss was reported.'
      : `Failed: ${failures.join('; ')}.`;
  await Bun.write(join(options.root, 'docs/RELIABILITY.md'), document({ ...options, machine, table, redisTable, verdict, digest }));
  return { failures, table: redisTable ? `${table}\n\n${redisTable}` : table };
}

function document(parts: {
  tickets: number;
  rate: number;
  chosen: string[];
  command: string;
  machine: string;
  table: string;
  redisTable: string;
  verdict: string;
  digest: string;
}) {
  return `# Reliability: nothing lost, nothing twice

\`bun run bench:faults\` (bench/faults.ts) starts the service as a child
process against a CRM fake, a Graph API fake and a customer directory fake on
loopback, opens ${parts.tickets} tickets, and sends ${parts.rate} messages a second, user
messages (signed webhooks) and agent messages (\`/api/crm/send-message\`)
alternating, while each scenario breaks something. The senders retry until
they get a 200, as Meta and a CRM do. The Graph fake acts like WhatsApp: a
signed \`sent\` status webhook for each accepted message, with its
\`biz_opaque_callback_data\`, retried until the service takes it.

Every message is then counted by id where it must arrive: user messages at
the CRM fake's \`/api/bot/user-message\` (by distinct \`Idempotency-Key\`, as
a CRM dedupes), agent messages among the sends the Graph fake accepted. A
message counted twice is a duplicate; one never seen is lost. The run exits 1
on a duplicate anywhere, on a loss where Redis keeps what it acknowledged, and
on a loss the service did not report. To keep it short the service runs with
\`HTTP_TIMEOUT_MS=1500\`, \`WHATSAPP_RECONCILE_MS=5000\` and
\`CIRCUIT_BREAKER_HALF_OPEN_MS=2000\`.

## Last recorded run

Machine: ${parts.machine}. Date: ${new Date().toISOString().slice(0, 10)}. Scenarios: ${parts.chosen.join(', ')}.
Command: \`${parts.command}\`.

${parts.table}
${parts.redisTable ? `\n${parts.redisTable}\n` : ''}
${parts.verdict}
(table digest ${parts.digest})

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
- **redis-always**, **redis-everysec**, **redis-none**: each on a stack of its
  own: a private \`redis-server\` on a free port (AOF \`appendfsync always\`,
  AOF \`everysec\`, or no persistence at all), its own database reached
  through a proxy that can hold Postgres, the service, its own tickets. Under
  traffic Postgres is held, so the worker falls behind while webhooks are
  acknowledged into Redis (CRM calls wait on their ticket read and are
  retried); 3 s later Redis is SIGKILLed, restarted after 1 s, and Postgres
  is let go 2 s after that. With AOF \`always\` nothing may be lost. With
  \`everysec\` a SIGKILL of Redis alone loses nothing (the writes are in the
  operating system, which survives); the second it may lose is a crash of
  the machine, which this runner cannot cause. Without persistence the
  backlog Redis held is lost, as it would be in production, and the run
  passes only if the service reported it (\`redis.reset_detected\`, one line
  per partition, and \`handover_redis_resets_total\`).

Smaller versions of these run in \`bun test\`: tests/e2e/delivery.test.ts,
tests/e2e/outages.test.ts, tests/e2e/restart.test.ts,
tests/e2e/redis-reset.test.ts.

## When Redis fails

| What happens | What is lost | What the service does |
|---|---|---|
| Redis restarts with AOF \`always\` | nothing | reconnects; \`redis.restarted\` (warning) once the partitions it reads are checked against Postgres; entries pending are replayed, the dedupe drops what was applied |
| Redis restarts with AOF \`everysec\` | a crash of Redis alone: nothing; a crash of the machine: up to about the last second acknowledged (2 s on a disk too slow for fsync) | the same; if what was lost includes entries already applied, \`redis.reset_detected\` (stream behind) |
| Redis restarts without persistence, or comes back empty (a lost volume, \`FLUSHALL\`) | every event acknowledged and not yet applied; Meta does not resend them | \`redis.reset_detected\` (error) per partition Postgres had applied entries from: partition, last applied entry id and when, what Redis had instead; \`handover_redis_resets_total{partition}\`; the user-id map put back from Postgres; the stream's last id raised above what was applied; the consumer group made again from the start |
| A replica is promoted after its primary died | what the replica had not received (replication is asynchronous), unless \`REDIS_WAIT_REPLICAS\` made each acknowledgement wait for it | as above when it is behind what was applied; the fencing tokens start again from Postgres's fence |
| Redis is unreachable | nothing | webhooks and CRM calls get \`503 queue_unavailable\` and are retried by their senders; readiness reports Redis down; the worker resumes when it is back |
| Redis runs without AOF in production | (at the next restart, as above) | the start is refused in one line unless \`REDIS_ALLOW_NO_AOF=true\`; with it, a warning at every start and \`handover_redis_aof_enabled 0\` |

## Limits, and how to see the runner catch a fault

A send whose response is lost is settled by its status webhook; only if no
status arrives within \`WHATSAPP_RECONCILE_MS\` (30 s by default) is it sent
again. A status later than that (Meta delays them under load) would let the
user see that message twice. The runner shows it: with
\`RECONCILE_MS=100 STATUS_DELAY_MS=4000 SCENARIOS=graph-faults\` it reports a
duplicate and exits 1. The shared Redis of the other scenarios keeps nothing
on disk, which they do not need: they never restart it.

## Rerun

\`\`\`sh
bun run bench:faults                                   # all scenarios, ~8 minutes
SCENARIOS=baseline,sigkill TICKETS=20 RATE=10 bun run bench:faults
SCENARIOS=redis-always,redis-everysec,redis-none bun run bench:faults
\`\`\`

Needs Postgres on 127.0.0.1:5432 (trust auth), Redis on 127.0.0.1:6379 for
the shared scenarios and \`redis-server\` on PATH for the redis-* ones (they
start their own on free ports and never touch the one on 6379). Stopping
Postgres stops it for everything on the machine: run postgres-stop alone.
The service's log of the last run is in /tmp/hb-faults-service.log.
`;
}
