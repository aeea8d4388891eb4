import type { OutboxKind, OutboxRow } from '../../db/schema';
import { eventIds } from '../../domain/event-ids';
import { laneKey } from '../../domain/lanes';
import { pipelineEvent } from '../../domain/events';
import { parseAgentRequestAnswer, type CrmCall, type CrmClient } from '../../integrations/crm';
import type { Deliverer } from '../outcome';

const CRM_CALLS: Partial<Record<OutboxKind, CrmCall>> = {
  'crm.agent_request': 'agent-request',
  'crm.user_message': 'user-message',
  'crm.ticket_update': 'ticket-update',
  'crm.subscriber_erased': 'subscriber-erased',
};

/** The agent-request's answer goes back to the ticket's machine as an event, in the user's partition (the lane's conversation key). */
const resultKey = (row: OutboxRow) => ({ key: laneKey(row.lane), id: eventIds.outboxResult(row.id) });

/** The CRM's calls; the row's key travels as Idempotency-Key. */
export function createCrmDeliverer(crm: CrmClient): Deliverer {
  return {
    async deliver(row) {
      const call = CRM_CALLS[row.kind];
      if (!call) throw new Error(`${row.kind} is not a CRM call`);
      const outcome = await crm.send(call, row.payload, row.idempotencyKey);
      if (row.kind !== 'crm.agent_request' || !row.ticketId || !outcome.ok) return { outcome };
      const { key, id } = resultKey(row);
      return {
        outcome,
        feedback: pipelineEvent('crm.agent_request.result', key, id, {
          ticketId: row.ticketId,
          outcome: 'accepted',
          ...parseAgentRequestAnswer(outcome.body),
        }),
      };
    },
    failureFeedback(row, _graphError, error) {
      if (row.kind !== 'crm.agent_request' || !row.ticketId) return undefined;
      const { key, id } = resultKey(row);
      return pipelineEvent('crm.agent_request.result', key, id, { ticketId: row.ticketId, outcome: 'failed', error });
    },
  };
}
