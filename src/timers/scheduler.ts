import { inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { timers } from '../db/schema';
import { pipelineEvent } from '../domain/events';
import { errorSummary } from '../errors';
import type { Logger } from '../logger';
import { createPoller } from '../lib/poller';
import type { Producer } from '../streams/producer';
import { eventIds } from '../domain/event-ids';

export interface TimerSchedulerDeps {
  database: Database;
  producer: Producer;
  logger: Logger;
  pollMs: number;
  batchSize?: number;
  /** A firing put on the stream but never applied (the entry lost with Redis) is put there again after this long, then twice as long... */
  redeliverAfterMs?: number;
}

/** Sends of one firing before it is left alone: its event keeps failing (it is in the dead-letter stream) or the stream loses it. */
const MAX_ENQUEUES = 4;
/** The re-send query runs every this many polls: due rows not yet sent are the poll's real work. */
const REDELIVERY_EVERY_POLLS = 20;

/**
 * Turns due rows of the `timers` table into `timer.fired` events on their
 * owner's partition, where the worker applies them in order with the rest of
 * the conversation. The table is the only schedule: after a restart the first
 * poll finds every overdue deadline and fires it at once.
 *
 * Firing is at-least-once (a crash between XADD and the mark, two
 * instances); acting is once: the event id is the deadline's id and due
 * time, deduplicated with every other event, and a machine ignores a firing
 * for a deadline it no longer holds.
 */
export function createTimerScheduler(deps: TimerSchedulerDeps) {
  const { database, producer, logger } = deps;
  const batchSize = deps.batchSize ?? 500;
  const redeliverAfterMs = deps.redeliverAfterMs ?? 30_000;
  let polls = 0;

  /** Whether a deadline is due and not yet on the stream: one statement, outside any transaction. */
  async function anyDue(): Promise<boolean> {
    const [row] = await database.rows<{ due: boolean }>(
      database.db,
      sql`select exists (select 1 from timers where enqueued_at is null and due_at <= now()) as due`,
    );
    return row?.due === true;
  }

  /** Due deadlines not yet on the stream, and now and then those sent long ago and still armed. */
  async function fireDue(): Promise<number> {
    const redelivering = polls++ % REDELIVERY_EVERY_POLLS === 0;
    // Most polls find nothing due: they say so in one statement instead of a transaction's three.
    if (!redelivering && !(await anyDue())) return 0;
    return database.db.transaction(async (tx) => {
      // FOR UPDATE holds off a transaction moving the same deadline until this one has marked it.
      const due = await database.rows<{
        id: string;
        conversation_key: string;
        ticket_id: string | null;
        timer: string;
        due_at: Date | string;
        enqueue_count: number;
      }>(
        tx,
        redelivering
          ? sql`select id, conversation_key, ticket_id, timer, due_at, enqueue_count from timers
                where due_at <= now() and (enqueued_at is null or (enqueue_count < ${MAX_ENQUEUES}
                  and enqueued_at < now() - ${redeliverAfterMs} * power(2, enqueue_count - 1) * interval '1 millisecond'))
                order by due_at limit ${batchSize} for update skip locked`
          : sql`select id, conversation_key, ticket_id, timer, due_at, enqueue_count from timers
                where enqueued_at is null and due_at <= now()
                order by due_at limit ${batchSize} for update skip locked`,
      );
      if (due.length === 0) return 0;
      await producer.publish(
        due.map((row) => {
          const dueAt = new Date(row.due_at).toISOString();
          return pipelineEvent('timer.fired', row.conversation_key, eventIds.timerFiring(row.id, dueAt), {
            timer: row.timer,
            dueAt,
            ...(row.ticket_id ? { ticketId: row.ticket_id } : {}),
          });
        }),
      );
      for (const row of due) {
        if (Number(row.enqueue_count) === MAX_ENQUEUES - 1) {
          logger.error(
            { event: 'timers.given_up', timer: row.timer, ticketId: row.ticket_id ?? undefined, sends: MAX_ENQUEUES },
            'deadline sent for the last time: if it fails again, re-drive its dead letter after the fix',
          );
        }
      }
      await tx
        .update(timers)
        .set({ enqueuedAt: sql`now()`, enqueueCount: sql`${timers.enqueueCount} + 1` })
        .where(
          inArray(
            timers.id,
            due.map((row) => row.id),
          ),
        );
      return due.length;
    });
  }

  let failing = false;
  const poller = createPoller({
    pollMs: deps.pollMs,
    work: async () => {
      const fired = await fireDue();
      if (failing) logger.info({ event: 'timers.recovered' }, 'deadlines are firing again');
      failing = false;
      return fired;
    },
    onError: (error) => {
      // One line per outage, not one per poll.
      if (!failing) logger.error({ event: 'timers.fire_error', error: errorSummary(error) }, 'cannot fire due deadlines; retrying every poll');
      failing = true;
    },
  });

  return {
    /** Logs what a restart re-arms, then starts firing: overdue deadlines first. */
    async start(): Promise<void> {
      const [counts] = await database.rows<{ armed: number | string; overdue: number | string }>(
        database.db,
        sql`select count(*) as armed, count(*) filter (where due_at <= now()) as overdue from timers`,
      );
      logger.info(
        { event: 'timers.rearmed', armed: Number(counts?.armed ?? 0), overdue: Number(counts?.overdue ?? 0) },
        'deadlines re-armed from the database',
      );
      poller.start();
    },
    fireDue,
    close: poller.close,
  };
}

export type TimerScheduler = ReturnType<typeof createTimerScheduler>;
