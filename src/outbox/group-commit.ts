/**
 * Coalesces writes that arrive while one is in progress into the next one:
 * a row settled while the previous batch is being written waits for that
 * write, then goes with every other row that arrived meanwhile. Under load a
 * statement records many deliveries; alone, a row is written at once.
 */
export function createGroupCommit<T>(write: (items: T[]) => Promise<void>): (item: T) => Promise<void> {
  let queue: { item: T; resolve(): void; reject(error: unknown): void }[] = [];
  let writing = false;

  async function drain(): Promise<void> {
    writing = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await write(batch.map((entry) => entry.item));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    writing = false;
  }

  return (item) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!writing) void drain();
    });
}
