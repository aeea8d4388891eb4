import { join } from 'node:path';
import Redis from 'ioredis';
import postgres from 'postgres';
import { streamKeys } from '../../../src/streams/codec';
import { startFakeCrm, startFakeDirectory, startFakeGraph } from '../../support/fakes';
import { freePort } from '../../support/ports';
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
        // Below the balancer's 3 s: while a killed owner's partitions move, the CRM hears 202 and retries, as a CRM would.
        CRM_APPLY_TIMEOUT_MS: '2000',
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

  /** `count` users, each brought to a ticket an agent has taken; all at once, as users would. */
  async function openConversations(count: number): Promise<Conversation[]> {
    return Promise.all(
      Array.from({ length: count }, async (_, n) => {
        const phone = `5731${label.length}${String(n).padStart(7, '0')}`;
        return { phone, ticketId: await activeTicketFor(stack, phone, '2020202020') };
      }),
    );
  }

  /** Like Meta and the CRM: retried until the service answers 200 (true), or while `retrying` says so (false). */
  async function untilAccepted(send: () => Promise<unknown>, retrying: () => boolean): Promise<boolean> {
    while (retrying()) {
      if (
        await send().then(
          () => true,
          () => false,
        )
      )
        return true;
      await Bun.sleep(100);
    }
    return false;
  }

  /** Set by close(): traffic still flowing then stops, so a failed test leaves nothing knocking at a closed fleet. */
  let closed = false;

  /**
   * Traffic both ways on every conversation, each message sent once the one
   * before it was accepted (so the stream order is the sending order), until
   * `stop`. A round is one message each way. `rounds(n)` resolves once every
   * conversation has had `n` more rounds accepted: the test's "while traffic
   * flows", proven rather than slept; `stop` resolves with how many rounds
   * each conversation got.
   */
  function traffic(conversations: Conversation[], pauseMs = 40) {
    let going = true;
    const rounds = new Map<string, number>(conversations.map(({ phone }) => [phone, 0]));
    const waiters: { from: Map<string, number>; more: number; resolve(): void }[] = [];
    const settle = () => {
      for (const waiter of [...waiters]) {
        if ([...rounds].every(([phone, count]) => count - waiter.from.get(phone)! >= waiter.more)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    };
    const flowing = Promise.all(
      conversations.map(async ({ phone, ticketId }) => {
        for (let n = 0; going; n++) {
          // A round begun is finished (a refused try may still have been queued): stop() waits for it.
          const userSent = await untilAccepted(
            () => sendUser(stack, phone, text(`u:${phone}:${n}`), { id: `wamid.fleet.${phone}.${n}` }),
            () => !closed,
          );
          const agentSent = await untilAccepted(
            async () => {
              const { status } = await crmCall(
                stack,
                'POST',
                '/api/crm/send-message',
                { ticketId, userPhone: phone, message: `a:${phone}:${n}`, messageType: 'text' },
                { 'Idempotency-Key': `fleet-${phone}-${n}` },
              );
              if (status !== 200) throw new Error(String(status));
            },
            () => !closed,
          );
          if (!userSent || !agentSent) return;
          rounds.set(phone, n + 1);
          settle();
          await Bun.sleep(pauseMs);
        }
      }),
    );
    return {
      rounds(more: number): Promise<void> {
        const reached = new Promise<void>((resolve) => waiters.push({ from: new Map(rounds), more, resolve }));
        settle();
        return reached;
      },
      async stop(): Promise<Map<string, number>> {
        going = false;
        await flowing;
        return rounds;
      },
    };
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

  /** Every entry of every partition read and acknowledged (a stream nobody wrote to has nothing to read). */
  async function streamsDrained(redis: Redis): Promise<boolean> {
    const keys = streamKeys(prefix);
    let written = 0;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const stream = keys.partition(partition);
      const [last] = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
      if (!last) continue;
      written++;
      const [pending] = (await redis.xpending(stream, keys.group)) as [number];
      const group = ((await redis.xinfo('GROUPS', stream)) as unknown[][]).map((fields) => Object.fromEntries(chunks(fields)));
      if (pending > 0 || group[0]?.['last-delivered-id'] !== last[0]) return false;
    }
    if (written === 0) throw new Error(`no partition stream under ${prefix}: the test sent nothing, or the keys moved`);
    return true;
  }

  /**
   * Nothing left that could still act: no deadline armed, every stream entry
   * applied and acknowledged, every outbox row delivered. What the fakes got
   * by then is final: a second firing or a second send would have to come
   * from one of these. (Only on the default Redis.)
   */
  async function quiescent(): Promise<void> {
    if (options.redisUrl) throw new Error('quiescent() reads the default Redis');
    const redis = new Redis(REDIS_URL);
    try {
      await eventually(async () => {
        const [open] = await sql`select (select count(*) from timers)::int as timers,
          (select count(*) from outbox where status in ('pending', 'in_flight'))::int as outbox`;
        return open!.timers === 0 && open!.outbox === 0 && (await streamsDrained(redis));
      }, 'no deadline armed, no stream entry unapplied, no outbox row undelivered');
    } finally {
      redis.disconnect();
    }
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
    closed = true;
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
    traffic,
    delivered,
    quiescent,
    events,
    close,
    dumpLogs,
  };
}

export type Fleet = Awaited<ReturnType<typeof startFleet>>;

/** [k1, v1, k2, v2...] as [[k1, v1], [k2, v2]...]: how Redis answers XINFO. */
function chunks(fields: unknown[]): [string, unknown][] {
  return Array.from({ length: fields.length / 2 }, (_, index) => [String(fields[2 * index]), fields[2 * index + 1]]);
}
