import { mkdtempSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import Redis from 'ioredis';
import { join } from 'node:path';
import { DEMO_CUSTOMERS, upsertCustomers } from '../cli/customers';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { startService, type Service } from '../index';
import { loggerFromSettings } from '../logger';
import { isLoopback, simulatorRoutes } from './routes';
import { startStandIns } from './stand-ins';
import { createWorld } from './world';

/** Demo secrets: the service checks them exactly as in production, the stand-ins and the simulator sign with them. */
const SECRETS = {
  CRM_API_TOKEN: 'demo-crm-token',
  BOT_API_TOKEN: 'demo-bot-token',
  BOT_SIGNING_SECRET: 'demo-bot-signing-secret',
  META_WEBHOOK_SECRET: 'demo-meta-app-secret',
  WEBHOOK_VERIFY_TOKEN: 'demo-verify-token',
  WHATSAPP_TOKEN: 'demo-whatsapp-token',
  METRICS_TOKEN: 'demo-metrics-token',
  ADMIN_TOKEN: 'demo-admin-token',
};
const PHONE_NUMBER_ID = '100000000000001';
/** Minutes become seconds, so escalations, reminders and timeouts happen while someone watches. */
const SHORT_DEADLINES = {
  HANDOVER_ASSIGN_TIMEOUT_S: '60',
  HANDOVER_MAX_ESCALATIONS: '1',
  AGENT_REPLY_TIMEOUT_S: '90',
  QUEUE_UPDATE_INTERVAL_S: '30',
  USER_ABANDON_TIMEOUT_S: '300',
  SURVEY_TIMEOUT_S: '120',
};
const AGENT = { id: 'agent_demo', name: 'María González' };
const LOOPBACK = '127.0.0.1';

export interface Demo extends Service {
  dataDir: string;
  /** The address it listens on (DEMO_HOST). */
  listenHost: string;
}

/**
 * The real service on an embedded PGlite in a fresh directory, with the demo
 * subscribers, and loopback stand-ins for Graph and the CRM; on a private
 * redis-server in that directory too, unless REDIS_URL names one. Only PORT,
 * REDIS_URL, DEMO_HOST, LOG_LEVEL and LOG_FORMAT are read from `env`: a demo never picks up a real
 * deployment's secrets or database. It listens on DEMO_HOST, loopback unless told otherwise: its
 * secrets are in this file and its simulator drives the service without a login. `deadlines`
 * shortens the demo's own further (tests that watch an escalation happen).
 */
export async function startDemo(env: Record<string, string | undefined>, deadlines: Partial<Record<keyof typeof SHORT_DEADLINES, string>> = {}): Promise<Demo> {
  const listenHost = env.DEMO_HOST || LOOPBACK;
  if (isIP(listenHost) === 0)
    throw new ConfigError([`DEMO_HOST: ${JSON.stringify(listenHost)} is not an IP address (${LOOPBACK}, or 0.0.0.0 for every interface)`]);
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-demo-'));
  const world = createWorld();
  let serviceUrl = '';
  const standIns = startStandIns({
    world,
    whatsappToken: SECRETS.WHATSAPP_TOKEN,
    phoneNumberId: PHONE_NUMBER_ID,
    botApiToken: SECRETS.BOT_API_TOKEN,
    botSigningSecret: SECRETS.BOT_SIGNING_SECRET,
    metaWebhookSecret: SECRETS.META_WEBHOOK_SECRET,
    serviceUrl: () => serviceUrl,
    agent: AGENT,
  });
  try {
    const config = loadConfig({
      PORT: env.PORT,
      REDIS_URL: env.REDIS_URL,
      LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
      LOG_FORMAT: env.LOG_FORMAT,
      NODE_ENV: 'development',
      DEMO_MODE: 'true',
      DATA_DIR: dataDir,
      REDIS_KEY_PREFIX: `hb-demo:${process.pid}:${Date.now().toString(36)}:`,
      CRM_BASE_URL: standIns.crmUrl,
      WHATSAPP_API_URL: standIns.graphUrl,
      WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
      ...SECRETS,
      ...SHORT_DEADLINES,
      ...deadlines,
    });
    const seeding = await openDatabase({ databaseUrl: '', dataDir });
    await upsertCustomers(seeding.db, DEMO_CUSTOMERS).finally(() => seeding.close());
    const demoRoutes = simulatorRoutes({
      world,
      serviceUrl: () => serviceUrl,
      crmApiToken: SECRETS.CRM_API_TOKEN,
      metaWebhookSecret: SECRETS.META_WEBHOOK_SECRET,
      phoneNumberId: PHONE_NUMBER_ID,
      agent: AGENT,
      loopbackOnly: isLoopback(listenHost),
    });
    const service = await startService(config, loggerFromSettings(config), { demoRoutes, listenHost });
    serviceUrl = service.url;
    return {
      ...service,
      dataDir,
      listenHost,
      async stop() {
        await service.stop();
        standIns.stop();
        rmSync(dataDir, { recursive: true, force: true });
        // A private redis-server (no REDIS_URL) kept its files in dataDir, gone with it.
        if (config.REDIS_URL) await forgetRedisKeys(config.REDIS_URL, config.REDIS_KEY_PREFIX);
      },
    };
  } catch (error) {
    standIns.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Each run has its own key prefix (its database is fresh too): what it left in Redis goes with it. */
async function forgetRedisKeys(url: string, prefix: string) {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) if (keys.length > 0) await redis.unlink(...keys);
  } finally {
    redis.disconnect();
  }
}

async function main() {
  let demo: Demo;
  try {
    demo = await startDemo(process.env);
  } catch (error) {
    for (const line of error instanceof ConfigError ? error.problems : [(error as Error).message]) console.error(`demo: ${line}`);
    process.exit(1);
  }
  const local = isLoopback(demo.listenHost);
  const base = local ? `http://localhost:${demo.port}` : demo.url;
  console.log(`demo ready: ${base}/simulator (subscriber and agent), ${base}/docs (the API), ${base}/dashboard (KPIs, token ${SECRETS.METRICS_TOKEN})`);
  console.log(
    local
      ? `listening on ${demo.listenHost} only: other machines cannot reach it (DEMO_HOST=0.0.0.0 opens it to the network, with the demo's secrets and the simulator's login-free API)`
      : `listening on ${demo.listenHost}: other machines can reach it, and the simulator's API has no login`,
  );
  const stop = () => demo.stop().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.main) await main();
