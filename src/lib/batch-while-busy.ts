/** An item waiting for the batch it goes in: its caller's promise is settled with that batch. */
export interface Waiting<T> {
  item: T;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Batch what arrives while busy: an item handed in while a batch is being
 * flushed waits for that flush, then goes with every other item that arrived
 * meanwhile, in the order they came. Under load one flush carries many
 * items; alone, an item is flushed at once. Each caller's promise settles
 * with its batch: resolved when the flush succeeded, and by default rejected
 * with the flush's error; `onFailure` decides otherwise (the stream worker
 * retries each batch of a failed group alone, streams/coalesce.ts).
 */
export function batchWhileBusy<T>(options: {
  flush(items: T[]): Promise<void>;
  /** What becomes of the items of a failed flush; by default each caller gets the error. */
  onFailure?(batch: Waiting<T>[], error: unknown): void;
}): (item: T) => Promise<void> {
  const onFailure = options.onFailure ?? ((batch, error) => batch.forEach((waiting) => waiting.reject(error)));
  let queue: Waiting<T>[] = [];
  let flushing = false;

  async function drain(): Promise<void> {
    flushing = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await options.flush(batch.map((waiting) => waiting.item));
        for (const waiting of batch) waiting.resolve();
      } catch (error) {
        onFailure(batch, error);
      }
    }
    flushing = false;
  }

  return (item) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!flushing) void drain();
    });
}
