import { eventIds } from '../../domain/event-ids';
import { laneKey } from '../../domain/lanes';
import { pipelineEvent } from '../../domain/events';
import type { CustomerDirectory } from '../../integrations/customers';
import { isBsuid } from '../../domain/user-ids';
import type { Deliverer } from '../outcome';
import { errorSummary } from '../../errors';
import { maskDocument, withoutDocument } from '../../domain/masking';

/** `phone` is the user's, absent when they hide it; on rows written before the key was told apart it is the key, perhaps a BSUID. */
type LookupPayload = { phone?: string; document: string };

/** A customer lookup: its result (found, not found, or finally failed) goes back to the conversation as an event. */
export function createLookupDeliverer(customers: CustomerDirectory): Deliverer {
  return {
    async deliver(row) {
      const payload = row.payload as LookupPayload;
      const { document } = payload;
      const phone = payload.phone && !isBsuid(payload.phone) ? payload.phone : undefined;
      // The embedded directory is a query: a database error is worth another try like a directory that does not answer.
      // Its summary, not Drizzle's message, which lists the query's parameters (the document).
      const lookup = await customers.lookup(document, phone).catch((error: unknown) => ({ ok: false as const, retryable: true, error: errorSummary(error) }));
      // A failure is logged and stored with the row: the document must be in neither, even as the directory echoed it.
      if (!lookup.ok) return { outcome: { ...lookup, error: withoutDocument(lookup.error, document) } };
      return {
        outcome: { ok: true, status: 200, body: null },
        feedback: pipelineEvent('customer.lookup.result', laneKey(row.lane), eventIds.outboxResult(row.id), lookup.result),
      };
    },
    failureFeedback(row, _graphError, error) {
      const { document } = row.payload as LookupPayload;
      return pipelineEvent('customer.lookup.result', laneKey(row.lane), eventIds.outboxResult(row.id), { document, outcome: 'failed', error });
    },
  };
}

/** What a finished lookup row keeps of its payload: the call is made, so its document is kept masked (DESIGN 7). */
export function settledLookupPayload(payload: unknown): Record<string, unknown> {
  const { document, ...rest } = payload as LookupPayload;
  return { ...rest, document: maskDocument(String(document ?? '')) };
}
