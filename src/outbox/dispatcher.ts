import type { Database } from '../db/client';
import type { BusinessNumbers } from '../domain/business-numbers';
import { destinationOf, maskLane, type Destination } from '../domain/lanes';
import type { OutboxRow } from '../db/schema';
import { errorSummary } from '../errors';
import type { CrmClient } from '../integrations/crm';
import type { CustomerDirectory } from '../integrations/customers';
import type { WhatsAppClient } from '../integrations/whatsapp';
import type { Logger } from '../logger';
import { childFor, type Metrics } from '../observability/metrics';
import { inSpan, spanFailed, type Span } from '../observability/tracing';
import { batchWhileBusy } from '../lib/batch-while-busy';
import { createPoller } from '../lib/poller';
import type { Producer } from '../streams/producer';
import { createBreakers, type BreakerOptions } from './breakers';
import { createCrmDeliverer } from './deliverers/crm';
import { createLookupDeliverer } from './deliverers/lookup';
import { createWhatsAppDeliverer } from './deliverers/whatsapp';
import { settleInDoubt } from './in-doubt';
import { decide, type Deliverer, type Delivery } from './outcome';
import { createOutboxRepository, type Delivered } from './repository';

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
  /**
   * How long a claimed row stays ours without a renewal before another
   * dispatcher may take it: a dead instance's rows are free again this soon.
   * Renewed every third of it while the call runs.
   */
  leaseMs: number;
  /** Names this instance on the rows it claims. */
  claimant?: string;
  metrics: Pick<Metrics, 'outboxDeliveries' | 'circuitOpen'>;
  /** Consecutive transient failures that open a destination's circuit, and how long it stays open before a probe. */
  breaker: BreakerOptions;
  /** Resolves when the WhatsApp number may send one more message (the send-rate limit of each number, shared by all instances). */
  sendPermit(phoneNumberId: string): Promise<void>;
  /** The numbers served: which one each conversation's messages go from. */
  numbers?: BusinessNumbers;
  /** How long a WhatsApp send with an unknown outcome waits for its status webhook before it is sent again. */
  reconcileAfterMs: number;
  /** The monotonic clock a claimed row's lease is held by (performance.now); a test stalls the process with it. */
  monotonicNow?: () => number;
}

/**
 * Delivers outbox rows. Rows of one lane (one destination and one user) go
 * out in id order, one at a time: a user's messages never overtake each
 * other, and a failing CRM does not hold up WhatsApp. Several dispatchers can
 * run at once: rows are claimed with FOR UPDATE SKIP LOCKED and a lease.
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { logger, metrics } = deps;
  const repository = createOutboxRepository(deps.database, { leaseMs: deps.leaseMs, concurrency: deps.concurrency, claimant: deps.claimant });
  /** Rows claimed and not yet settled → until when (monotonic clock) they are surely still ours. */
  const held = new Map<number, number>();
  const validFor = deps.leaseMs * 0.8;
  const monotonicNow = deps.monotonicNow ?? (() => performance.now());
  const breakers = createBreakers(deps.breaker, metrics, logger);
  const deliveries = childFor((kindAndOutcome) => {
    const [kind, outcome] = kindAndOutcome.split('\u0000');
    return metrics.outboxDeliveries.labels({ kind, outcome });
  });
  /** Deliveries finished while the previous ones were being recorded go in one statement. */
  const recordDone = batchWhileBusy({ flush: (items: (Delivered & { row: OutboxRow })[]) => repository.doneAll(items) });
  /** The loop claims again once this many slots are free (or none is busy). */
  const claimBatch = Math.max(1, Math.floor(deps.concurrency / 4));
  /** Deliveries started by the loop and not yet settled: `close` waits for them. */
  const inHand = new Set<Promise<void>>();
  const deliverers: Record<Destination, Deliverer> = {
    crm: createCrmDeliverer(deps.crm),
    whatsapp: createWhatsAppDeliverer({ whatsapp: deps.whatsapp, sendPermit: deps.sendPermit, numbers: deps.numbers }),
    lookup: createLookupDeliverer(deps.customers),
  };

  /** Null when the row's lease lapsed before the call: it is another dispatcher's now, nothing is sent or recorded. */
  async function attempt(row: OutboxRow): Promise<Delivery | null> {
    try {
      // A send in doubt is settled first, outside the circuit breaker: no call is made, so the breaker must not count it.
      const settled = await settleInDoubt(row, repository, { reconcileAfterMs: deps.reconcileAfterMs, maxAttempts: deps.maxAttempts });
      if (settled) return settled;
      // Checked last thing before the call: a process frozen past the lease must not send what another dispatcher now holds.
      if (monotonicNow() >= (held.get(row.id) ?? 0)) return null;
      const destination = destinationOf(row.kind);
      return await breakers.guard(destination, () => deliverers[destination].deliver(row));
    } catch (error) {
      return { outcome: { ok: false, retryable: true, error: errorSummary(error) } };
    }
  }

  /** Delivers one claimed row and records what came of it; `span` is the attempt's, in the trace of the event that wrote the row. */
  async function deliverRow(row: OutboxRow, span: Span): Promise<void> {
    const delivery = await attempt(row);
    // Built only for a line that is written: a delivered row logs at debug, off in production.
    const log = () => ({ event: 'outbox.delivery', outboxId: row.id, kind: row.kind, lane: maskLane(row.lane), ticketId: row.ticketId, attempt: row.attempts });
    const counted = (outcome: string) => {
      deliveries(`${row.kind}\u0000${outcome}`).inc();
      span.setAttribute('outbox.outcome', outcome);
    };
    if (!delivery) {
      span.setAttribute('outbox.outcome', 'lease_lapsed');
      logger.warn(log(), 'outbox row lease lapsed before its call; left to the dispatcher that holds it now');
      return;
    }
    const decision = decide(row, delivery, deps.maxAttempts);
    if (decision.kind === 'in_doubt' || decision.kind === 'retry' || decision.kind === 'fail') spanFailed(span, decision.error);
    switch (decision.kind) {
      case 'defer':
        await repository.defer(row, decision.retryInMs);
        counted('deferred');
        logger.debug({ ...log(), reason: decision.reason }, 'row deferred without an attempt');
        return;
      case 'in_doubt':
        await repository.markInDoubt(row, decision.error, deps.reconcileAfterMs);
        counted('in_doubt');
        logger.warn(
          { ...log(), error: decision.error, reconcileInMs: deps.reconcileAfterMs },
          'send outcome unknown; waiting for its status webhook before any resend',
        );
        return;
      case 'done':
        // The feedback event goes first: if Redis is down the row stays claimable and the call is repeated,
        // which the CRM dedupes by Idempotency-Key and the worker by the event id.
        if (delivery.feedback) await deps.producer.publish([delivery.feedback]);
        await recordDone({ row, ...decision });
        counted(decision.skipped ? 'skipped' : decision.reconciledBy ? 'reconciled' : 'delivered');
        if (decision.skipped) logger.info({ ...log(), reason: decision.skipped }, 'outbox row dropped without a call: it no longer has a point');
        else if (decision.reconciledBy) logger.info({ ...log(), status: decision.reconciledBy }, 'send reconciled by its status webhook; not sent again');
        else if (logger.isLevelEnabled('debug')) logger.debug(log(), 'outbox row delivered');
        return;
      case 'retry':
        await repository.retry(row, decision.error, decision.retryInMs);
        counted('retry');
        logger.warn({ ...log(), retryInMs: decision.retryInMs, error: decision.error }, 'outbox delivery failed; will retry');
        return;
      case 'fail': {
        const feedback = deliverers[destinationOf(row.kind)].failureFeedback(row, decision.graphError, decision.error);
        if (feedback) await deps.producer.publish([feedback]);
        await repository.fail(row, decision);
        counted('failed');
        logger.error({ ...log(), error: decision.error, retryable: decision.retryable }, 'outbox delivery failed for good');
        return;
      }
    }
  }

  /** Delivers a claimed row; the row stays ours (`held`) until its outcome is recorded. */
  function settle(row: OutboxRow): Promise<void> {
    const attributes = { 'outbox.id': row.id, 'outbox.kind': row.kind, 'outbox.attempt': row.attempts, 'handover.ticket_id': row.ticketId ?? '' };
    return inSpan(`outbox ${row.kind}`, { parent: row.traceparent ?? null, attributes }, (span) => deliverRow(row, span))
      .catch((error: Error) => {
        // The row stays in_flight and is claimed again when its lease runs out.
        logger.error({ event: 'outbox.process_error', outboxId: row.id, error: errorSummary(error) }, 'could not record an outbox outcome');
      })
      .finally(() => held.delete(row.id));
  }

  async function claim(limit: number): Promise<OutboxRow[]> {
    const claimedAt = monotonicNow();
    const rows = await repository.claim(limit);
    for (const row of rows) held.set(row.id, claimedAt + validFor);
    return rows;
  }

  /** One pass: claim what is due and deliver it. Returns how many rows it handled. */
  async function drainOnce(): Promise<number> {
    const rows = await claim(deps.concurrency);
    await Promise.all(rows.map(settle));
    return rows.length;
  }

  /**
   * The loop's pass: tops the rows in hand up to `concurrency` and returns
   * without waiting for their calls. Each settled row frees its slot and
   * wakes the loop, so one slow call never holds up the other lanes (a pass
   * that waited for all its calls would run at the pace of its slowest).
   */
  async function fill(): Promise<number> {
    const free = deps.concurrency - held.size;
    // A claim scans every open lane's head: one per settled call would cost more than the calls under a backlog.
    if (free <= 0 || (held.size > 0 && free < claimBatch)) return 0;
    const rows = await claim(free);
    for (const row of rows) {
      const delivery = settle(row).finally(() => {
        inHand.delete(delivery);
        poller.poke();
      });
      inHand.add(delivery);
    }
    return rows.length;
  }

  /** Keeps the rows in hand ours while their calls run; a row another dispatcher took meanwhile is marked lost at once. */
  async function renewLeases(): Promise<void> {
    const ids = [...held.keys()];
    if (ids.length === 0) return;
    const sentAt = performance.now();
    const kept = new Set(await repository.renew(ids));
    for (const id of ids) if (held.has(id)) held.set(id, kept.has(id) ? sentAt + validFor : 0);
  }
  let renewing: ReturnType<typeof setInterval> | null = null;

  const poller = createPoller({
    pollMs: deps.pollMs,
    work: fill,
    onError: (error) => logger.error({ event: 'outbox.claim_error', error: errorSummary(error) }, 'could not claim outbox rows'),
  });

  return {
    start(): void {
      renewing ??= setInterval(() => {
        renewLeases().catch((error: unknown) =>
          logger.warn({ event: 'outbox.renew_error', error: errorSummary(error) }, 'could not renew the lease of outbox rows in hand'),
        );
      }, deps.leaseMs / 3);
      poller.start();
    },
    /** Called after the worker commits new rows: deliver now rather than at the next poll. */
    poke: poller.poke,
    drainOnce,
    async close(): Promise<void> {
      await poller.close();
      await Promise.all(inHand);
      if (renewing) clearInterval(renewing);
      renewing = null;
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
