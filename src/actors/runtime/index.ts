import { inOrder, preparedStatement, runPrepared } from '../../db/bulk';
import type { Database, Tx } from '../../db/client';
import type { StreamEntry } from '../../events';
import type { Logger } from '../../logger';
import type { Metrics } from '../../metrics';
import type { Texts } from '../../texts';
import { createConversationMachine, type ConversationPolicy } from '../conversation';
import { createHandoverMachine, type HandoverPolicy } from '../handover';
import { Batch, claimFreshEvents } from './batch';
import type { ReengageTemplate } from './bodies';
import { AfterCommit } from './observe';

/** For this transaction only: a lock waited on longer than this fails it (55P03). */
const LOCK_TIMEOUT = preparedStatement("select set_config('lock_timeout', $1, true)");

/** One partition's entries, in stream order, and the fence of the lease they were read under. */
export interface PartitionBatch {
  entries: StreamEntry[];
  fence?: (tx: Tx) => Promise<void>;
}

export interface RuntimeDeps {
  database: Database;
  texts: Texts;
  emergencyPhone: string;
  logger: Logger;
  handoverPolicy: HandoverPolicy;
  conversationPolicy: ConversationPolicy;
  /** The approved template an agent's message goes out as past WhatsApp's window; null: such messages are refused. */
  reengageTemplate: ReengageTemplate;
  /** Where the CRM reaches this service (PUBLIC_BASE_URL): a user-message's `mediaUrl` is under it. */
  publicBaseUrl: string;
  metrics: Pick<Metrics, 'handoverWait' | 'ticketDuration'>;
}

/**
 * Applies stream events to the actors. One call handles the batches of one
 * or more partitions in one Postgres transaction: fence, dedupe, load the snapshots, run
 * XState's pure `transition()`, and write snapshots, history, outbox rows and
 * ticket events together. Nothing leaves the process here: the outbox does
 * that after the commit.
 */
export function createRuntime(deps: RuntimeDeps) {
  const batchDeps = {
    ...deps,
    conversationMachine: createConversationMachine(deps.conversationPolicy),
    handoverMachine: createHandoverMachine(deps.handoverPolicy),
  };

  /**
   * Applies several partitions' batches in one transaction: each fence first
   * (they throw when this instance no longer owns a partition), then the
   * events of every batch, each batch in its order. A partition's events
   * touch only its own conversations and tickets, so batches of different
   * partitions never depend on each other's order; one transaction for
   * many is fewer statements, round trips and commits per event.
   */
  async function applyBatches(batches: PartitionBatch[], options: { lockTimeoutMs?: number } = {}): Promise<{ applied: number; duplicates: number }> {
    const afterCommit = new AfterCommit(deps.logger, deps.metrics);
    const entries = batches.flatMap((batch) => batch.entries);
    const result = await deps.database.db.transaction(async (tx) => {
      const batch = new Batch(batchDeps, tx, afterCommit);
      // Sent together (pipelined) and run by the server in this order: each fence first, so nothing is read before an ex-owner's
      // transaction on the partition has ended; the conversations of every entry (a duplicate's too: left untouched).
      const fences: Promise<unknown>[] = [
        ...(options.lockTimeoutMs ? [runPrepared(tx, LOCK_TIMEOUT, [`${options.lockTimeoutMs}ms`])] : []),
        ...batches.flatMap((partition) => (partition.fence ? [partition.fence(tx)] : [])),
      ];
      const claiming = claimFreshEvents(tx, entries);
      await inOrder([...fences, claiming, batch.loadConversations(entries.map((entry) => entry.event))]);
      const fresh = await claiming;
      await batch.loadTickets(fresh.map((entry) => entry.event));
      for (const { event } of fresh) await batch.apply(event);
      await batch.flush();
      return { applied: fresh.length, duplicates: entries.length - fresh.length };
    });
    afterCommit.run();
    return result;
  }

  /** `fence` runs first in the transaction and throws when this instance no longer owns the partition (its lease was taken over). */
  const applyBatch = (entries: StreamEntry[], fence?: (tx: Tx) => Promise<void>) => applyBatches([{ entries, fence }]);

  return { applyBatch, applyBatches };
}
