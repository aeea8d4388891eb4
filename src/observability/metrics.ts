import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * A metric's child for each value of the key it is labelled by, made once:
 * prom-client hashes the label object on every call otherwise, which the
 * webhook (a call per request and per event) paid for at every delivery.
 * Only for labels with few values (statuses, event types).
 */
export function childFor<Child>(make: (key: string) => Child): (key: string) => Child {
  const children = new Map<string, Child>();
  return (key) => {
    let child = children.get(key);
    if (!child) children.set(key, (child = make(key)));
    return child;
  };
}

/** What an instance holds of the partitions (the stream worker's leases). */
export interface Ownership {
  owned: { partition: number; token: number; ageMs: number }[];
  acquisitions: number;
  takeovers: number;
}

/**
 * What the gauges that mirror stored state read, at scrape time: given by the
 * composition root (boot/metrics.ts), so this module knows no database and no
 * stream.
 */
export interface StoredState {
  deadLetters(): Promise<number>;
  outboxBacklog(): Promise<{ kind: string; status: string; count: number }[]>;
  partitionBacklogs(): Promise<{ partition: string; pending: number; lag: number }[]>;
  openTickets(): Promise<{ phase: string; count: number }[]>;
  /** What Meta last said of each template the service sends (its status, or a category change). */
  templates?(): Promise<{ template: string; status: string }[]>;
}

/** Seconds to hours: a handover waits seconds for an agent and may stay open for a day. */
const HANDOVER_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];

/**
 * Prometheus metrics (`GET /metrics`). Gauges that mirror stored state
 * (dead letters, outbox backlog) are read at scrape time, so every instance
 * reports the same truth; counters count what this process did.
 */
export function createMetrics(stored: StoredState) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'handover_' });
  let ownership: () => Ownership = () => ({ owned: [], acquisitions: 0, takeovers: 0 });

  new Gauge({
    name: 'handover_partitions_owned',
    help: 'Stream partitions this instance holds the lease of',
    registers: [registry],
    collect() {
      this.set(ownership().owned.length);
    },
  });

  new Gauge({
    name: 'handover_partition_lease_age_seconds',
    help: 'How long this instance has held the lease of each partition it owns',
    labelNames: ['partition'],
    registers: [registry],
    collect() {
      this.reset();
      for (const lease of ownership().owned) this.set({ partition: String(lease.partition) }, lease.ageMs / 1000);
    },
  });

  new Gauge({
    name: 'handover_dead_letter_entries',
    help: 'Events in the dead-letter stream, waiting for a re-drive',
    registers: [registry],
    async collect() {
      this.set(await stored.deadLetters());
    },
  });

  new Gauge({
    name: 'handover_outbox_backlog',
    help: 'Outbox rows not yet delivered, by kind and status (pending, in_flight)',
    labelNames: ['kind', 'status'],
    registers: [registry],
    async collect() {
      const rows = await stored.outboxBacklog();
      this.reset();
      for (const row of rows) this.set({ kind: row.kind, status: row.status }, row.count);
    },
  });

  new Gauge({
    name: 'handover_stream_pending',
    help: 'Entries of a partition handed to a consumer and not yet acknowledged',
    labelNames: ['partition'],
    registers: [registry],
    async collect() {
      for (const { partition, pending } of await stored.partitionBacklogs()) this.set({ partition }, pending);
    },
  });

  new Gauge({
    name: 'handover_stream_lag',
    help: 'Entries of a partition not yet read by the consumer group (Redis 7 lag)',
    labelNames: ['partition'],
    registers: [registry],
    async collect() {
      for (const { partition, lag } of await stored.partitionBacklogs()) this.set({ partition }, lag);
    },
  });

  new Gauge({
    name: 'handover_open_tickets',
    help: 'Tickets not closed, by phase (waiting_agent, escalated, supervisor_queue, with_agent, agent_reminded)',
    labelNames: ['phase'],
    registers: [registry],
    async collect() {
      const rows = await stored.openTickets();
      this.reset();
      for (const row of rows) this.set({ phase: row.phase }, row.count);
    },
  });

  new Gauge({
    name: 'handover_template_status',
    help: 'What Meta last said of each template the service sends (1 for its status: APPROVED, PAUSED, DISABLED, CATEGORY_CHANGED...); a paused re-engagement template stops agents writing past the 24-hour window',
    labelNames: ['template', 'status'],
    registers: [registry],
    async collect() {
      const templates = (await stored.templates?.()) ?? [];
      this.reset();
      for (const { template, status } of templates) this.set({ template, status }, 1);
    },
  });

  return {
    registry,
    /** The worker is built after the metrics (the runtime needs them): it registers its lease status here. */
    observeOwnership(source: () => Ownership): void {
      ownership = source;
    },
    partitionTakeovers: new Counter({
      name: 'handover_partition_takeovers_total',
      help: 'Partitions this instance took over (at start, from a stopped or dead instance, or in a rebalance)',
      registers: [registry],
    }),
    redisResets: new Counter({
      name: 'handover_redis_resets_total',
      help: 'Partitions whose Redis stream was found behind what Postgres applied from it (Redis lost acknowledged events), by partition',
      labelNames: ['partition'],
      registers: [registry],
    }),
    redisLastReset: new Gauge({
      name: 'handover_redis_last_reset_timestamp_seconds',
      help: 'When this instance last found Redis behind Postgres (Unix time; 0: never)',
      registers: [registry],
    }),
    redisRestarts: new Counter({
      name: 'handover_redis_restarts_total',
      help: 'Times a Redis primary answered with a new run id (it restarted, or another server took its address)',
      registers: [registry],
    }),
    redisAof: new Gauge({
      name: 'handover_redis_aof_enabled',
      help: '1 when every Redis primary said AOF is on at the last check (start, restart), else 0',
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'handover_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status, with their latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    webhookEvents: new Counter({
      name: 'handover_webhook_events_total',
      help: 'Events accepted from the WhatsApp webhook, by type (user.message, whatsapp.status), and items ignored',
      labelNames: ['type'],
      registers: [registry],
    }),
    handoverWait: new Histogram({
      name: 'handover_wait_seconds',
      help: 'Ticket request to an agent taking it (bot_to_human), by category',
      labelNames: ['category'],
      buckets: HANDOVER_BUCKETS,
      registers: [registry],
    }),
    ticketDuration: new Histogram({
      name: 'handover_ticket_duration_seconds',
      help: 'Ticket request to close, by category and close reason',
      labelNames: ['category', 'close_reason'],
      buckets: HANDOVER_BUCKETS,
      registers: [registry],
    }),
    billableMessages: new Counter({
      name: 'handover_billable_messages_total',
      help: 'Messages WhatsApp charges for (their status webhooks said billable), by pricing category (marketing, utility, authentication, service...)',
      labelNames: ['category'],
      registers: [registry],
    }),
    outboxDeliveries: new Counter({
      name: 'handover_outbox_deliveries_total',
      help: 'Outbox delivery attempts by kind and outcome (delivered, retry, failed, deferred, reconciled)',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    retentionDeleted: new Counter({
      name: 'handover_retention_deleted_total',
      help: 'Rows and entries the retention purge deleted, by store (docs/DATA.md)',
      labelNames: ['store'],
      registers: [registry],
    }),
    circuitOpen: new Gauge({
      name: 'handover_circuit_open',
      help: '1 while the circuit breaker of a destination is open (calls held back), else 0',
      labelNames: ['destination'],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
