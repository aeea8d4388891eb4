import { batchWhileBusy, type Waiting } from '../lib/batch-while-busy';

/**
 * Partition batches applied together: the batches handed in while a
 * transaction is in flight go, all of them, in the next one. Each partition
 * has its own reader, so at a thousand events a second over eight partitions
 * a batch is a handful of events, and a transaction's fixed cost (begin,
 * fence, dedupe, loads, one write per table, commit) was paid per handful.
 * Coalesced, it is paid once for every partition that had something; alone,
 * a batch is applied at once, as before.
 *
 * A group that fails is not anyone's fault in particular: each of its
 * batches is then applied on its own, as if it had come alone, so a fenced
 * partition gets its FencedError, a bad entry fails only its own partition
 * (whose reader then isolates it), and the others commit. Those retries run
 * beside the next groups, never in front of them: a batch that waits on a
 * lock (a fence held by a paused ex-owner's open transaction, for as long as
 * that lasts) holds up its own partition only. `applyTogether` is expected
 * to give up on a lock it waits on too long; `applyAlone` waits.
 */
export function createCoalescer<Batch>(options: {
  /** Applies one or more batches in one transaction, giving up on a lock it waits on too long. */
  applyTogether(batches: Batch[]): Promise<void>;
  /** Applies one batch in a transaction of its own. */
  applyAlone(batch: Batch): Promise<void>;
}): (batch: Batch) => Promise<void> {
  // Not awaited: a batch retried alone must not hold up the groups behind it.
  const alone = (waiting: Waiting<Batch>) =>
    Promise.resolve()
      .then(() => options.applyAlone(waiting.item))
      .then(waiting.resolve, waiting.reject);
  return batchWhileBusy({
    flush: options.applyTogether,
    onFailure: (group) => group.forEach((waiting) => void alone(waiting)),
  });
}
