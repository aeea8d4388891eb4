import { pipelineEvent } from '../../events';
import type { CustomerDirectory } from '../../integrations/customers';
import type { Deliverer } from '../outcome';

type LookupPayload = { phone: string; document: string };

/** A customer lookup: its result (found, not found, or finally failed) goes back to the conversation as an event. */
export function createLookupDeliverer(customers: CustomerDirectory): Deliverer {
  return {
    async deliver(row) {
      const { phone, document } = row.payload as LookupPayload;
      // The embedded directory is a query: a database error is worth another try like a directory that does not answer.
      const lookup = await customers.lookup(document, phone).catch((error: Error) => ({ ok: false as const, retryable: true, error: error.message }));
      if (!lookup.ok) return { outcome: lookup };
      return {
        outcome: { ok: true, status: 200, body: null },
        feedback: pipelineEvent('customer.lookup.result', phone, `outbox:${row.id}:result`, lookup.result),
      };
    },
    failureFeedback(row, _graphError, error) {
      const { phone, document } = row.payload as LookupPayload;
      return pipelineEvent('customer.lookup.result', phone, `outbox:${row.id}:result`, { document, outcome: 'failed', error });
    },
  };
}
