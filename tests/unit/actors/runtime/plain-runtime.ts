import { createConversationMachine } from '../../../../src/actors/conversation';
import { createHandoverMachine, type HandoverPolicy } from '../../../../src/actors/handover';
import { applyEvents, type Applied, type CorePolicy } from '../../../../src/actors/runtime/core';
import { firstReadsOf, ticketsToRead } from '../../../../src/actors/runtime/reads';
import type { SentMessage } from '../../../../src/db/runtime-store';
import type { ConversationRow, Ticket } from '../../../../src/db/schema';
import type { PipelineEvent } from '../../../../src/domain/events';
import { DEFAULT_TEXTS } from '../../../../src/domain/texts';
import { POLICY } from '../../../support/simulated-clock';
import { businessNumbers } from '../../../../src/domain/business-numbers';

export function plainPolicy(handoverPolicy: HandoverPolicy = POLICY, settings: Partial<CorePolicy> = {}): CorePolicy {
  return {
    texts: DEFAULT_TEXTS,
    emergencyPhone: '018000123456',
    reengageTemplate: null,
    publicBaseUrl: 'https://bot.example.co',
    numbers: businessNumbers(''),
    botPauseAfterBusinessReplyS: 1800,
    handoverPolicy,
    conversationMachine: createConversationMachine({ surveyTimeoutS: 600 }),
    handoverMachine: createHandoverMachine(handoverPolicy),
    ...settings,
  };
}

/**
 * The runtime's core on plain data, batch after batch, no database: the
 * conversation and ticket rows a batch writes are what the next batch reads
 * (as the store gives them back); the sent messages and the CRM keys a
 * batch's events name are whatever the test puts in. Dedupe is the store's
 * (tests/unit/actors/runtime/batch.test.ts): every event given is applied.
 */
export class PlainRuntime {
  readonly conversations = new Map<string, ConversationRow>();
  readonly tickets = new Map<string, Ticket>();
  sentMessages: SentMessage[] = [];
  crmKeys: { waMessageId: string; crmKey: string }[] = [];
  /** Ticket numbers handed out, and how many times the core asked. */
  ticketNumbers = 0;

  constructor(readonly policy: CorePolicy = plainPolicy()) {}

  async apply(...events: PipelineEvent[]): Promise<Applied> {
    const reads = firstReadsOf(events);
    const first = {
      conversations: reads.keys.flatMap((key) => this.conversations.get(key) ?? []),
      sentMessages: this.sentMessages,
      crmKeys: this.crmKeys,
    };
    const tickets = ticketsToRead(first, events).flatMap((ticketId) => this.tickets.get(ticketId) ?? []);
    const now = new Date(events[0]?.at ?? 0);
    const applied = await applyEvents({ ...first, tickets }, events, this.policy, { now, nextTicketNumber: async () => ++this.ticketNumbers });
    for (const row of applied.writes.conversations) {
      const stored = this.conversations.get(row.conversationKey);
      this.conversations.set(row.conversationKey, { ...row, createdAt: stored?.createdAt ?? row.createdAt!, updatedAt: row.updatedAt! } as ConversationRow);
    }
    for (const row of applied.writes.tickets) this.tickets.set(row.id, { ...row, revision: (this.tickets.get(row.id)?.revision ?? 0) + 1 } as Ticket);
    return applied;
  }
}
