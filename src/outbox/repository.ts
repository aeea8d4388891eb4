import { eq, inArray, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Database } from '../db/client';
import { messages, outbox, type DeliveryStatus, type OutboxRow } from '../db/schema';

export interface RepositoryOptions {
  /** How long a claimed row stays ours before another dispatcher may take it (a crash mid-call). */
  leaseMs: number;
  /** Most rows claimed at once. */
  concurrency: number;
  /** Names this dispatcher on the rows it claims: only it renews their lease. */
  claimant?: string;
}

/**
 * The outbox rows' SQL: claiming due rows and recording each outcome of a
 * delivery. Every outcome clears the lease, so the lane's next row (or this
 * one, later) can be claimed.
 */
export function createOutboxRepository(database: Database, options: RepositoryOptions) {
  const { db } = database;
  const claimant = options.claimant ?? crypto.randomUUID();
  const lease = `${options.leaseMs} milliseconds`;
  const setWhere = (row: OutboxRow, values: PgUpdateSetSource<typeof outbox>) => db.update(outbox).set(values).where(eq(outbox.id, row.id));

  return {
    /**
     * Claims the first open row of each lane that is due: pending and past its
     * next attempt, or in flight with its lease run out. Rows of one lane go
     * out one at a time in id order; SKIP LOCKED lets several dispatchers
     * claim side by side. The claim counts as an attempt.
     */
    async claim(): Promise<OutboxRow[]> {
      const rows = await database.rows<{ id: number | string }>(
        db,
        sql`
          update outbox set status = 'in_flight', attempts = attempts + 1, locked_until = now() + ${lease}::interval, claimed_by = ${claimant},
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
            limit ${options.concurrency}
            for update skip locked
          )
          returning id`,
      );
      if (rows.length === 0) return [];
      return db
        .select()
        .from(outbox)
        .where(
          inArray(
            outbox.id,
            rows.map((row) => Number(row.id)),
          ),
        )
        .orderBy(outbox.id);
    },

    /**
     * Extends the lease of rows this dispatcher still holds (a call may take
     * longer than a lease); returns those it still holds. A row missing from
     * the answer was taken by another dispatcher after this one stalled.
     */
    async renew(ids: number[]): Promise<number[]> {
      if (ids.length === 0) return [];
      const rows = await database.rows<{ id: number | string }>(
        db,
        sql`update outbox set locked_until = now() + ${lease}::interval
            where id = any(${sql.raw(`array[${ids.map(Number).join(',')}]::bigint[]`)}) and claimed_by = ${claimant} and status = 'in_flight'
            returning id`,
      );
      return rows.map((row) => Number(row.id));
    },

    /** No call was made: the attempt the claim counted is given back. */
    async defer(row: OutboxRow, retryInMs: number): Promise<void> {
      await setWhere(row, { status: 'pending', attempts: sql`${outbox.attempts} - 1`, lockedUntil: null, nextAttemptAt: new Date(Date.now() + retryInMs) });
    },

    /** A send whose outcome is unknown waits for its status webhook before any resend. */
    async markInDoubt(row: OutboxRow, error: string, reconcileAfterMs: number): Promise<void> {
      await setWhere(row, {
        status: 'pending',
        lockedUntil: null,
        lastError: error,
        inDoubtSince: new Date(),
        nextAttemptAt: new Date(Date.now() + reconcileAfterMs),
      });
    },

    async retry(row: OutboxRow, error: string, retryInMs: number): Promise<void> {
      await setWhere(row, { status: 'pending', lockedUntil: null, lastError: error, nextAttemptAt: new Date(Date.now() + retryInMs) });
    },

    /** Delivered. A send's message row learns its wamid and becomes `sent`, unless a status webhook got there first. */
    async done(row: OutboxRow, result: { response: unknown; waMessageId?: string }): Promise<void> {
      await db.transaction(async (tx) => {
        await tx
          .update(outbox)
          .set({ status: 'done', completedAt: new Date(), lockedUntil: null, lastError: null, inDoubtSince: null, response: result.response })
          .where(eq(outbox.id, row.id));
        if (result.waMessageId) {
          await tx
            .update(messages)
            .set({ waMessageId: result.waMessageId, status: 'sent', statusAt: new Date() })
            .where(sql`${messages.outboxKey} = ${row.idempotencyKey} and ${messages.status} = 'queued'`);
        }
      });
    },

    /**
     * Failed for good. A send's message is failed too, unless a status webhook
     * already said sent or delivered: that has the last word.
     */
    async fail(row: OutboxRow, failure: { error: string }): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.update(outbox).set({ status: 'failed', completedAt: new Date(), lockedUntil: null, lastError: failure.error }).where(eq(outbox.id, row.id));
        if (row.kind !== 'whatsapp.send') return;
        await tx
          .update(messages)
          .set({ status: 'failed', statusAt: new Date(), error: { message: failure.error } })
          .where(sql`${messages.outboxKey} = ${row.idempotencyKey} and ${messages.status} = 'queued'`);
      });
    },

    /** What WhatsApp last said of a send, through its status webhooks. */
    async deliveryStatusOf(row: OutboxRow): Promise<DeliveryStatus | undefined> {
      const [message] = await db.select({ status: messages.status }).from(messages).where(eq(messages.outboxKey, row.idempotencyKey)).limit(1);
      return message?.status;
    },
  };
}

export type OutboxRepository = ReturnType<typeof createOutboxRepository>;
