import type { Database } from '../db/client';
import type { OutboxRow } from '../db/schema';
import { errorSummary } from '../errors';
import type { CrmClient } from '../integrations/crm';
import type { CustomerDirectory } from '../integrations/customers';
import type { WhatsAppClient } from '../integrations/whatsapp';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { createPoller } from '../poller';
import type { Producer } from '../streams/producer';
import { createBreakers, type BreakerOptions } from './breakers';
import { createCrmDeliverer } from './deliverers/crm';
import { createLookupDeliverer } from './deliverers/lookup';
import { createWhatsAppDeliverer } from './deliverers/whatsapp';
import { settleInDoubt } from './in-doubt';
import { destinationOf, maskLane, type Destination } from './lane';
import { decide, type Deliverer, type Delivery } from './outcome';
import { createOutboxRepository } from './repository';

export interface DispatcherDeps {
  database: Database;
  crm: CrmClient;
  whatsapp: WhatsAppClient;
  customers: CustomerDirectory;
  producer: Producer;
  logger: Logger;
  maxAttempts: number;
  concurrency: number;
  pollMs: number;
  /** How long a claimed row stays ours before another dispatcher may take it (a crash mid-call). */
  leaseMs: number;
  metrics: Pick<Metrics, 'outboxDeliveries' | 'circuitOpen'>;
  /** Consecutive transient failures that open a destination's circuit, and how long it stays open before a probe. */
  breaker: BreakerOptions;
  /** Resolves when the WhatsApp number may send one more message (the send-rate limit, shared by all instances). */
  sendPermit(): Promise<void>;
  /** How long a WhatsApp send with an unknown outcome waits for its status webhook before it is sent again. */
  reconcileAfterMs: number;
}

/**
 * Delivers outbox rows. Rows of one lane (one destination and one user) go
 * out in id order, one at a time: a user's messages never overtake each
 * other, and a failing CRM does not hold up WhatsApp. Several dispatchers can
 * run at once: rows are claimed with FOR UPDATE SKIP LOCKED and a lease.
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { logger, metrics } = deps;
  const repository = createOutboxRepository(deps.database, { leaseMs: deps.leaseMs, concurrency: deps.concurrency });
  const breakers = createBreakers(deps.breaker, metrics, logger);
  const deliverers: Record<Destination, Deliverer> = {
    crm: createCrmDeliverer(deps.crm),
    whatsapp: createWhatsAppDeliverer({ whatsapp: deps.whatsapp, sendPermit: deps.sendPermit }),
    lookup: createLookupDeliverer(deps.customers),
  };

  async function attempt(row: OutboxRow): Promise<Delivery> {
    try {
      // A send in doubt is settled first, outside the circuit breaker: no call is made, so the breaker must not count it.
      const settled = await settleInDoubt(row, repository, { reconcileAfterMs: deps.reconcileAfterMs, maxAttempts: deps.maxAttempts });
      if (settled) return settled;
      const destination = destinationOf(row.kind);
      return await breakers.guard(destination, () => deliverers[destination].deliver(row));
    } catch (error) {
      return { outcome: { ok: false, retryable: true, error: errorSummary(error) } };
    }
  }

  /** Delivers one claimed row and records what came of it. */
  async function deliverRow(row: OutboxRow): Promise<void> {
    const delivery = await attempt(row);
    const decision = decide(row, delivery, deps.maxAttempts);
    const log = { event: 'outbox.delivery', outboxId: row.id, kind: row.kind, lane: maskLane(row.lane), ticketId: row.ticketId, attempt: row.attempts };
    switch (decision.kind) {
      case 'defer':
        await repository.defer(row, decision.retryInMs);
        metrics.outboxDeliveries.inc({ kind: row.kind, outcome: 'deferred' });
        logger.debug({ ...log, reason: decision.reason }, 'row deferred without an attempt');
        return;
      case 'in_doubt':
        await repository.markInDoubt(row, decision.error, deps.reconcileAfterMs);
        metrics.outboxDeliveries.inc({ kind: row.kind, outcome: 'in_doubt' });
        logger.warn(
          { ...log, error: decision.error, reconcileInMs: deps.reconcileAfterMs },
          'send outcome unknown; waiting for its status webhook before any resend',
        );
        return;
      case 'done':
        // The feedback event goes first: if Redis is down the row stays claimable and the call is repeated,
        // which the CRM dedupes by Idempotency-Key and the worker by the event id.
        if (delivery.feedback) await deps.producer.publish([delivery.feedback]);
        await repository.done(row, decision);
        metrics.outboxDeliveries.inc({ kind: row.kind, outcome: decision.reconciledBy ? 'reconciled' : 'delivered' });
        if (decision.reconciledBy) logger.info({ ...log, status: decision.reconciledBy }, 'send reconciled by its status webhook; not sent again');
        else logger.debug(log, 'outbox row delivered');
        return;
      case 'retry':
        await repository.retry(row, decision.error, decision.retryInMs);
        metrics.outboxDeliveries.inc({ kind: row.kind, outcome: 'retry' });
        logger.warn({ ...log, retryInMs: decision.retryInMs, error: decision.error }, 'outbox delivery failed; will retry');
        return;
      case 'fail': {
        const feedback = deliverers[destinationOf(row.kind)].failureFeedback(row, decision.graphError, decision.error);
        if (feedback) await deps.producer.publish([feedback]);
        await repository.fail(row, decision);
        metrics.outboxDeliveries.inc({ kind: row.kind, outcome: 'failed' });
        logger.error({ ...log, error: decision.error, retryable: decision.retryable }, 'outbox delivery failed for good');
        return;
      }
    }
  }

  /** One pass: claim what is due and deliver it. Returns how many rows it handled. */
  async function drainOnce(): Promise<number> {
    const rows = await repository.claim();
    await Promise.all(
      rows.map((row) =>
        deliverRow(row).catch((error: Error) => {
          // The row stays in_flight and is claimed again when its lease runs out.
          logger.error({ event: 'outbox.process_error', outboxId: row.id, error: errorSummary(error) }, 'could not record an outbox outcome');
        }),
      ),
    );
    return rows.length;
  }

  const poller = createPoller({
    pollMs: deps.pollMs,
    work: drainOnce,
    onError: (error) => logger.error({ event: 'outbox.claim_error', error: errorSummary(error) }, 'could not claim outbox rows'),
  });

  return {
    start: poller.start,
    /** Called after the worker commits new rows: deliver now rather than at the next poll. */
    poke: poller.poke,
    drainOnce,
    close: poller.close,
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
