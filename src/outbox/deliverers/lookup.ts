import { pipelineEvent } from '../../events';
import type { CustomerDirectory } from '../../integrations/customers';
import { isBsuid } from '../../user-ids';
import type { Deliverer } from '../outcome';

/** `key` is the conversation's; `phone` the user's, absent when they hide it. Rows from before `key` have only `phone`, which was the key. */
type LookupPayload = { key?: string; phone?: string; document: string };

const keyOf = (payload: LookupPayload) => payload.key ?? payload.phone ?? '';

/** A customer lookup: its result (found, not found, or finally failed) goes back to the conversation as an event. */
export function createLookupDeliverer(customers: CustomerDirectory): Deliverer {
  return {
    async deliver(row) {
      const payload = row.payload as LookupPayload;
      const { document } = payload;
      const phone = payload.phone && !isBsuid(payload.phone) ? payload.phone : undefined;
      // The embedded directory is a query: a database error is worth another try like a directory that does not answer.
      const lookup = await customers.lookup(document, phone).catch((error: Error) => ({ ok: false as const, retryable: true, error: error.message }));
      if (!lookup.ok) return { outcome: lookup };
      return {
        outcome: { ok: true, status: 200, body: null },
        feedback: pipelineEvent('customer.lookup.result', keyOf(payload), `outbox:${row.id}:result`, lookup.result),
      };
    },
    failureFeedback(row, _graphError, error) {
      const payload = row.payload as LookupPayload;
      const { document } = payload;
      return pipelineEvent('customer.lookup.result', keyOf(payload), `outbox:${row.id}:result`, { document, outcome: 'failed', error });
    },
  };
}
