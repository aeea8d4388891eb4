import { eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { messages, outbox, type OutboxKind, type OutboxRow } from '../db/schema';
import { pipelineEvent, type PipelineEvent } from '../events';
import type { CrmClient, CrmCall } from '../integrations/crm';
import type { CustomerDirectory } from '../integrations/customers';
import type { CallOutcome } from '../integrations/http';
import type { WhatsAppMessage } from '../integrations/whatsapp-messages';
import type { Logger } from '../logger';
import { maskPhone } from '../logger';
import type { Producer } from '../streams/producer';
import { errorSummary } from '../errors';
import { createPoller } from '../poller';
import { BrokenCircuitError, circuitBreaker, ConsecutiveBreaker, handleType, IsolatedCircuitError, type CircuitBreakerPolicy } from 'cockatiel';
import type { Metrics } from '../metrics';
import { OUTSIDE_WINDOW_CODE, type WhatsAppClient } from '../integrations/whatsapp';
import { templateMessage } from '../integrations/whatsapp-messages';
import { reportFailedAgentMessage } from './failed-messages';

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
  metrics: Metrics;
  /** Consecutive transient failures that open a destination's circuit, and how long it stays open before a probe. */
  breaker: { threshold: number; halfOpenAfterMs: number };
  /** Resolves when the WhatsApp number may send one more message (the send-rate limit, shared by all instances). */
  sendPermit(): Promise<void>;
  /** The template an agent's text goes out as when Graph answers 131047 (outside the 24-hour window). */
  reengageTemplate: { name: string; languageCode: string } | null;
  /** How long a WhatsApp send with an unknown outcome waits for its status webhook before it is sent again. */
  reconcileAfterMs: number;
}

type Delivery = {
  outcome: CallOutcome;
  feedback?: PipelineEvent;
  waMessageId?: string;
  /** The call was not made (the destination's circuit is open, or a send waits for its status webhook): the attempt does not count. */
  deferred?: { retryInMs: number };
  /** A status webhook already told what became of a send whose response was lost. */
  reconciledBy?: string;
};

type Destination = 'crm' | 'whatsapp' | 'lookup';
const destinationOf = (kind: OutboxKind): Destination => (kind.startsWith('crm.') ? 'crm' : kind === 'whatsapp.send' ? 'whatsapp' : 'lookup');

/** Thrown inside a breaker so that it counts a transient failure; carries the delivery back out. */
class TransientFailure extends Error {
  constructor(readonly delivery: Delivery) {
    super(delivery.outcome.ok ? 'ok' : delivery.outcome.error);
  }
}

const CRM_CALLS: Partial<Record<OutboxKind, CrmCall>> = {
  'crm.agent_request': 'agent-request',
  'crm.user_message': 'user-message',
  'crm.ticket_update': 'ticket-update',
};

/** Full-jitter exponential backoff (AWS's "Exponential Backoff and Jitter"), capped at 5 minutes. */
export function backoffMs(attempt: number, random = Math.random): number {
  const ceiling = Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/**
 * Delivers outbox rows. Rows of one lane (one destination and one user) go
 * out in id order, one at a time: a user's messages never overtake each
 * other, and a failing CRM does not hold up WhatsApp. Several dispatchers can
 * run at once: rows are claimed with FOR UPDATE SKIP LOCKED and a lease.
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { database, logger, metrics } = deps;
  /** Half-open probes so far, per destination: a failed probe is the circuit's business, not the row's. */
  const probes: Record<Destination, number> = { crm: 0, whatsapp: 0, lookup: 0 };
  const breakers = Object.fromEntries((['crm', 'whatsapp', 'lookup'] as const).map((destination) => [destination, createBreaker(destination)])) as Record<
    Destination,
    CircuitBreakerPolicy
  >;

  /**
   * One circuit per destination: after `threshold` transient failures in a
   * row the destination is left alone (rows wait, attempts are not spent)
   * until one probe call succeeds. Permanent failures (a 4xx) do not count:
   * the destination answered.
   */
  function createBreaker(destination: Destination): CircuitBreakerPolicy {
    const policy = circuitBreaker(handleType(TransientFailure), {
      halfOpenAfter: deps.breaker.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(deps.breaker.threshold),
    });
    metrics.circuitOpen.set({ destination }, 0);
    policy.onBreak(() => {
      metrics.circuitOpen.set({ destination }, 1);
      logger.warn({ event: 'circuit.open', destination, retryInMs: deps.breaker.halfOpenAfterMs }, `${destination} keeps failing: calls held back`);
    });
    policy.onHalfOpen(() => {
      probes[destination]++;
      logger.info({ event: 'circuit.half_open', destination }, `${destination}: probing with one call`);
    });
    policy.onReset(() => {
      metrics.circuitOpen.set({ destination }, 0);
      logger.info({ event: 'circuit.closed', destination }, `${destination} answers again: delivering`);
    });
    return policy;
  }

  async function guarded(destination: Destination, call: () => Promise<Delivery>): Promise<Delivery> {
    const probesBefore = probes[destination];
    try {
      return await breakers[destination].execute(async () => {
        const delivery = await call();
        if (!delivery.outcome.ok && delivery.outcome.retryable && !delivery.deferred) throw new TransientFailure(delivery);
        return delivery;
      });
    } catch (error) {
      if (error instanceof TransientFailure) {
        const { delivery } = error;
        // A failed probe does not spend the row's attempts (a long outage would wear it out one probe at a time);
        // a probe whose outcome is unknown still goes through the in-doubt path.
        const probed = probes[destination] !== probesBefore && !delivery.outcome.ok && !delivery.outcome.unknownOutcome;
        return probed ? { ...delivery, deferred: { retryInMs: deps.breaker.halfOpenAfterMs } } : delivery;
      }
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        return { outcome: { ok: false, retryable: true, error: `${destination} circuit open` }, deferred: { retryInMs: deps.breaker.halfOpenAfterMs } };
      }
      throw error;
    }
  }

  async function claim(): Promise<OutboxRow[]> {
    const rows = await database.rows<{ id: number | string }>(
      database.db,
      sql`
        update outbox set status = 'in_flight', attempts = attempts + 1, locked_until = now() + ${`${deps.leaseMs} milliseconds`}::interval,
          -- A send whose lease ran out was in a dispatcher that died mid-call: WhatsApp may have it.
          in_doubt_since = case when status = 'in_flight' and kind = 'whatsapp.send' then coalesce(in_doubt_since, now()) else in_doubt_since end
        where id in (
          select o.id from outbox o
          where o.status in ('pending', 'in_flight')
            and (case when o.status = 'pending' then o.next_attempt_at <= now() else o.locked_until < now() end)
            and not exists (
              select 1 from outbox earlier
              where earlier.lane = o.lane and earlier.status in ('pending', 'in_flight') and earlier.id < o.id
            )
          order by o.id
          limit ${deps.concurrency}
          for update skip locked
        )
        returning id`,
    );
    if (rows.length === 0) return [];
    const ids = rows.map((row) => Number(row.id));
    return database.db.select().from(outbox).where(inArray(outbox.id, ids)).orderBy(outbox.id);
  }

  async function deliver(row: OutboxRow): Promise<Delivery> {
    const crmCall = CRM_CALLS[row.kind];
    if (crmCall) {
      const outcome = await deps.crm.send(crmCall, row.payload, row.idempotencyKey);
      if (row.kind !== 'crm.agent_request' || !row.ticketId) return { outcome };
      const phone = (row.payload as { userPhone: string }).userPhone;
      const body = outcome.ok ? (outcome.body as { agentAssigned?: Record<string, unknown>; queuePosition?: unknown } | null) : null;
      const agentAssigned = body?.agentAssigned;
      const queuePosition = Number(body?.queuePosition ?? agentAssigned?.queuePosition);
      const feedback = outcome.ok
        ? pipelineEvent('crm.agent_request.result', phone, `outbox:${row.id}:result`, {
            ticketId: row.ticketId,
            outcome: 'accepted',
            agentAssigned: agentAssigned
              ? {
                  id: stringOrUndefined(agentAssigned.id),
                  name: stringOrUndefined(agentAssigned.name),
                  estimatedResponseTime: stringOrUndefined(agentAssigned.estimatedResponseTime),
                }
              : undefined,
            ...(Number.isInteger(queuePosition) && queuePosition > 0 ? { queuePosition } : {}),
          })
        : undefined;
      return { outcome, feedback };
    }
    if (row.kind === 'whatsapp.send') return sendWhatsApp(row);
    const { phone, document } = row.payload as { phone: string; document: string };
    const lookup = await deps.customers.lookup(document, phone).catch((error: Error) => ({ ok: false as const, retryable: true, error: error.message }));
    if (!lookup.ok) return { outcome: lookup };
    return {
      outcome: { ok: true, status: 200, body: null },
      feedback: pipelineEvent('customer.lookup.result', phone, `outbox:${row.id}:result`, lookup.result),
    };
  }

  /**
   * A send whose last try ended with its outcome unknown is not repeated
   * blindly: if a status webhook has since named it (its key travels as
   * `biz_opaque_callback_data`), WhatsApp has it and the row is settled.
   */
  async function settleInDoubt(row: OutboxRow & { inDoubtSince: Date }): Promise<Delivery | null> {
    const [message] = await database.db.select({ status: messages.status }).from(messages).where(eq(messages.outboxKey, row.idempotencyKey)).limit(1);
    if (message && message.status !== 'queued') {
      return { outcome: { ok: true, status: 200, body: { reconciledBy: message.status } }, reconciledBy: message.status };
    }
    // Statuses come within seconds of an accepted send; until the window has passed, silence proves nothing.
    const waitMs = row.inDoubtSince.getTime() + deps.reconcileAfterMs - Date.now();
    if (waitMs > 0)
      return { outcome: { ok: false, retryable: true, error: 'waiting for the status webhook of a send in doubt' }, deferred: { retryInMs: waitMs } };
    if (row.attempts > deps.maxAttempts) {
      return { outcome: { ok: false, retryable: false, error: 'no status webhook for a send in doubt, and no attempt left to send it again' } };
    }
    return null;
  }

  /** A send in doubt is settled first, outside the circuit breaker: no call is made, so the breaker must not count it. */
  async function sendWhatsApp(row: OutboxRow): Promise<Delivery> {
    await deps.sendPermit();
    let payload = row.payload as WhatsAppMessage;
    let result = await deps.whatsapp.send(payload, row.idempotencyKey);
    if (!result.ok && result.graphError?.code === OUTSIDE_WINDOW_CODE && deps.reengageTemplate && payload.type !== 'template' && (await isAgentMessage(row))) {
      payload = asTemplate(payload, deps.reengageTemplate);
      await database.db.update(outbox).set({ payload }).where(eq(outbox.id, row.id));
      logger.info(
        { event: 'outbox.reengage_template', outboxId: row.id, lane: maskLane(row.lane) },
        'outside the 24-hour window: sending the agent message as the template',
      );
      await deps.sendPermit();
      result = await deps.whatsapp.send(payload, row.idempotencyKey);
    }
    return { outcome: result, waMessageId: result.waMessageId };
  }

  async function isAgentMessage(row: OutboxRow): Promise<boolean> {
    const [message] = await database.db.select({ author: messages.author }).from(messages).where(eq(messages.outboxKey, row.idempotencyKey)).limit(1);
    return message?.author === 'agent';
  }

  /** The event that tells the actors an effect finally failed, so a user is never left waiting on it. */
  function failureFeedback(row: OutboxRow, error: string): PipelineEvent | undefined {
    if (row.kind === 'crm.agent_request' && row.ticketId) {
      const phone = (row.payload as { userPhone: string }).userPhone;
      return pipelineEvent('crm.agent_request.result', phone, `outbox:${row.id}:result`, { ticketId: row.ticketId, outcome: 'failed', error });
    }
    if (row.kind === 'customer.lookup') {
      const { phone, document } = row.payload as { phone: string; document: string };
      return pipelineEvent('customer.lookup.result', phone, `outbox:${row.id}:result`, { document, outcome: 'failed', error });
    }
    return undefined;
  }

  async function process(row: OutboxRow): Promise<void> {
    let delivery: Delivery;
    try {
      const settled = row.kind === 'whatsapp.send' && row.inDoubtSince ? await settleInDoubt({ ...row, inDoubtSince: row.inDoubtSince }) : null;
      delivery = settled ?? (await guarded(destinationOf(row.kind), () => deliver(row)));
    } catch (error) {
      delivery = { outcome: { ok: false, retryable: true, error: errorSummary(error) } };
    }
    const { outcome } = delivery;
    const log = { event: 'outbox.delivery', outboxId: row.id, kind: row.kind, lane: maskLane(row.lane), ticketId: row.ticketId, attempt: row.attempts };
    if (delivery.deferred) {
      // Not an attempt: no call was made. The lane waits behind this row.
      await database.db
        .update(outbox)
        .set({
          status: 'pending',
          attempts: sql`${outbox.attempts} - 1`,
          lockedUntil: null,
          nextAttemptAt: new Date(Date.now() + delivery.deferred.retryInMs),
        })
        .where(eq(outbox.id, row.id));
      metrics.outboxDeliveries.inc({ kind: row.kind, outcome: 'deferred' });
      logger.debug({ ...log, reason: outcome.ok ? undefined : outcome.error }, 'row deferred without an attempt');
      return;
    }
    // Even on the last attempt: WhatsApp may have the message, and only its status webhook can say.
    if (!outcome.ok && outcome.unknownOutcome && row.kind === 'whatsapp.send') {
      await database.db
        .update(outbox)
        .set({
          status: 'pending',
          lockedUntil: null,
          lastError: outcome.error,
          inDoubtSince: new Date(),
          nextAttemptAt: new Date(Date.now() + deps.reconcileAfterMs),
        })
        .where(eq(outbox.id, row.id));
      metrics.outboxDeliveries.inc({ kind: row.kind, outcome: 'in_doubt' });
      logger.warn(
        { ...log, error: outcome.error, reconcileInMs: deps.reconcileAfterMs },
        'send outcome unknown; waiting for its status webhook before any resend',
      );
      return;
    }
    if (outcome.ok) {
      // The feedback event goes first: if Redis is down the row stays claimable and the call is repeated,
      // which the CRM dedupes by Idempotency-Key and the worker by the event id.
      if (delivery.feedback) await deps.producer.publish([delivery.feedback]);
      await database.db.transaction(async (tx) => {
        await tx
          .update(outbox)
          .set({ status: 'done', completedAt: new Date(), lockedUntil: null, lastError: null, inDoubtSince: null, response: jsonOrNull(outcome.body) })
          .where(eq(outbox.id, row.id));
        if (delivery.waMessageId) {
          await tx
            .update(messages)
            .set({ waMessageId: delivery.waMessageId, status: 'sent', statusAt: new Date() })
            .where(sql`${messages.outboxKey} = ${row.idempotencyKey} and ${messages.status} = 'queued'`);
        }
      });
      metrics.outboxDeliveries.inc({ kind: row.kind, outcome: delivery.reconciledBy ? 'reconciled' : 'delivered' });
      if (delivery.reconciledBy) logger.info({ ...log, status: delivery.reconciledBy }, 'send reconciled by its status webhook; not sent again');
      else logger.debug(log, 'outbox row delivered');
      return;
    }
    const exhausted = !outcome.retryable || row.attempts >= deps.maxAttempts;
    if (!exhausted) {
      const delay = backoffMs(row.attempts);
      await database.db
        .update(outbox)
        .set({ status: 'pending', lockedUntil: null, lastError: outcome.error, nextAttemptAt: new Date(Date.now() + delay) })
        .where(eq(outbox.id, row.id));
      metrics.outboxDeliveries.inc({ kind: row.kind, outcome: 'retry' });
      logger.warn({ ...log, retryInMs: delay, error: outcome.error }, 'outbox delivery failed; will retry');
      return;
    }
    const feedback = failureFeedback(row, outcome.error);
    if (feedback) await deps.producer.publish([feedback]);
    await database.db.transaction(async (tx) => {
      await tx.update(outbox).set({ status: 'failed', completedAt: new Date(), lockedUntil: null, lastError: outcome.error }).where(eq(outbox.id, row.id));
      if (row.kind === 'whatsapp.send') {
        // Only a message still queued: a status webhook that already said sent or delivered has the last word.
        const failed = await tx
          .update(messages)
          .set({ status: 'failed', statusAt: new Date(), error: { message: outcome.error } })
          .where(sql`${messages.outboxKey} = ${row.idempotencyKey} and ${messages.status} = 'queued'`)
          .returning({ id: messages.id });
        const { graphError } = outcome as { graphError?: { code: number; title?: string } };
        if (failed.length > 0) await reportFailedAgentMessage(tx, row.idempotencyKey, graphError ?? { message: outcome.error.slice(0, 300) }, new Date());
      }
    });
    metrics.outboxDeliveries.inc({ kind: row.kind, outcome: 'failed' });
    logger.error({ ...log, error: outcome.error, retryable: outcome.retryable }, 'outbox delivery failed for good');
  }

  /** One pass: claim what is due and deliver it. Returns how many rows it handled. */
  async function drainOnce(): Promise<number> {
    const rows = await claim();
    await Promise.all(
      rows.map((row) =>
        process(row).catch((error: Error) => {
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

const stringOrUndefined = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);
/** An agent's message re-cut as the re-engagement template: its text (or caption, or link) fills the one body variable. */
function asTemplate(message: WhatsAppMessage, template: { name: string; languageCode: string }): WhatsAppMessage {
  const media = message[message.type] as { caption?: string; link?: string } | undefined;
  const text = message.type === 'text' ? (message.text as { body: string }).body : (media?.caption ?? media?.link ?? '');
  return templateMessage(message.to, template.name, template.languageCode, text);
}

const jsonOrNull = (value: unknown) => (value === undefined || value === '' ? null : value);
const maskLane = (lane: string) => lane.replace(/:(.+)$/, (_, phone: string) => `:${maskPhone(phone)}`);
