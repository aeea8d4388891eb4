import { Type, type Static } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { isIP } from 'node:net';
import { parseBusinessHours, parseHolidays } from './domain/business-hours';
import { businessNumbers, type BusinessNumbers } from './domain/business-numbers';
import { PLATFORM_SETTINGS, platformProblems } from './domain/platform-settings';
import { mediaHostProblems } from './domain/media-host-entries';
import { parseRateCard } from './domain/rate-card';
import { TRACING_SETTINGS } from './domain/trace-context';

/**
 * Every setting the service reads, with its default. Names are the external
 * contract of DESIGN 2.5 (plus a few operational knobs): keep them, add only.
 */
const Url = (defaultValue: string) => Type.String({ default: defaultValue, pattern: '^(https?://.+)?$' });
const Secret = () => Type.String({ default: '' });
const Seconds = (defaultValue: number) => Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600, default: defaultValue });
/** A retention in days; a fraction (0.5: twelve hours) for tests and benchmarks. */
const Days = (defaultValue: number) => Type.Number({ exclusiveMinimum: 0, maximum: 36_500, default: defaultValue });
/** Meta redelivers a webhook for up to 7 days: a dedupe record kept less could let one be applied twice. */
const META_REDELIVERY_DAYS = 7;

export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], { default: 'development' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  /** json: one JSON object a line, for log shippers; pretty: one readable line, for a terminal; auto: pretty on a terminal in development. */
  LOG_FORMAT: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], { default: 'auto' }),
  DATABASE_URL: Type.String({ default: '', pattern: '^(postgres(ql)?://.+)?$' }),
  /** Connections to Postgres: one per partition reader in a batch, plus the dispatcher and the routes. */
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 500, default: 10 }),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  /** Where the CRM reaches this service; a user-message's `mediaUrl` is under it. Empty: `http://localhost:${PORT}`. */
  PUBLIC_BASE_URL: Url(''),
  /** Media fetched for the CRM stay on disk (DATA_DIR/media) this long after their first fetch: the life of a ticket. */
  MEDIA_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }),
  /** The media cache's size bound: past it the oldest files are removed (they are fetched again while WhatsApp still has them). */
  MEDIA_CACHE_MAX_BYTES: Type.Integer({ minimum: 1024 * 1024, default: 5 * 1024 * 1024 * 1024 }),
  /**
   * Where a media download may go, with the WhatsApp token, besides WHATSAPP_API_URL's own origin: https only;
   * `host` or `host:port` exactly, `*.domain` for its subdomains. Meta's download host in every example and test is
   * lookaside.fbsbx.com; no wider pattern is confirmed, and the token goes wherever this allows.
   */
  WHATSAPP_MEDIA_HOSTS: Type.String({ default: 'lookaside.fbsbx.com' }),
  /** The whole of one media download, from asking Graph to the last byte stored: a trickling body cannot hold a request longer. */
  MEDIA_DOWNLOAD_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 60_000 }),
  /** Retention of each store that grows with traffic (docs/DATA.md: what, where, how long, why). Dedupe records: past Meta's 7-day redelivery. */
  RETENTION_DEDUPE_DAYS: Days(8),
  /** Delivered outbox rows (their call's body and answer); rows that failed for good are kept as long as dead letters. */
  RETENTION_OUTBOX_DAYS: Days(7),
  /** The history: messages, closed tickets with their events, conversations idle this long (and their ids in Redis). */
  RETENTION_HISTORY_DAYS: Days(365),
  /** KPI rows (no personal data): at least as long as the history. */
  RETENTION_KPI_DAYS: Days(730),
  /** Dead letters and outbox rows that failed for good: what operators inspect and re-drive. */
  RETENTION_DEAD_LETTERS_DAYS: Days(30),
  /** How often the purge looks for what is past its retention (it deletes in small batches, off the hot path). */
  RETENTION_PURGE_INTERVAL_S: Type.Integer({ minimum: 1, maximum: 24 * 3600, default: 60 }),
  /** Rows one purge statement deletes: each a short transaction, so no worker waits on it for long. */
  RETENTION_PURGE_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 100_000, default: 500 }),
  /**
   * One Redis (`redis://host:port`), or a Redis Cluster by some of its nodes (`redis+cluster://host:port,host:port`).
   * Empty: a private `redis-server` from PATH, started and stopped with the service, its AOF under DATA_DIR/redis.
   */
  REDIS_URL: Type.String({ default: '', pattern: '^((rediss?|redis\\+cluster)://.+)?$' }),
  REDIS_KEY_PREFIX: Type.String({ default: 'hb:', minLength: 1 }),
  /**
   * A Redis without AOF loses the events the webhook acknowledged and the worker had not applied when it restarts,
   * and Meta does not resend what got a 200. In production the service refuses to start on one, unless this is true.
   */
  REDIS_ALLOW_NO_AOF: Type.Boolean({ default: false }),
  /** Replicas that must have every event before it is acknowledged (Redis WAIT); 0: the primary's word is enough. */
  REDIS_WAIT_REPLICAS: Type.Integer({ minimum: 0, maximum: 16, default: 0 }),
  /** How long an acknowledgement waits for those replicas; past it the request gets 503 and its sender retries. */
  REDIS_WAIT_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 }),

  CRM_BASE_URL: Url(''),
  CRM_API_TOKEN: Secret(),
  CRM_AGENT_NOTIFICATION_URL: Url(''),
  CRM_META_APP_ID: Type.String({ default: '' }),
  /**
   * How long POST /api/crm/handover and /send-message wait for their event to be applied (committed by the
   * partition's owner) before answering 202 instead of 200 (DESIGN 2.1). 0: never wait (202 unless a retry of
   * an applied request). Well below the CRM's own HTTP timeout, so the CRM hears the 202 rather than give up.
   */
  CRM_APPLY_TIMEOUT_MS: Type.Integer({ minimum: 0, maximum: 30_000, default: 3000 }),
  /** How long the CRM's Idempotency-Key is remembered (Redis, expiring): a retry within it is answered as the first request was. */
  CRM_IDEMPOTENCY_TTL_S: Seconds(24 * 3600),
  /** After a user's phone or BSUID changed on an open ticket (ticket-update `identity_changed`), how long CRM calls may still name the old one. */
  IDENTITY_CHANGE_GRACE_S: Seconds(24 * 3600),
  BOT_API_TOKEN: Secret(),
  BOT_SIGNING_SECRET: Secret(),

  META_WEBHOOK_SECRET: Secret(),
  WEBHOOK_VERIFY_TOKEN: Secret(),
  WHATSAPP_API_URL: Url('https://graph.facebook.com/v21.0'),
  WHATSAPP_TOKEN: Secret(),
  WHATSAPP_PHONE_NUMBER_ID: Type.String({ default: '' }),

  CUSTOMER_LOOKUP_URL: Url(''),
  CUSTOMER_LOOKUP_TOKEN: Secret(),
  EMERGENCY_PHONE: Type.String({ default: '3242156679', pattern: '^\\+?[0-9 ]{5,20}$' }),
  TZ_BUSINESS: Type.String({ default: 'America/Bogota' }),
  BUSINESS_HOURS: Type.String({ default: '' }),
  HOLIDAYS: Type.String({ default: '' }),
  /** Out of hours: still queue the ticket for the next opening (true), or only tell the user (false). */
  OUT_OF_HOURS_QUEUE: Type.Boolean({ default: true }),
  BOT_TEXTS_FILE: Type.String({ default: '' }),
  /** The privacy notice's version (BOT_TEXTS_FILE's `privacyNotice`) recorded per subscriber; empty: a digest of the text (an edit re-sends it). */
  PRIVACY_NOTICE_VERSION: Type.String({ default: '', maxLength: 64 }),
  /** Bearer for /api/admin/* (dead letters, a subscriber's export and erasure); empty: those routes refuse everyone. */
  ADMIN_TOKEN: Secret(),
  /** Bearer for /api/metrics/kpis and the dashboard (empty: refused) and for /metrics (empty: open, keep it internal). */
  METRICS_TOKEN: Secret(),

  HANDOVER_ASSIGN_TIMEOUT_S: Seconds(300),
  HANDOVER_MAX_ESCALATIONS: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
  /** After the re-requests, one more step in a supervisor queue before the emergency-number fallback. */
  HANDOVER_SUPERVISOR_QUEUE: Type.Boolean({ default: false }),
  AGENT_REPLY_TIMEOUT_S: Seconds(300),
  QUEUE_UPDATE_INTERVAL_S: Seconds(120),
  USER_ABANDON_TIMEOUT_S: Seconds(1800),
  SURVEY_TIMEOUT_S: Seconds(600),
  /** WhatsApp's customer-service window: free-form messages only this long after the user's last one. */
  WHATSAPP_WINDOW_S: Seconds(24 * 3600),
  /** An approved template sent instead of an agent's message outside the window; empty: such messages get 409. */
  WHATSAPP_REENGAGE_TEMPLATE: Type.String({ default: '' }),
  WHATSAPP_TEMPLATE_LANGUAGE: Type.String({ default: 'es', pattern: '^[a-z]{2,3}(_[A-Z]{2})?$' }),

  STREAM_PARTITIONS: Type.Integer({ minimum: 1, maximum: 1024, default: 8 }),
  STREAM_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10000, default: 200 }),
  /**
   * How stream entries are written (streams/codec.ts). Every version reads both; a version before this one reads only
   * 1, so a fleet upgraded by rolling restart writes 1 until no instance of an older version runs, then 2.
   */
  STREAM_CODEC_VERSION: Type.Union([Type.Literal('1'), Type.Literal('2')], { default: '2' }),
  STREAM_MAX_DELIVERIES: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  /** Acknowledged stream entries are kept this long for forensics, then trimmed; unacknowledged ones never are. */
  STREAM_RETENTION_S: Type.Integer({ minimum: 0, maximum: 30 * 24 * 3600, default: 3600 }),
  CONSUMER_NAME: Type.String({ default: '' }),
  /** How long an instance's hold on a partition (and on the outbox rows in its hands) outlives its last renewal: a dead instance's work moves on after this. */
  PARTITION_LEASE_TTL_MS: Type.Integer({ minimum: 500, maximum: 60_000, default: 5000 }),
  OUTBOX_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 1000, default: 12 }),
  /**
   * Outbox calls in hand at once. A lane (one user, one destination) sends one row at a time, so with fewer
   * slots than busy lanes the slots bound the rate: 32 gave about 850 agent messages a second over 64 busy
   * lanes, 64 gave 1,046 (docs/bench-e2e.md).
   */
  OUTBOX_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 1000, default: 64 }),
  /** Messages a second the WhatsApp number may send, across all instances (Meta's default is 80). */
  WHATSAPP_SENDS_PER_SECOND: Type.Integer({ minimum: 1, maximum: 100000, default: 80 }),
  /** A WhatsApp send that timed out waits this long for its status webhook before it is sent again. */
  WHATSAPP_RECONCILE_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
  /** Consecutive transient failures of a destination (CRM, WhatsApp, directory) that open its circuit. */
  CIRCUIT_BREAKER_THRESHOLD: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  /** How long an open circuit holds calls back before one probe. */
  CIRCUIT_BREAKER_HALF_OPEN_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  TIMER_POLL_MS: Type.Integer({ minimum: 10, maximum: 60000, default: 250 }),
  OUTBOX_POLL_MS: Type.Integer({ minimum: 10, maximum: 60000, default: 500 }),
  HTTP_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120000, default: 10000 }),
  MAX_BODY_BYTES: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
  /** Per client address, shared by all instances: authenticated CRM calls, and apart from them, calls with a wrong token. */
  CRM_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 6000 }),
  /** Per client address and instance: webhook deliveries whose signature is missing or wrong (signed ones are never limited). */
  WEBHOOK_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 60000 }),
  /** Per client address and instance: /api/admin/*, /metrics and /api/metrics/kpis. */
  ADMIN_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 120 }),
  /** Our own reverse proxies (IPs, comma separated): only from them is X-Forwarded-For believed. */
  TRUSTED_PROXIES: Type.String({ default: '' }),
  /** `bun run demo` sets it: /simulator and its stand-ins are mounted only then, never in a real deployment. */
  DEMO_MODE: Type.Boolean({ default: false }),
  ...TRACING_SETTINGS,
  ...PLATFORM_SETTINGS,
});

export type Config = Static<typeof ConfigSchema>;

/** Secrets that a production deployment must set: empty ones make their routes reject every request. */
const REQUIRED_IN_PRODUCTION = [
  'DATABASE_URL',
  'REDIS_URL',
  'CRM_BASE_URL',
  'CRM_API_TOKEN',
  'BOT_API_TOKEN',
  'BOT_SIGNING_SECRET',
  'META_WEBHOOK_SECRET',
  'WEBHOOK_VERIFY_TOKEN',
  'WHATSAPP_TOKEN',
  'WHATSAPP_PHONE_NUMBER_ID',
  // Every media link the CRM gets starts with it: its development default, localhost, reaches nothing from the CRM.
  'PUBLIC_BASE_URL',
] as const satisfies readonly (keyof Config)[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
  }
}

/**
 * Parses the environment once. Collects every problem (one line each) instead
 * of stopping at the first, so an operator fixes the whole .env in one go.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const known = Object.keys(ConfigSchema.properties);
  const raw: Record<string, unknown> = {};
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value.trim();
  }
  const withDefaults = Value.Default(ConfigSchema, raw);
  const converted = Value.Convert(ConfigSchema, withDefaults) as Record<string, unknown>;
  const problems = [...Value.Errors(ConfigSchema, converted)].map((error) => {
    const key = error.path.replace(/^\//, '');
    return `${key}: ${describe(error)} (got ${JSON.stringify(isSecret(key) ? '<hidden>' : raw[key])})`;
  });
  const config = converted as Config;
  if (problems.length === 0) problems.push(...crossFieldProblems(config));
  if (config.PUBLIC_BASE_URL === '') config.PUBLIC_BASE_URL = `http://localhost:${config.PORT}`;
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return config;
}

function crossFieldProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.NODE_ENV === 'production') {
    for (const key of REQUIRED_IN_PRODUCTION) {
      if (config[key] === '') problems.push(`${key}: required when NODE_ENV=production`);
    }
    if (config.RETENTION_DEDUPE_DAYS < META_REDELIVERY_DAYS) {
      problems.push(
        `RETENTION_DEDUPE_DAYS: at least ${META_REDELIVERY_DAYS} when NODE_ENV=production (Meta redelivers for 7 days; got ${config.RETENTION_DEDUPE_DAYS})`,
      );
    }
  }
  if (config.RETENTION_KPI_DAYS < config.RETENTION_HISTORY_DAYS) {
    problems.push(`RETENTION_KPI_DAYS: must be at least RETENTION_HISTORY_DAYS (${config.RETENTION_HISTORY_DAYS}): KPIs outlive the history they count`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: config.TZ_BUSINESS });
  } catch {
    problems.push(`TZ_BUSINESS: unknown time zone (got ${JSON.stringify(config.TZ_BUSINESS)})`);
  }
  // A brace would become the Redis Cluster hash tag of every key, putting all partitions in one slot.
  // WAIT counts the replicas of the node it is sent to; on a cluster each partition's primary would need its own.
  if (config.REDIS_WAIT_REPLICAS > 0 && config.REDIS_URL.startsWith('redis+cluster:')) {
    problems.push('REDIS_WAIT_REPLICAS: not supported with a Redis Cluster REDIS_URL (set it to 0)');
  }
  problems.push(...mediaHostProblems(config.WHATSAPP_MEDIA_HOSTS), ...platformProblems(config));
  if (/[{}]/.test(config.REDIS_KEY_PREFIX)) problems.push(`REDIS_KEY_PREFIX: must not contain { or } (got ${JSON.stringify(config.REDIS_KEY_PREFIX)})`);
  for (const address of trustedProxies(config)) {
    if (isIP(address) === 0) problems.push(`TRUSTED_PROXIES: ${JSON.stringify(address)} is not an IP address`);
  }
  for (const [key, parse] of [
    ['BUSINESS_HOURS', parseBusinessHours],
    ['HOLIDAYS', parseHolidays],
  ] as const) {
    try {
      parse(config[key]);
    } catch (error) {
      problems.push(`${key}: ${(error as Error).message}`);
    }
  }
  return problems;
}

function isSecret(key: string): boolean {
  return /TOKEN|SECRET|DATABASE_URL|REDIS_URL|HEADERS/.test(key);
}

function describe(error: ValueError): string {
  const choices = (error.schema.anyOf as { const?: unknown }[] | undefined)?.map((choice) => choice.const);
  if (choices) return `expected one of ${choices.join(', ')}`;
  return error.message.replace(/^Expected string to match '.*'$/, 'malformed value').toLowerCase();
}

/** The agent-request URL: explicit, else derived from the CRM base (the seed's `${CRM_BASE_URL}/api/bot/agent-request`). */
export function agentRequestUrl(config: Config): string {
  if (config.CRM_AGENT_NOTIFICATION_URL) return config.CRM_AGENT_NOTIFICATION_URL;
  return config.CRM_BASE_URL ? `${config.CRM_BASE_URL.replace(/\/$/, '')}/api/bot/agent-request` : '';
}

/** The rate card the cost of billable messages is estimated with, and its currency. */
export const ratesOf = (config: Config) => ({ card: parseRateCard(config.WHATSAPP_RATE_CARD), currency: config.WHATSAPP_RATE_CURRENCY });

/** The WhatsApp numbers served: WHATSAPP_PHONE_NUMBER_IDS, or WHATSAPP_PHONE_NUMBER_ID alone. */
export const numbersOf = (config: Config): BusinessNumbers => businessNumbers(config.WHATSAPP_PHONE_NUMBER_ID, config.WHATSAPP_PHONE_NUMBER_IDS);

export function trustedProxies(config: Config): string[] {
  return config.TRUSTED_PROXIES.split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
}
