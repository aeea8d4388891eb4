import type { OutboxRow } from '../db/schema';
import type { PipelineEvent } from '../domain/events';
import type { CallOutcome } from '../integrations/http';
import type { GraphError } from '../integrations/whatsapp';

/** What one delivery of a row came to, before it is recorded. */
export interface Delivery {
  outcome: CallOutcome & { graphError?: GraphError };
  /** The result event the actors wait for (an agent-request's answer, a customer lookup). */
  feedback?: PipelineEvent;
  waMessageId?: string;
  /** The call was not made (the destination's circuit is open, or a send waits for its status webhook): the attempt does not count. */
  deferred?: { retryInMs: number };
  /** A status webhook already told what became of a send whose response was lost. */
  reconciledBy?: string;
  /** No call was made and none will be: the effect no longer has a point (a typing indicator past its 25 s). */
  skipped?: string;
}

/** How a row's delivery is recorded: the repository has one operation per kind. */
export type Decision =
  | { kind: 'defer'; retryInMs: number; reason?: string }
  | { kind: 'in_doubt'; error: string }
  | { kind: 'done'; response: unknown; waMessageId?: string; reconciledBy?: string; skipped?: string }
  | { kind: 'retry'; error: string; retryInMs: number }
  | { kind: 'fail'; error: string; retryable: boolean; graphError?: GraphError };

/** Full-jitter exponential backoff (AWS's "Exponential Backoff and Jitter"), capped at 5 minutes. */
export function backoffMs(attempt: number, random = Math.random): number {
  const ceiling = Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/** `attempts` counts the attempt just made: a row is claimed with its attempts already raised. */
export function decide(row: Pick<OutboxRow, 'kind' | 'attempts'>, delivery: Delivery, maxAttempts: number, random = Math.random): Decision {
  const { outcome } = delivery;
  // Not an attempt: no call was made. The lane waits behind this row.
  if (delivery.deferred) return { kind: 'defer', retryInMs: delivery.deferred.retryInMs, reason: outcome.ok ? undefined : outcome.error };
  if (delivery.skipped) return { kind: 'done', response: { skipped: delivery.skipped }, skipped: delivery.skipped };
  // Even on the last attempt: WhatsApp may have the message, and only its status webhook can say.
  if (!outcome.ok && outcome.unknownOutcome && row.kind === 'whatsapp.send') return { kind: 'in_doubt', error: outcome.error };
  if (outcome.ok) return { kind: 'done', response: jsonOrNull(outcome.body), waMessageId: delivery.waMessageId, reconciledBy: delivery.reconciledBy };
  if (outcome.retryable && row.attempts < maxAttempts) return { kind: 'retry', error: outcome.error, retryInMs: backoffMs(row.attempts, random) };
  return { kind: 'fail', error: outcome.error, retryable: outcome.retryable, graphError: outcome.graphError };
}

const jsonOrNull = (value: unknown) => (value === undefined || value === '' ? null : value);

/** Delivers the rows of one destination. */
export interface Deliverer {
  deliver(row: OutboxRow): Promise<Delivery>;
  /** The event that tells the actors an effect finally failed, so a user is never left waiting on it. */
  failureFeedback(row: OutboxRow, graphError: GraphError | undefined, error: string): PipelineEvent | undefined;
}
