import { eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { messages, outbox, type OutboxKind, type OutboxRow } from '../db/schema';
import { pipelineEvent, type PipelineEvent } from '../events';
import type { CrmClient, CrmCall } from '../integrations/crm';
import type { CustomerDirectory } from '../integrations/customers';
import type { CallOutcome } from '../integrations/http';
import type { WhatsAppClient } from '../integrations/whatsapp';
import type { WhatsAppMessage } from '../integrations/whatsapp-messages';
import type { Logger } from '../logger';
import { maskPhone } from '../logger';
import type { Producer } from '../streams/producer';
import { errorSummary } from '../errors';
import { createPoller } from '../poller';

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
}

type Delivery = { outcome: CallOutcome; feedback?: PipelineEvent; waMessageId?: string };

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
  const { database, logger } = deps;

  async function claim(): Promise<OutboxRow[]> {
    const rows = await database.rows<{ id: number | string }>(
      database.db,
      sql`
        update outbox set status = 'in_flight', attempts = attempts + 1, locked_until = now() + ${`${deps.leaseMs} milliseconds`}::interval
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
    if (row.kind === 'whatsapp.send') {
      const result = await deps.whatsapp.send(row.payload as WhatsAppMessage, row.idempotencyKey);
      return { outcome: result, waMessageId: result.waMessageId };
    }
    const { phone, document } = row.payload as { phone: string; document: string };
    const lookup = await deps.customers.lookup(document, phone).catch((error: Error) => ({ ok: false as const, retryable: true, error: error.message }));
    if (!lookup.ok) return { outcome: lookup };
    return {
      outcome: { ok: true, status: 200, body: null },
      feedback: pipelineEvent('customer.lookup.result', phone, `outbox:${row.id}:result`, lookup.result),
    };
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
      delivery = await deliver(row);
    } catch (error) {
      delivery = { outcome: { ok: false, retryable: true, error: errorSummary(error) } };
    }
    const { outcome } = delivery;
    const log = { event: 'outbox.delivery', outboxId: row.id, kind: row.kind, lane: maskLane(row.lane), ticketId: row.ticketId, attempt: row.attempts };
    if (outcome.ok) {
      // The feedback event goes first: if Redis is down the row stays claimable and the call is repeated,
      // which the CRM dedupes by Idempotency-Key and the worker by the event id.
      if (delivery.feedback) await deps.producer.publish([delivery.feedback]);
      await database.db.transaction(async (tx) => {
        await tx
          .update(outbox)
          .set({ status: 'done', completedAt: new Date(), lockedUntil: null, lastError: null, response: jsonOrNull(outcome.body) })
          .where(eq(outbox.id, row.id));
        if (delivery.waMessageId) {
          await tx
            .update(messages)
            .set({ waMessageId: delivery.waMessageId, status: 'sent', statusAt: new Date() })
            .where(sql`${messages.outboxKey} = ${row.idempotencyKey} and ${messages.status} = 'queued'`);
        }
      });
      logger.debug(log, 'outbox row delivered');
      return;
    }
    const exhausted = !outcome.retryable || row.attempts >= deps.maxAttempts;
    if (!exhausted) {
      const delay = backoffMs(row.attempts);
      await database.db
        .update(outbox)
        .set({ status: 'pending', lockedUntil: null, lastError: outcome.error, nextAttemptAt: new Date(Date.now() + delay) })
        .where(eq(outbox.id, row.id));
      logger.warn({ ...log, retryInMs: delay, error: outcome.error }, 'outbox delivery failed; will retry');
      return;
    }
    const feedback = failureFeedback(row, outcome.error);
    if (feedback) await deps.producer.publish([feedback]);
    await database.db.transaction(async (tx) => {
      await tx.update(outbox).set({ status: 'failed', completedAt: new Date(), lockedUntil: null, lastError: outcome.error }).where(eq(outbox.id, row.id));
      if (row.kind === 'whatsapp.send') {
        await tx
          .update(messages)
          .set({ status: 'failed', statusAt: new Date(), error: { message: outcome.error } })
          .where(eq(messages.outboxKey, row.idempotencyKey));
      }
    });
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
const jsonOrNull = (value: unknown) => (value === undefined || value === '' ? null : value);
const maskLane = (lane: string) => lane.replace(/:(.+)$/, (_, phone: string) => `:${maskPhone(phone)}`);
