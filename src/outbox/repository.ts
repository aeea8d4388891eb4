import { eq, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { preparedStatement, runPrepared } from '../db/bulk';
import type { Database } from '../db/client';
import { isOpenOutboxRow, messages, outbox, type OutboxRow } from '../db/schema';
import { statusesBelow, type DeliveryStatus } from '../domain/delivery-status';
import { settledLookupPayload } from './deliverers/lookup';

export interface RepositoryOptions {
  /** How long a claimed row stays ours before another dispatcher may take it (a crash mid-call). */
  leaseMs: number;
  /** Most rows claimed at once, unless a claim asks for fewer. */
  concurrency: number;
  /** Names this dispatcher on the rows it claims: only it renews their lease. */
  claimant?: string;
}

/**
 * The outbox rows' SQL: claiming due rows and recording each outcome of a
 * delivery. Every outcome clears the lease, so the lane's next row (or this
 * one, later) can be claimed.
 */
/** What a delivery that succeeded leaves on its row: the answer, and a send's wamid. */
export interface Delivered {
  response: unknown;
  waMessageId?: string;
}

/**
 * The statuses below `sent` on WhatsApp's ladder (domain/delivery-status.ts), as a SQL list: a send's message
 * WhatsApp has not spoken of yet. Only such a message takes the send's own outcome (sent, or failed for good).
 */
const NOT_YET_SENT = `(${statusesBelow('sent')
  .map((status) => `'${status}'`)
  .join(', ')})`;

/**
 * Deliveries recorded: the outbox rows done with their answers, and a
 * send's message row `sent` with its wamid, unless a status webhook got
 * there first (it moved the message up the ladder already). `$1` is a jsonb
 * array of `{ id, key, response, wa }`.
 *
 * Rows are found by `= any(array(…))` (one index probe each), not by a join:
 * Postgres guesses 100 rows for `jsonb_to_recordset`, and against a young
 * table's statistics it hash-joined them to a full scan of `outbox` and of
 * `messages`, 30 to 45 ms a statement in bench:soak's first minutes at 125
 * messages a second, until the tables grew past the guess.
 */
export const RECORD_DONE = preparedStatement(`
  with delivered as (
    select * from jsonb_to_recordset($1::jsonb) as d(id bigint, key text, response jsonb, wa text, payload jsonb)
  ), locked as (
    select o.id from outbox o where o.id = any(array(select id from delivered)) order by o.id for update of o
  ), finished as (
    update outbox o set status = 'done', completed_at = now(), locked_until = null, last_error = null, in_doubt_since = null,
      response = delivered.response, payload = coalesce(delivered.payload, o.payload)
    from delivered where o.id = delivered.id and o.id = any(array(select id from locked))
  ), sent as (
    select m.id, delivered.wa from messages m join delivered on m.outbox_key = delivered.key
    where m.outbox_key = any(array(select key from delivered where wa is not null))
      and delivered.wa is not null and m.status in ${NOT_YET_SENT} order by m.id for update of m
  )
  update messages m set wa_message_id = sent.wa, status = 'sent', status_at = now() from sent where m.id = sent.id`);

/** `$1` the ids (a jsonb array), `$2` the lease as an interval, `$3` the claimant: the rows still held, their leases extended. */
const RENEW_LEASES = preparedStatement(`
  update outbox set locked_until = now() + $2::interval
  where id in (
    select id from outbox
    where id in (select (jsonb_array_elements_text($1::jsonb))::bigint) and claimed_by = $3 and status = 'in_flight'
    order by id for update
  )
  returning id`);

/** A finished row's payload when it must change (null: kept as it is): a lookup's document served the call only. */
const settledPayload = (row: OutboxRow) => (row.kind === 'customer.lookup' ? settledLookupPayload(row.payload) : null);

/**
 * The claim as one statement (see `claim`): the first open row of each lane, if due, taken for `lease`. Built apart
 * so its plan can be checked against a backlog the statistics have not seen (tests/unit/outbox/repository.test.ts).
 */
export function claimQuery(db: Database['db'], { claimant, lease, limit }: { claimant: string; lease: string; limit: number }) {
  return db
    .update(outbox)
    .set({
      status: 'in_flight',
      attempts: sql`${outbox.attempts} + 1`,
      lockedUntil: sql`now() + ${lease}::interval`,
      claimedBy: claimant,
      // A send whose lease ran out was in a dispatcher that died mid-call: WhatsApp may have it.
      inDoubtSince: sql`case when ${outbox.status} = 'in_flight' and ${outbox.kind} = 'whatsapp.send' then coalesce(${outbox.inDoubtSince}, now()) else ${outbox.inDoubtSince} end`,
    })
    .where(
      // The head of each lane by a skip scan of outbox_open_lane_idx (one probe a lane), then the due ones among them:
      // testing every open row for an earlier one cost a probe per row of a backlog, 25 ms a claim at 5,000 rows.
      // The heads are looked up by id as an array (one index probe each): joined to them instead, a young table's
      // statistics made Postgres walk the whole primary key (a merge join), slower with every row until the next
      // autoanalyze flipped the plan (bench:soak's first minutes).
      sql`${outbox.id} in (
        with recursive heads as (
          (select lane, id from outbox where ${isOpenOutboxRow(sql.raw('completed_at'))} order by lane, id limit 1)
          union all
          select next.lane, next.id from heads cross join lateral (
            select lane, id from outbox where ${isOpenOutboxRow(sql.raw('completed_at'))} and lane > heads.lane order by lane, id limit 1
          ) next
        )
        select o.id from outbox o
        where o.id = any(array(select id from heads))
          and case when o.status = 'pending' then o.next_attempt_at <= now() else o.locked_until < now() end
        order by o.id
        limit ${limit}
        for update of o skip locked
      )`,
    )
    .returning();
}

export function createOutboxRepository(database: Database, options: RepositoryOptions) {
  const { db } = database;
  const claimant = options.claimant ?? crypto.randomUUID();
  const lease = `${options.leaseMs} milliseconds`;
  const setWhere = (row: OutboxRow, values: PgUpdateSetSource<typeof outbox>) => db.update(outbox).set(values).where(eq(outbox.id, row.id));

  /**
   * Many deliveries recorded in one statement (the dispatcher's group
   * commit): the outbox rows and their messages together, as the
   * data-modifying CTE and the update it feeds are one atomic statement.
   * Rows are locked in id order, as `renew` locks them: two statements that
   * lock the same rows in different orders deadlock.
   */
  async function doneAll(items: (Delivered & { row: OutboxRow })[]): Promise<void> {
    if (items.length === 0) return;
    const values = items.map(({ row, response, waMessageId }) => ({
      id: row.id,
      key: row.idempotencyKey,
      response: response ?? null,
      wa: waMessageId ?? null,
      payload: settledPayload(row),
    }));
    await runPrepared(db, RECORD_DONE, [JSON.stringify(values)]);
  }

  return {
    /**
     * Claims the first open row of each lane that is due: pending and past its
     * next attempt, or in flight with its lease run out. Rows of one lane go
     * out one at a time in id order; SKIP LOCKED lets several dispatchers
     * claim side by side. The claim counts as an attempt.
     */
    async claim(limit = options.concurrency): Promise<OutboxRow[]> {
      // One statement: the claim returns the rows themselves (a second select per claim was a round trip per pass).
      const rows = await claimQuery(db, { claimant, lease, limit })
        // The same text every time: prepared once per connection.
        .prepare('outbox_claim')
        .execute();
      return rows.sort((a, b) => a.id - b.id);
    },

    /**
     * Extends the lease of rows this dispatcher still holds (a call may take
     * longer than a lease); returns those it still holds. A row missing from
     * the answer was taken by another dispatcher after this one stalled.
     */
    async renew(ids: number[]): Promise<number[]> {
      if (ids.length === 0) return [];
      const rows = await runPrepared<{ id: number | string }>(db, RENEW_LEASES, [JSON.stringify(ids), lease, claimant]);
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
    async done(row: OutboxRow, result: Delivered): Promise<void> {
      await doneAll([{ row, ...result }]);
    },

    doneAll,

    /**
     * Failed for good. A send's message is failed too, unless WhatsApp has
     * spoken of it (a status webhook said sent or more): that has the last word.
     */
    async fail(row: OutboxRow, failure: { error: string }): Promise<void> {
      await db.transaction(async (tx) => {
        const payload = settledPayload(row) ?? undefined;
        await tx
          .update(outbox)
          .set({ status: 'failed', completedAt: new Date(), lockedUntil: null, lastError: failure.error, payload })
          .where(eq(outbox.id, row.id));
        if (row.kind !== 'whatsapp.send') return;
        await tx
          .update(messages)
          .set({ status: 'failed', statusAt: new Date(), error: { message: failure.error } })
          .where(sql`${messages.outboxKey} = ${row.idempotencyKey} and ${messages.status} in ${sql.raw(NOT_YET_SENT)}`);
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
