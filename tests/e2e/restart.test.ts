import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import postgres from 'postgres';
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
  SECRETS,
  sendStatus,
  sendUser,
  text,
  type TestStack,
} from '../support/harness';

/**
 * Deadlines survive a crash: the service is SIGKILLed with escalation
 * deadlines armed for several tickets, stays down while they fall due, and
 * the restarted process fires each one once, late by no more than the
 * downtime plus one second. A second kill between the escalation and the
 * fallback shows that a fired deadline does not fire again.
 */
const ASSIGN_TIMEOUT_S = 4;
const TICKETS = 5;
const root = join(import.meta.dir, '../..');
const startCommand = ((await Bun.file(join(root, 'package.json')).json()) as { scripts: { start: string } }).scripts.start.split(' ');

const crm = startFakeCrm();
const graph = startFakeGraph();
const directory = startFakeDirectory(DIRECTORY);
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: postgres.Sql;
const port = 20000 + Math.floor(Math.random() * 20000);
const logs: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('restart');
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await sql.end();
  await database.drop();
  await Promise.all([crm.stop(), graph.stop(), directory.stop()]);
});

function startService(extra: Record<string, string> = {}) {
  const child = Bun.spawn(startCommand, {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      LOG_LEVEL: 'info',
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: `hbtest:restart:${process.pid}:`,
      CONSUMER_NAME: 'restart-test',
      ...fakesEnvironment({ crm, graph, directory }),
      HANDOVER_ASSIGN_TIMEOUT_S: String(ASSIGN_TIMEOUT_S),
      HANDOVER_MAX_ESCALATIONS: '1',
      QUEUE_UPDATE_INTERVAL_S: '600',
      ...extra,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  void new Response(child.stdout).text().then((out) => logs.push(out));
  return child;
}

async function ready(): Promise<number> {
  await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200, 'readiness', 30_000);
  return Date.now();
}

const updates = (reason: string) =>
  crm
    .to('/api/bot/ticket-update')
    .map((request) => request.body as { ticketId: string; reason: string })
    .filter((body) => body.reason === reason);

test('deadlines armed before a SIGKILL fire once after the restart, late by at most the downtime plus one second', async () => {
  let child = startService();
  try {
    await ready();
    const stack = { service: { url: `http://127.0.0.1:${port}` }, crm, graph, directory } as unknown as TestStack;
    const ticketIds: string[] = [];
    for (let n = 0; n < TICKETS; n++) ticketIds.push(await openTicketFor(stack, `5730000004${String(n).padStart(2, '0')}`, '2020202020'));
    const armed = await sql`select count(*)::int as n from timers where timer = 'assign'`;
    expect(armed[0]!.n).toBe(TICKETS);

    child.kill('SIGKILL');
    await child.exited;
    const killedAt = Date.now();
    // Down for longer than the deadline: every one falls due while nobody runs.
    await Bun.sleep(ASSIGN_TIMEOUT_S * 1000 + 500);
    child = startService();
    const readyAt = await ready();
    const downtimeMs = readyAt - killedAt;

    await eventually(() => new Set(updates('escalated').map((update) => update.ticketId)).size === TICKETS, 'every escalation', 15_000);
    const fired = await sql`
        select t.id, t.requested_at, e.at from tickets t join ticket_events e on e.ticket_id = t.id and e.type = 'escalated' order by t.id`;
    expect(fired.map((row) => row.id)).toEqual([...ticketIds].sort());
    for (const row of fired) {
      const lateMs = (row.at as Date).getTime() - ((row.requested_at as Date).getTime() + ASSIGN_TIMEOUT_S * 1000);
      expect(lateMs).toBeGreaterThanOrEqual(0);
      expect(lateMs).toBeLessThanOrEqual(downtimeMs + 1000);
    }

    // Killed again with the next deadline (the fallback) armed: it too fires once, and the escalation not again.
    child.kill('SIGKILL');
    await child.exited;
    child = startService();
    await ready();
    await eventually(() => new Set(updates('fallback').map((update) => update.ticketId)).size === TICKETS, 'every fallback', 20_000);
    await Bun.sleep(1500);
    const history = await sql`select ticket_id, type, count(*)::int as n from ticket_events where type in ('escalated', 'closed') group by 1, 2`;
    expect(history).toHaveLength(TICKETS * 2);
    expect(history.every((row) => row.n === 1)).toBe(true);
    expect(updates('escalated')).toHaveLength(TICKETS);
    expect(updates('fallback')).toHaveLength(TICKETS);
    const leftover = await sql`select id from timers`;
    expect(leftover).toHaveLength(0);
  } catch (error) {
    child.kill('SIGKILL');
    await child.exited;
    await Bun.sleep(100);
    console.error(logs.join('\n').split('\n').slice(-40).join('\n'));
    throw error;
  }
  child.kill('SIGTERM');
  expect(await child.exited).toBe(0);
}, 90_000);

test('messages in both directions across a SIGKILL arrive once each', async () => {
  // A short HTTP timeout keeps the lease of rows left in flight by the killed process (3 × the timeout) short.
  const extra = { WHATSAPP_RECONCILE_MS: '2000', HANDOVER_ASSIGN_TIMEOUT_S: '600', HTTP_TIMEOUT_MS: '1500' };
  const url = `http://127.0.0.1:${port}`;
  const stack = { service: { url }, crm, graph, directory } as unknown as TestStack;
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
  let child = startService(extra);
  try {
    await ready();
    const tickets: { phone: string; ticketId: string }[] = [];
    for (let n = 0; n < 3; n++) {
      const phone = `5730000005${String(n).padStart(2, '0')}`;
      tickets.push({ phone, ticketId: await activeTicketFor(stack, phone, '2020202020') });
    }
    /** Like Meta and the CRM: retried until the service answers 200. */
    const untilAccepted = async (send: () => Promise<unknown>) => {
      for (;;) {
        if (
          await send().then(
            () => true,
            () => false,
          )
        )
          return;
        await Bun.sleep(200);
      }
    };
    const sends: Promise<void>[] = [];
    for (let n = 0; n < 30; n++) {
      const { phone, ticketId } = tickets[n % 3]!;
      sends.push(untilAccepted(() => sendUser(stack, phone, text(`usuario ${n}`), { id: `wamid.restart.user.${n}` })));
      sends.push(
        untilAccepted(async () => {
          const { status } = await crmCall(
            stack,
            'POST',
            '/api/crm/send-message',
            { ticketId, userPhone: phone, message: `agente ${n}`, messageType: 'text' },
            {
              'Idempotency-Key': `restart-agent-${n}`,
            },
          );
          if (status !== 200) throw new Error(String(status));
        }),
      );
      if (n === 15) {
        child.kill('SIGKILL');
        await child.exited;
        child = startService(extra);
        await ready();
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
    await eventually(() => Array.from({ length: 30 }, (_, n) => atCrm(n) >= 1 && atGraph(n) >= 1).every(Boolean), 'every message delivered', 30_000);
    await Bun.sleep(3000);
    expect(Array.from({ length: 30 }, (_, n) => [atCrm(n), atGraph(n)])).toEqual(Array.from({ length: 30 }, () => [1, 1]));
  } finally {
    graph.respond(null);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }
}, 90_000);
