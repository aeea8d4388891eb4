import { sql } from 'drizzle-orm';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Database } from './db/client';
import type { DeadLetters } from './streams/dead-letters';

export interface MetricsDeps {
  database: Database;
  deadLetters: DeadLetters;
}

/**
 * Prometheus metrics (`GET /metrics`). Gauges that mirror stored state
 * (dead letters, outbox backlog) are read at scrape time, so every instance
 * reports the same truth; counters count what this process did.
 */
export function createMetrics(deps: MetricsDeps) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'handover_process_' });

  new Gauge({
    name: 'handover_dead_letter_entries',
    help: 'Events in the dead-letter stream, waiting for a re-drive',
    registers: [registry],
    async collect() {
      this.set(await deps.deadLetters.count());
    },
  });

  new Gauge({
    name: 'handover_outbox_backlog',
    help: 'Outbox rows not yet delivered, by kind and status (pending, in_flight)',
    labelNames: ['kind', 'status'],
    registers: [registry],
    async collect() {
      const rows = await deps.database.rows<{ kind: string; status: string; n: number | string }>(
        deps.database.db,
        sql`select kind, status, count(*) as n from outbox where status in ('pending', 'in_flight') group by 1, 2`,
      );
      this.reset();
      for (const row of rows) this.set({ kind: row.kind, status: row.status }, Number(row.n));
    },
  });

  return {
    registry,
    outboxDeliveries: new Counter({
      name: 'handover_outbox_deliveries_total',
      help: 'Outbox delivery attempts by kind and outcome (delivered, retry, failed, deferred, reconciled)',
      labelNames: ['kind', 'outcome'],
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
