/**
 * A reader of a server-sent-events stream (GET /api/live), as a browser reads
 * one: events split on blank lines, comments skipped. `next(predicate)`
 * resolves with the first event from now on that matches.
 */
export interface SseReader {
  next<T = any>(predicate?: (data: T) => boolean, timeoutMs?: number): Promise<T>;
  /** Every event read so far, as text: what a test checks nothing private is in. */
  readonly raw: string;
  close(): Promise<void>;
}

export function readSse(response: Response, abort?: AbortController): SseReader {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let raw = '';
  const events: unknown[] = [];
  const waiters = new Set<() => void>();
  let done = false;
  void (async () => {
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        const text = decoder.decode(value, { stream: true });
        raw += text;
        buffer += text;
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (data) events.push(JSON.parse(data));
        }
        for (const wake of waiters) wake();
      }
    } catch {
      // Closed by the test.
    } finally {
      done = true;
      for (const wake of waiters) wake();
    }
  })();
  let cursor = 0;
  return {
    async next(predicate = () => true, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (cursor < events.length) {
          const event = events[cursor++] as never;
          if (predicate(event)) return event;
        }
        if (done) throw new Error('the stream ended');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('timed out waiting for a matching server-sent event');
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, left);
          waiters.add(wake);
        });
      }
    },
    get raw() {
      return raw;
    },
    async close() {
      abort?.abort();
      await reader.cancel().catch(() => {});
    },
  };
}
