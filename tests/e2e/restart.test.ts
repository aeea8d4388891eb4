import { afterAll, expect, setDefaultTimeout, test } from 'bun:test';
import type { Subprocess } from 'bun';
import { join } from 'node:path';
import postgres from 'postgres';
import { closeCommitGate } from '../support/commit-gate';
import { startFakeCrm, startFakeDirectory, startFakeGraph } from '../support/fakes';
import {
  activeTicketFor,
  createTestDatabase,
  crmCall,
  DIRECTORY,
  eventually,
  fakesEnvironment,
  openTicketFor,
  REDIS_URL,
  sendStatus,
  sendUser,
  text,
  type TestStack,
} from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The service as `bun run start` runs it, SIGKILLed and started again. Each
 * test has its own database, key prefix and fakes, so the two run at once.
 * Where a kill must land is arranged, not hoped for: a scheduler that polls
 * once a minute cannot fire what it armed, and a closed commit gate (see
 * commit-gate.ts) holds the worker with a batch applied but not committed.
 */
const root = join(import.meta.dir, '../..');
const startCommand = ((await Bun.file(join(root, 'package.json')).json()) as { scripts: { start: string } }).scripts.start.split(' ');
const ACTIVE_SUBSCRIBER = '2020202020';
/** The scheduler's first poll fires what is overdue; the next one is a minute away, after the test has killed it. */
const NO_SECOND_POLL = { TIMER_POLL_MS: '60000' };

interface Deployment {
  stack: TestStack;
  sql: postgres.Sql;
  /** Starts the service (the previous one must be dead) and waits until it answers ready. */
  start(extra?: Record<string, string>): Promise<void>;
  kill(): Promise<void>;
  /** SIGTERM: a clean stop must exit 0. */
  stop(): Promise<number>;
  /** Nothing left to deliver: what the fakes got is final, and no lease of a killed process is pending. */
  settled(timeoutMs?: number): Promise<void>;
  logs: string[];
  close(): Promise<void>;
}

const deployments: Deployment[] = [];
afterAll(() => Promise.all(deployments.map((deployment) => deployment.close())));

async function deploy(label: string, settings: Record<string, string>): Promise<Deployment> {
  const crm = startFakeCrm();
  const graph = startFakeGraph();
  const directory = startFakeDirectory(DIRECTORY);
  const database = await createTestDatabase(label);
  const sql = postgres(database.url, { max: 3, onnotice: () => {} });
  const prefix = `hbtest:${label}:${process.pid}:${Date.now().toString(36)}:`;
  const stack = { service: { url: '' }, crm, graph, directory, sql } as unknown as TestStack;
  const logs: string[] = [];
  let child: Subprocess<'ignore', 'pipe', 'pipe'> | null = null;

  const start = async (extra: Record<string, string> = {}) => {
    const spawned = Bun.spawn(startCommand, {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: '0',
        LOG_LEVEL: 'info',
        DATABASE_URL: database.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        // The same consumer across restarts: what the killed process had read is its own pending list, replayed first.
        CONSUMER_NAME: 'restart-test',
        // A killed life's leases lapse before the next life may read: at the 5 s default, every restart waited that long.
        PARTITION_LEASE_TTL_MS: '1500',
        ...fakesEnvironment({ crm, graph, directory }),
        ...settings,
        ...extra,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    child = spawned;
    // The service says which port it took (PORT=0) in its start-up line.
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = '';
      void (async () => {
        for await (const chunk of spawned.stdout) {
          buffered += new TextDecoder().decode(chunk);
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) {
            logs.push(line);
            const started = line.includes('"service.started"') ? (JSON.parse(line) as { port: number }) : null;
            if (started) resolve(started.port);
          }
        }
        reject(new Error(`the service exited before it started:\n${logs.slice(-20).join('\n')}`));
      })();
    });
    stack.service.url = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${stack.service.url}/health/ready`)).status === 200, 'readiness', 30_000);
  };

  const deployment: Deployment = {
    stack,
    sql,
    logs,
    start,
    async kill() {
      child?.kill('SIGKILL');
      await child?.exited;
      child = null;
    },
    async stop() {
      child?.kill('SIGTERM');
      const code = (await child?.exited) ?? 0;
      child = null;
      return code;
    },
    async settled(timeoutMs = 10_000) {
      await eventually(
        async () => (await sql`select count(*)::int as open from outbox where status in ('pending', 'in_flight')`)[0]!.open === 0,
        'every outbox row delivered',
        timeoutMs,
      );
    },
    async close() {
      if (child) await deployment.kill();
      await sql.end();
      await database.drop();
      await Promise.all([crm.stop(), graph.stop(), directory.stop()]);
    },
  };
  deployments.push(deployment);
  return deployment;
}

/** On failure, the service's last words. */
async function explained(deployment: Deployment, run: () => Promise<void>) {
  try {
    await run();
  } catch (error) {
    console.error(deployment.logs.slice(-40).join('\n'));
    throw error;
  }
}

test.concurrent(
  'deadlines armed before a SIGKILL fire once, after the restart, also when the firing was being applied at the kill',
  async () => {
    const TICKETS = 5;
    const deployment = await deploy('restart', { HANDOVER_ASSIGN_TIMEOUT_S: '1', HANDOVER_MAX_ESCALATIONS: '1', QUEUE_UPDATE_INTERVAL_S: '600' });
    const { stack, sql } = deployment;
    const updates = (reason: string) =>
      stack.crm
        .to('/api/bot/ticket-update')
        .map((request) => request.body as { ticketId: string; reason: string })
        .filter((body) => body.reason === reason);
    await explained(deployment, async () => {
      // First life: opens the tickets and arms their assignment deadlines, which its scheduler cannot fire.
      await deployment.start(NO_SECOND_POLL);
      const phones = Array.from({ length: TICKETS }, (_, n) => `5730000004${String(n).padStart(2, '0')}`);
      const ticketIds = await Promise.all(phones.map((phone) => openTicketFor(stack, phone, ACTIVE_SUBSCRIBER)));
      await deployment.settled();
      await deployment.kill();
      const [armed] = await sql`select count(*)::int as n from timers where timer = 'assign' and enqueued_at is null`;
      expect(armed!.n).toBe(TICKETS);
      // Every deadline falls due while nobody runs.
      await eventually(async () => (await sql`select bool_and(due_at < now()) as due from timers where timer = 'assign'`)[0]!.due === true, 'deadlines due');

      // Second life: its first poll fires them all; it is killed while the worker's batch of firings waits at its commit.
      const gate = await closeCommitGate(sql);
      await deployment.start(NO_SECOND_POLL);
      await gate.held();
      await deployment.kill();
      await gate.release();
      expect(await sql`select id from ticket_events where type = 'escalated'`).toHaveLength(0);

      // Third life: replays the firings its predecessor had read; each ticket escalates once. Killed with the fallback armed.
      await deployment.start(NO_SECOND_POLL);
      await eventually(() => new Set(updates('escalated').map((update) => update.ticketId)).size === TICKETS, 'every escalation', 15_000);
      await deployment.settled();
      await deployment.kill();

      // Fourth life: fires the fallbacks.
      await deployment.start();
      await eventually(() => new Set(updates('fallback').map((update) => update.ticketId)).size === TICKETS, 'every fallback', 15_000);
      await eventually(async () => (await sql`select id from timers`).length === 0, 'no deadline left');
      await deployment.settled();

      const fired = await sql`
      select t.id, t.requested_at, e.at from tickets t join ticket_events e on e.ticket_id = t.id and e.type = 'escalated' order by t.id`;
      expect(fired.map((row) => row.id)).toEqual([...ticketIds].sort());
      // Late, never early.
      for (const row of fired) expect((row.at as Date).getTime()).toBeGreaterThanOrEqual((row.requested_at as Date).getTime() + 1000);
      const history = await sql`select ticket_id, type, count(*)::int as n from ticket_events where type in ('escalated', 'closed') group by 1, 2`;
      expect(history).toHaveLength(TICKETS * 2);
      expect(history.every((row) => row.n === 1)).toBe(true);
      expect(updates('escalated')).toHaveLength(TICKETS);
      expect(updates('fallback')).toHaveLength(TICKETS);
      expect(await deployment.stop()).toBe(0);
    });
  },
  90_000,
);

test.concurrent(
  'messages in both directions across a SIGKILL arrive once each, also those being applied at the kill',
  async () => {
    const MESSAGES = 30;
    const KILL_AT = 15;
    // A short HTTP timeout keeps the lease of rows left in flight by the killed process (3 × the timeout) short. A send
    // in flight at the kill is in doubt: it is sent again only if no status says it went out within the reconcile
    // window, and the restart plus that status took more than a second on a machine with every core busy.
    const deployment = await deploy('restart_traffic', { WHATSAPP_RECONCILE_MS: '5000', HANDOVER_ASSIGN_TIMEOUT_S: '600', HTTP_TIMEOUT_MS: '1000' });
    const { stack, sql } = deployment;
    const { crm, graph } = stack;
    // Like WhatsApp: every accepted send is followed by its signed status webhook, retried until taken.
    graph.respond((request) => {
      const body = request.body as { to: string; biz_opaque_callback_data?: string };
      const id = `wamid.restart.${graph.requests.length}`;
      void (async () => {
        for (let tries = 0; tries < 100; tries++) {
          const done = await sendStatus(stack, { id, recipient: body.to, status: 'sent', callbackData: body.biz_opaque_callback_data }).then(
            () => true,
            () => false,
          );
          if (done) return;
          await Bun.sleep(200);
        }
      })();
      return Response.json({ messaging_product: 'whatsapp', messages: [{ id }] });
    });
    await explained(deployment, async () => {
      await deployment.start();
      const tickets = await Promise.all(
        [0, 1, 2].map(async (n) => {
          const phone = `5730000005${String(n).padStart(2, '0')}`;
          return { phone, ticketId: await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER) };
        }),
      );
      /** Like Meta and the CRM: retried until the service answers 200. */
      const untilAccepted = async (send: () => Promise<unknown>) => {
        while (
          !(await send().then(
            () => true,
            () => false,
          ))
        )
          await Bun.sleep(200);
      };
      const sends: Promise<void>[] = [];
      for (let n = 0; n < MESSAGES; n++) {
        const gate = n === KILL_AT ? await closeCommitGate(sql) : null;
        const { phone, ticketId } = tickets[n % 3]!;
        sends.push(untilAccepted(() => sendUser(stack, phone, text(`usuario ${n}`), { id: `wamid.restart.user.${n}` })));
        sends.push(
          untilAccepted(async () => {
            const body = { ticketId, userPhone: phone, message: `agente ${n}`, messageType: 'text' };
            const { status } = await crmCall(stack, 'POST', '/api/crm/send-message', body, { 'Idempotency-Key': `restart-agent-${n}` });
            if (status !== 200) throw new Error(String(status));
          }),
        );
        if (gate) {
          // Killed with a batch applied and not committed: its entries must come back, not be lost as acknowledged.
          await gate.held();
          await deployment.kill();
          await gate.release();
          await deployment.start();
        }
        await Bun.sleep(30);
      }
      await Promise.all(sends);
      const atCrm = (n: number) =>
        new Set(
          crm
            .to('/api/bot/user-message')
            .filter((r) => (r.body as any).message === `usuario ${n}`)
            .map((r) => r.headers.get('idempotency-key')),
        ).size;
      const atGraph = (n: number) => graph.requests.filter((r) => r.status === 200 && (r.body as any)?.text?.body === `agente ${n}`).length;
      await eventually(() => Array.from({ length: MESSAGES }, (_, n) => atCrm(n) >= 1 && atGraph(n) >= 1).every(Boolean), 'every message delivered', 30_000);
      await deployment.settled(20_000);
      expect(Array.from({ length: MESSAGES }, (_, n) => [atCrm(n), atGraph(n)])).toEqual(Array.from({ length: MESSAGES }, () => [1, 1]));
      expect(await deployment.stop()).toBe(0);
    });
  },
  90_000,
);
