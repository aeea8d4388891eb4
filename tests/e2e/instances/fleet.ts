import { join } from 'node:path';
import postgres from 'postgres';
import { startFakeCrm, startFakeDirectory, startFakeGraph } from '../../support/fakes';
import {
  activeTicketFor,
  createTestDatabase,
  crmCall,
  eventually,
  fakesEnvironment,
  REDIS_URL,
  sendStatus,
  sendUser,
  text,
  type TestStack,
} from '../../support/harness';

/**
 * Several instances of the service as child processes (the start command)
 * on one Redis and one Postgres, behind a round-robin balancer on loopback,
 * with the CRM, Graph API and directory fakes. The Graph fake behaves like
 * WhatsApp: each accepted send is followed by its signed status webhook.
 */

const root = join(import.meta.dir, '../../..');
const startCommand = ((await Bun.file(join(root, 'package.json')).json()) as { scripts: { start: string } }).scripts.start.split(' ');

export const PARTITIONS = 8;
export const LEASE_TTL_MS = 1500;

export interface Instance {
  name: string;
  port: number;
  url: string;
  child: ReturnType<typeof Bun.spawn>;
  /** Every log line (JSON) the process wrote so far. */
  logs: string[];
}

export interface Health {
  status: string;
  partitions: { owned: number[]; leaseAgeMs: Record<string, number>; takeovers: number };
}

export interface Conversation {
  phone: string;
  ticketId: string;
}

const freePort = () => {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
};

/** `freshDatabase`: one nothing has migrated yet, for a test of the instances' own migrations. */
export async function startFleet(label: string, options: { redisUrl?: string; env?: Record<string, string>; freshDatabase?: boolean } = {}) {
  const database = await createTestDatabase(label, { fresh: options.freshDatabase });
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  const crm = startFakeCrm();
  const graph = startFakeGraph();
  const directory = startFakeDirectory({ '2020202020': { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false } });
  const prefix = `hbtest:${label}:${process.pid}:${Date.now().toString(36)}:`;
  const instances = new Map<string, Instance>();
  let turn = 0;

  /** Like a load balancer with a health check: round robin over the instances that run, the next one if a call fails. */
  const balancer = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const body = request.method === 'GET' ? undefined : await request.arrayBuffer();
      const live = [...instances.values()];
      for (let tried = 0; tried < live.length; tried++) {
        const instance = live[turn++ % live.length]!;
        try {
          const response = await fetch(`${instance.url}${path}`, { method: request.method, headers: request.headers, body, signal: AbortSignal.timeout(3000) });
          return new Response(await response.arrayBuffer(), { status: response.status, headers: response.headers });
        } catch {
          // Down or frozen: the next one.
        }
      }
      return new Response('no instance answered', { status: 502 });
    },
  });
  const stack = { service: { url: `http://127.0.0.1:${balancer.port}` }, crm, graph, directory } as unknown as TestStack;

  graph.respond((request) => {
    const body = request.body as { to: string; biz_opaque_callback_data?: string };
    const id = `wamid.fleet.${graph.requests.length}`;
    void (async () => {
      for (let tries = 0; tries < 200; tries++) {
        const sent = await sendStatus(stack, { id, recipient: body.to, status: 'sent', callbackData: body.biz_opaque_callback_data }).then(
          () => true,
          () => false,
        );
        if (sent) return;
        await Bun.sleep(200);
      }
    })();
    return Response.json({ messaging_product: 'whatsapp', messages: [{ id }] });
  });

  function start(name: string, env: Record<string, string> = {}): Instance {
    const port = freePort();
    const child = Bun.spawn(startCommand, {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: String(port),
        LOG_LEVEL: 'info',
        DATABASE_URL: database.url,
        REDIS_URL: options.redisUrl ?? REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        CONSUMER_NAME: name,
        STREAM_PARTITIONS: String(PARTITIONS),
        PARTITION_LEASE_TTL_MS: String(LEASE_TTL_MS),
        ...fakesEnvironment({ crm, graph, directory }),
        HTTP_TIMEOUT_MS: '1500',
        WHATSAPP_RECONCILE_MS: '3000',
        HANDOVER_ASSIGN_TIMEOUT_S: '600',
        QUEUE_UPDATE_INTERVAL_S: '600',
        CRM_RATE_LIMIT_PER_MINUTE: '1000000',
        ...options.env,
        ...env,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const instance: Instance = { name, port, url: `http://127.0.0.1:${port}`, child, logs: [] };
    for (const stream of [child.stdout, child.stderr]) {
      void (async () => {
        const decoder = new TextDecoder();
        let rest = '';
        for await (const chunk of stream as ReadableStream<Uint8Array>) {
          const lines = (rest + decoder.decode(chunk)).split('\n');
          rest = lines.pop() ?? '';
          instance.logs.push(...lines);
        }
      })();
    }
    instances.set(name, instance);
    return instance;
  }

  async function health(instance: Instance): Promise<Health | undefined> {
    const response = await fetch(`${instance.url}/health/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    return response?.status === 200 ? ((await response.json()) as Health) : undefined;
  }

  /** Resolves with the instance's readiness; rejects at once, with its last log lines, if it exits first. */
  const ready = (instance: Instance, timeoutMs = 30_000) =>
    Promise.race([
      eventually(() => health(instance), `${instance.name} ready`, timeoutMs),
      instance.child.exited.then((code) => {
        throw new Error(`${instance.name} exited with ${code} before it was ready:\n${instance.logs.slice(-10).join('\n')}`);
      }),
    ]);

  /** Stops an instance with a signal and forgets it; resolves with its exit code. */
  async function stop(instance: Instance, signal: 'SIGTERM' | 'SIGKILL'): Promise<number> {
    instances.delete(instance.name);
    instance.child.kill(signal);
    return instance.child.exited;
  }

  /** Who owns what, as the running instances say: partition → the names claiming it. */
  async function ownership(): Promise<Map<number, string[]>> {
    const owners = new Map<number, string[]>();
    for (const instance of instances.values()) {
      for (const partition of (await health(instance))?.partitions.owned ?? []) owners.set(partition, [...(owners.get(partition) ?? []), instance.name]);
    }
    return owners;
  }

  /** Every partition owned by exactly one running instance. */
  async function exclusivelyOwned(): Promise<Map<number, string> | undefined> {
    const owners = await ownership();
    if (owners.size !== PARTITIONS || [...owners.values()].some((names) => names.length !== 1)) return undefined;
    return new Map([...owners].map(([partition, [name]]) => [partition, name!]));
  }

  async function openConversations(count: number): Promise<Conversation[]> {
    const conversations: Conversation[] = [];
    for (let n = 0; n < count; n++) {
      const phone = `5731${label.length}${String(n).padStart(7, '0')}`;
      conversations.push({ phone, ticketId: await activeTicketFor(stack, phone, '2020202020') });
    }
    return conversations;
  }

  /** Like Meta and the CRM: retried until the service answers 200. */
  async function untilAccepted(send: () => Promise<unknown>): Promise<void> {
    for (;;) {
      if (
        await send().then(
          () => true,
          () => false,
        )
      )
        return;
      await Bun.sleep(100);
    }
  }

  /**
   * Traffic both ways on every conversation, each message sent once the one
   * before it was accepted (so the stream order is the sending order), until
   * `until` resolves. Returns how many rounds each conversation got.
   */
  async function converse(conversations: Conversation[], until: Promise<unknown>, pauseMs = 40): Promise<Map<string, number>> {
    let going = true;
    void until.finally(() => {
      going = false;
    });
    const rounds = new Map<string, number>();
    await Promise.all(
      conversations.map(async ({ phone, ticketId }) => {
        let n = 0;
        while (going) {
          await untilAccepted(() => sendUser(stack, phone, text(`u:${phone}:${n}`), { id: `wamid.fleet.${phone}.${n}` }));
          await untilAccepted(async () => {
            const { status } = await crmCall(
              stack,
              'POST',
              '/api/crm/send-message',
              { ticketId, userPhone: phone, message: `a:${phone}:${n}`, messageType: 'text' },
              { 'Idempotency-Key': `fleet-${phone}-${n}` },
            );
            if (status !== 200) throw new Error(String(status));
          });
          n++;
          rounds.set(phone, n);
          await Bun.sleep(pauseMs);
        }
      }),
    );
    return rounds;
  }

  /** What reached the fakes for one conversation: message numbers in first-arrival order, and how many arrived more than once. */
  function received(phone: string) {
    const atCrm = new Map<number, Set<string>>();
    for (const request of crm.to('/api/bot/user-message')) {
      const body = request.body as { userPhone: string; message: string };
      const match = /^u:\d+:(\d+)$/.exec(body.message);
      if (body.userPhone !== phone || !match) continue;
      const keys = atCrm.get(Number(match[1])) ?? new Set<string>();
      keys.add(request.headers.get('idempotency-key') ?? '');
      atCrm.set(Number(match[1]), keys);
    }
    const atGraph = new Map<number, number>();
    for (const request of graph.requests) {
      const body = request.body as { to: string; text?: { body: string } };
      const match = /^a:\d+:(\d+)$/.exec(body?.text?.body ?? '');
      if (request.status !== 200 || body.to !== phone || !match) continue;
      atGraph.set(Number(match[1]), (atGraph.get(Number(match[1])) ?? 0) + 1);
    }
    return {
      crmOrder: [...atCrm.keys()],
      graphOrder: [...atGraph.keys()],
      crmDuplicates: [...atCrm.values()].filter((keys) => keys.size > 1).length,
      graphDuplicates: [...atGraph.values()].filter((count) => count > 1).length,
    };
  }

  /** Waits until every message sent reached its fake, then says what arrived: nothing lost, twice, or out of order. */
  async function delivered(rounds: Map<string, number>) {
    const expected = (phone: string) => Array.from({ length: rounds.get(phone) ?? 0 }, (_, n) => n);
    await eventually(
      () =>
        [...rounds.keys()].every((phone) => received(phone).crmOrder.length >= rounds.get(phone)! && received(phone).graphOrder.length >= rounds.get(phone)!),
      'every message delivered',
      40_000,
    ).catch(() => undefined);
    return [...rounds.keys()].map((phone) => {
      const got = received(phone);
      return {
        phone,
        crmInOrder: JSON.stringify(got.crmOrder) === JSON.stringify(expected(phone)),
        graphInOrder: JSON.stringify(got.graphOrder) === JSON.stringify(expected(phone)),
        duplicates: got.crmDuplicates + got.graphDuplicates,
      };
    });
  }

  /** Log lines of one instance with a given `event` field. */
  const events = (instance: Instance, event: string) =>
    instance.logs.flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as { event?: string };
        return parsed.event === event ? [parsed as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });

  async function close(): Promise<void> {
    for (const instance of instances.values()) instance.child.kill('SIGKILL');
    await Promise.all([...instances.values()].map((instance) => instance.child.exited));
    instances.clear();
    balancer.stop(true);
    graph.respond(null);
    await sql.end();
    await Promise.all([crm.stop(), graph.stop(), directory.stop()]);
    await database.drop();
  }

  /** On a failure, the last lines of every instance's log help more than the assertion alone. */
  const dumpLogs = (all: Instance[]) => {
    for (const instance of all) console.error(`--- ${instance.name}\n${instance.logs.slice(-25).join('\n')}`);
  };

  return {
    database,
    sql,
    crm,
    graph,
    stack,
    prefix,
    start,
    ready,
    stop,
    health,
    ownership,
    exclusivelyOwned,
    openConversations,
    converse,
    delivered,
    events,
    close,
    dumpLogs,
  };
}

export type Fleet = Awaited<ReturnType<typeof startFleet>>;
