/**
 * What one soak phase runs on: a database of its own, a redis-server of its
 * own (AOF everysec, as production runs it; never the shared one), and one or
 * more instances of the service as child processes (the start command)
 * sharing both, each on its own port, pointed at the loopback fakes.
 */
import { join } from 'node:path';
import postgres from 'postgres';
import { startPrivateRedis } from '../../tests/support/private-redis';
import { childEnvironment, waitReady } from '../support';
import type { SoakFakes } from './fakes';
import { freePort } from '../../tests/support/ports';

const ROOT = join(import.meta.dir, '../..');
export const SECRETS = { crm: 'soak-crm-token', meta: 'soak-meta-secret' };

export interface Instance {
  name: string;
  port: number;
  child: ReturnType<typeof Bun.spawn>;
}

/** SERVICE_X=v in the benchmark's environment sets X=v for the service: to try a setting without editing the benchmark. */
const serviceOverrides = () =>
  Object.fromEntries(Object.entries(process.env).flatMap(([name, value]) => (name.startsWith('SERVICE_') && value !== undefined ? [[name.slice(8), value]] : [])));

/**
 * Warnings and errors the instances logged, by `event`: the first few are
 * echoed, the rest counted (a flood of one line would drown the run's own).
 */
function logCounter() {
  const counts = new Map<string, number>();
  const follow = (name: string, stream: ReadableStream<Uint8Array>) =>
    void (async () => {
      const decoder = new TextDecoder();
      let rest = '';
      for await (const chunk of stream) {
        const lines = (rest + decoder.decode(chunk)).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines.filter(Boolean)) {
          let event = 'unparsed';
          try {
            const parsed = JSON.parse(line) as { event?: string; msg?: string };
            event = parsed.event ?? parsed.msg ?? 'no event';
          } catch {
            // A line that is not JSON (a crash's stack) is counted as such and echoed below.
          }
          const seen = (counts.get(event) ?? 0) + 1;
          counts.set(event, seen);
          if (seen <= 3) console.error(`[${name}] ${line.slice(0, 400)}`);
        }
      }
    })();
  return { counts, follow };
}

export async function startStack(options: { tag: string; adminUrl: string; fakes: SoakFakes; env: Record<string, string> }) {
  const databaseName = `hb_soak_${options.tag}_${Date.now().toString(36)}`;
  const admin = postgres(options.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${databaseName}`);
  const databaseUrl = options.adminUrl.replace(/\/[^/]*$/, `/${databaseName}`);
  const redis = await startPrivateRedis('everysec');
  const prefix = `hbsoak:${options.tag}:`;
  const logs = logCounter();
  const instances: Instance[] = [];
  const { fakes } = options;

  async function start(count: number): Promise<Instance[]> {
    const started = Array.from({ length: count }, (_, n) => {
      const port = freePort();
      const name = `soak-${options.tag}-${n}`;
      const child = Bun.spawn(['bun', 'src/index.ts'], {
        cwd: ROOT,
        env: childEnvironment({
          PORT: String(port),
          LOG_LEVEL: 'warn',
          DATABASE_URL: databaseUrl,
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: prefix,
          CONSUMER_NAME: name,
          CRM_BASE_URL: `http://127.0.0.1:${fakes.crm.port}`,
          CRM_API_TOKEN: SECRETS.crm,
          BOT_API_TOKEN: 'soak-bot',
          BOT_SIGNING_SECRET: 'soak-signing',
          META_WEBHOOK_SECRET: SECRETS.meta,
          WEBHOOK_VERIFY_TOKEN: 'verify',
          WHATSAPP_API_URL: `http://127.0.0.1:${fakes.graph.port}/v21.0`,
          WHATSAPP_TOKEN: 'graph-token',
          WHATSAPP_PHONE_NUMBER_ID: '1234567890',
          CUSTOMER_LOOKUP_URL: `http://127.0.0.1:${fakes.directory.port}/customers`,
          // The CRM is one client address; a desk at peak is far above its default budget.
          CRM_RATE_LIMIT_PER_MINUTE: '10000000',
          // Nobody escalates or abandons within a soak: the agents answer, the users are there.
          HANDOVER_ASSIGN_TIMEOUT_S: '86400',
          AGENT_REPLY_TIMEOUT_S: '86400',
          QUEUE_UPDATE_INTERVAL_S: '86400',
          USER_ABANDON_TIMEOUT_S: '86400',
          ...options.env,
          ...serviceOverrides(),
        }),
        stdout: 'pipe',
        stderr: 'pipe',
      });
      logs.follow(name, child.stdout as ReadableStream<Uint8Array>);
      logs.follow(name, child.stderr as ReadableStream<Uint8Array>);
      return { name, port, child };
    });
    instances.push(...started);
    await Promise.all(started.map((instance) => waitReady(instance.port, 120_000)));
    return started;
  }

  async function stopInstances(): Promise<void> {
    for (const instance of instances) instance.child.kill('SIGTERM');
    await Promise.all(instances.map((instance) => instance.child.exited));
    instances.length = 0;
  }

  return {
    databaseName,
    databaseUrl,
    redisUrl: redis.url,
    prefix,
    instances,
    /** Warn and error lines of every instance so far, by event. */
    logCounts: logs.counts,
    start,
    stopInstances,
    async stop() {
      await stopInstances();
      await redis.stop();
      // KEEP_DATABASE=1 leaves it for EXPLAIN ANALYZE.
      if (process.env.KEEP_DATABASE === '1') console.log(`kept database ${databaseName}`);
      else await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
      await admin.end();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

export async function rssOf(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}
