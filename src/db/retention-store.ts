import { sql, type SQL } from 'drizzle-orm';
import type { Database } from './client';

/**
 * The retention purge's statements (retention/purge.ts runs them): each
 * deletes at most `limit` rows past their time, in one short statement of
 * its own transaction. Rows another transaction holds are skipped (`for
 * update skip locked`), so the purge never waits on the worker, and the
 * worker waits on the purge at most the few milliseconds of one batch, and
 * only for a row past its retention that it touches again. Rows are picked
 * by ctid (a TID scan, no second index lookup) from an index on their age:
 * a BRIN for the append-only messages and outbox, btrees elsewhere.
 */

/** A conversation past its retention, as the Redis id map knows it. */
export interface ExpiredConversation {
  conversationKey: string;
  userPhone: string | null;
  bsuid: string | null;
}

/** `select ctid … for update skip locked` deleted, counted. */
const deleteByCtid = (table: string, where: SQL, limit: number): SQL => sql`
  with deleted as (
    delete from ${sql.identifier(table)} where ctid = any(array(
      select ctid from ${sql.identifier(table)} where ${where} limit ${limit} for update skip locked))
    returning 1)
  select count(*)::int as n from deleted`;

/** A time as a parameter: postgres.js takes no Date in raw SQL. */
const at = (time: Date): SQL => sql`${time.toISOString()}::timestamptz`;

export function createRetentionStore(database: Database) {
  const { db } = database;
  const count = async (query: SQL) => Number((await database.rows<{ n: number }>(db, query))[0]?.n ?? 0);

  return {
    /** Dedupe records (processed_events) applied before `before`. */
    dedupe: (before: Date, limit: number) => count(deleteByCtid('processed_events', sql`processed_at < ${at(before)}`, limit)),

    /**
     * Outbox rows delivered before `delivered`, or failed for good before `failed`. An erasure's notice to the
     * CRM names the subscriber: it goes as soon as it is delivered.
     */
    outbox: (delivered: Date, failed: Date, limit: number) =>
      count(
        deleteByCtid(
          'outbox',
          sql`(status = 'done' and (created_at < ${at(delivered)} or kind = 'crm.subscriber_erased')) or (status = 'failed' and created_at < ${at(failed)})`,
          limit,
        ),
      ),

    /** Messages (the history) written before `before`. */
    messages: (before: Date, limit: number) => count(deleteByCtid('messages', sql`created_at < ${at(before)}`, limit)),

    /** Tickets closed before `before`, with their events; their KPI rows stay (`kpis`). */
    tickets: (before: Date, limit: number) =>
      count(sql`
        with doomed as (
          select id from tickets where status = 'closed' and requested_at < ${at(before)} and closed_at < ${at(before)}
          limit ${limit} for update skip locked),
        events as (delete from ticket_events where ticket_id in (select id from doomed) returning 1),
        deleted as (delete from tickets where id in (select id from doomed) returning 1)
        select (select count(*) from deleted)::int as n, (select count(*) from events)::int as events`),

    /**
     * KPI rows of tickets requested before `before`, and the rollups of the days before it (a month's row goes with
     * its last day): the KPI query reads a range from either, so both keep the same time.
     */
    kpis: async (before: Date, limit: number) => {
      await db.execute(sql`
        with days as (delete from kpi_rollup_days where day < (${at(before)} at time zone 'UTC')::date returning 1)
        delete from kpi_rollups
        where (period = 'day' and start < (${at(before)} at time zone 'UTC')::date)
           or (period = 'month' and start + interval '1 month' <= (${at(before)} at time zone 'UTC')::date)`);
      return count(deleteByCtid('ticket_kpis', sql`requested_at < ${at(before)}`, limit));
    },

    /**
     * Conversations untouched since `before`, with no open ticket and no armed deadline: the users who left.
     * `forget` runs with their rows locked, before they go (their ids in Redis); if it throws, nothing is deleted.
     */
    conversations: (before: Date, limit: number, forget: (expired: ExpiredConversation[]) => Promise<void>) =>
      db.transaction(async (tx) => {
        const expired = await database.rows<ExpiredConversation>(
          tx,
          sql`
            select conversation_key as "conversationKey", user_phone as "userPhone", bsuid from conversations c
            where updated_at < ${at(before)}
              and not exists (select 1 from tickets t where t.conversation_key = c.conversation_key and t.status <> 'closed')
              and not exists (select 1 from timers d where d.conversation_key = c.conversation_key)
            limit ${limit} for update of c skip locked`,
        );
        if (expired.length === 0) return 0;
        await forget(expired);
        const keys = JSON.stringify(expired.map((row) => row.conversationKey));
        await tx.execute(sql`delete from conversations where conversation_key in (select jsonb_array_elements_text(${keys}::jsonb))`);
        return expired.length;
      }),
  };
}

export type RetentionStore = ReturnType<typeof createRetentionStore>;
