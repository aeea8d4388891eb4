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
  let queue: { batch: Batch; resolve(): void; reject(error: unknown): void }[] = [];
  let applying = false;

  const alone = (entry: (typeof queue)[number]) =>
    Promise.resolve()
      .then(() => options.applyAlone(entry.batch))
      .then(entry.resolve, entry.reject);

  async function drain(): Promise<void> {
    applying = true;
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      try {
        await options.applyTogether(group.map((entry) => entry.batch));
        for (const entry of group) entry.resolve();
      } catch {
        for (const entry of group) void alone(entry);
      }
    }
    applying = false;
  }

  return (batch) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ batch, resolve, reject });
      if (!applying) void drain();
    });
}
