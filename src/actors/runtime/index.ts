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
 * Applies stream events to the actors. One call handles one batch of one
 * partition in one Postgres transaction: dedupe, load the snapshots, run
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

  /** `fence` runs first in the transaction and throws when this instance no longer owns the partition (its lease was taken over). */
  async function applyBatch(entries: StreamEntry[], fence?: (tx: Tx) => Promise<void>): Promise<{ applied: number; duplicates: number }> {
    const afterCommit = new AfterCommit(deps.logger, deps.metrics);
    const result = await deps.database.db.transaction(async (tx) => {
      await fence?.(tx);
      const fresh = await claimFreshEvents(tx, entries);
      const batch = new Batch(batchDeps, tx, afterCommit);
      await batch.load(fresh.map((entry) => entry.event));
      for (const { event } of fresh) await batch.apply(event);
      await batch.flush();
      return { applied: fresh.length, duplicates: entries.length - fresh.length };
    });
    afterCommit.run();
    return result;
  }

  return { applyBatch };
}
