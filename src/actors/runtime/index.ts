import { inOrder } from '../../db/bulk';
import type { Database, Tx } from '../../db/client';
import * as store from '../../db/runtime-store';
import type { StreamEntry } from '../../domain/events';
import type { Logger } from '../../logger';
import type { Texts } from '../../domain/texts';
import { createConversationMachine, type ConversationPolicy } from '../conversation';
import { createHandoverMachine, type HandoverPolicy } from '../handover';
import type { ReengageTemplate } from './bodies';
import { applyEvents, type CorePolicy } from './core';
import { firstReadsOf, ticketsToRead } from './reads';
import type { RuntimeMetrics } from './observe';
import { businessNumbers, type BusinessNumbers } from '../../domain/business-numbers';
import type { PrivacyNotice } from '../../domain/privacy-notice';

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
  metrics: RuntimeMetrics;
  /** After a commit that changed tickets: the live views read them again. */
  ticketsChanged?: () => void;
  /** The WhatsApp numbers served (WHATSAPP_PHONE_NUMBER_IDS); none configured: every conversation is the primary's. */
  numbers?: BusinessNumbers;
  /** BOT_PAUSE_AFTER_BUSINESS_REPLY_S: how long a person answering from the WhatsApp Business app keeps the bot quiet. */
  botPauseAfterBusinessReplyS?: number;
  /** The privacy notice (BOT_TEXTS_FILE's `privacyNotice`, PRIVACY_NOTICE_VERSION); absent or null: none is sent. */
  privacyNotice?: PrivacyNotice | null;
}

/**
 * Applies stream events to the actors: the imperative shell around the pure
 * core. One call handles the batches of one or more partitions in one
 * Postgres transaction: read what they name (`db/runtime-store`), decide on
 * plain data (`core.ts`), write what was decided (the store again), and only
 * after the commit log and count. Nothing leaves the process here: the
 * outbox does that after the commit.
 */
export function createRuntime(deps: RuntimeDeps) {
  // The core gets the policy and nothing that does I/O.
  const policy: CorePolicy = {
    texts: deps.texts,
    emergencyPhone: deps.emergencyPhone,
    reengageTemplate: deps.reengageTemplate,
    publicBaseUrl: deps.publicBaseUrl,
    numbers: deps.numbers ?? businessNumbers(''),
    botPauseAfterBusinessReplyS: deps.botPauseAfterBusinessReplyS ?? 1800,
    privacyNotice: deps.privacyNotice ?? null,
    handoverPolicy: deps.handoverPolicy,
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
    const entries = batches.flatMap((batch) => batch.entries);
    const reads = firstReadsOf(entries.map((entry) => entry.event));
    const { result, afterCommit, ticketsChanged } = await deps.database.db.transaction(async (tx) => {
      // Sent together (pipelined) and run by the server in this order: each fence first, so nothing is read before an
      // ex-owner's transaction on the partition has ended.
      const fences: Promise<unknown>[] = [
        ...(options.lockTimeoutMs ? [store.setLockTimeout(tx, options.lockTimeoutMs)] : []),
        ...batches.flatMap((partition) => (partition.fence ? [partition.fence(tx)] : [])),
      ];
      const reading = store.readFirst(tx, entries, reads);
      await inOrder([...fences, reading]);
      const first = await reading;
      const fresh = first.fresh.map((entry) => entry.event);
      const tickets = await store.readTickets(tx, ticketsToRead(first, fresh));
      const io = { now: new Date(), nextTicketNumber: () => store.nextTicketNumber(tx) };
      const applied = await applyEvents({ ...first, tickets }, fresh, policy, io);
      await store.write(tx, applied.writes);
      const result = { applied: fresh.length, duplicates: entries.length - fresh.length };
      return { result, afterCommit: applied.afterCommit, ticketsChanged: applied.writes.tickets.length > 0 };
    });
    afterCommit.run(deps.logger, deps.metrics);
    if (ticketsChanged) deps.ticketsChanged?.();
    return result;
  }

  /** `fence` runs first in the transaction and throws when this instance no longer owns the partition (its lease was taken over). */
  const applyBatch = (entries: StreamEntry[], fence?: (tx: Tx) => Promise<void>) => applyBatches([{ entries, fence }]);

  return { applyBatch, applyBatches };
}
