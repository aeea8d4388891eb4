import { errorSummary } from '../errors';
import type { Logger } from '../logger';
import type { LiveBoard } from './board';

/**
 * One instance's live views (server-sent events): the board is read once per
 * change, whoever many supervisors watch, and the same bytes go to each.
 * While no one watches, nothing is read and nothing is subscribed.
 *
 * A change (the signal, `changes.ts`) reads the board at once, unless a read
 * ran less than `minIntervalMs` ago: then once more at the end of it, however
 * many signals came meanwhile. A change is on every page within that interval
 * plus a read (well inside 2 s) and a burst of commits costs one read per interval.
 */
export interface LiveFeedOptions {
  /** Reads the board (one query). */
  load(): Promise<LiveBoard>;
  /** Subscribes to the change signal; the returned close ends it. */
  listen(onChange: () => void): { ready: Promise<void>; close(): void };
  logger: Logger;
  minIntervalMs?: number;
  /** A comment line this often keeps proxies and the browser from closing a quiet stream. */
  keepAliveMs?: number;
  maxClients?: number;
}

export interface LiveFeed {
  /** A new viewer's stream: the board now, then each new one; null when the instance serves as many as it may. */
  open(signal?: AbortSignal): ReadableStream<Uint8Array> | null;
  /** Viewers connected to this instance. */
  readonly clients: number;
  close(): void;
}

const MIN_INTERVAL_MS = 500;
const KEEP_ALIVE_MS = 15_000;
const MAX_CLIENTS = 200;

const encoder = new TextEncoder();
export const boardEvent = (board: LiveBoard) => encoder.encode(`event: board\ndata: ${JSON.stringify(board)}\n\n`);

export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  const minIntervalMs = options.minIntervalMs ?? MIN_INTERVAL_MS;
  const clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let latest: Uint8Array | null = null;
  let listener: { ready: Promise<void>; close(): void } | null = null;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  let reading: Promise<void> | null = null;
  let again = false;
  let lastReadAt = -Infinity;
  let scheduled: ReturnType<typeof setTimeout> | undefined;

  const send = (client: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    try {
      client.enqueue(bytes);
    } catch {
      clients.delete(client);
    }
  };

  async function read(): Promise<void> {
    lastReadAt = performance.now();
    try {
      latest = boardEvent(await options.load());
      for (const client of clients) send(client, latest);
    } catch (error) {
      options.logger.warn({ event: 'live.read_failed', error: errorSummary(error) }, 'could not read the live board; the next change reads it again');
    }
  }

  /** Reads now, or at the end of the interval; a change during a read reads once more after it. */
  function changed(): void {
    if (clients.size === 0 || scheduled) return;
    if (reading) {
      again = true;
      return;
    }
    const waitMs = lastReadAt + minIntervalMs - performance.now();
    if (waitMs > 0) {
      scheduled = setTimeout(() => {
        scheduled = undefined;
        changed();
      }, waitMs);
      return;
    }
    reading = read().finally(() => {
      reading = null;
      if (again) {
        again = false;
        changed();
      }
    });
  }

  function start(): void {
    listener = options.listen(changed);
    keepAlive = setInterval(() => {
      for (const client of clients) send(client, encoder.encode(': keep-alive\n\n'));
    }, options.keepAliveMs ?? KEEP_ALIVE_MS);
    // Read once subscribed: a change committed between the read and the subscription would otherwise be missed.
    void listener.ready.then(changed, (error: unknown) =>
      options.logger.warn({ event: 'live.subscribe_failed', error: errorSummary(error) }, 'could not subscribe to ticket changes'),
    );
  }

  function stop(): void {
    listener?.close();
    listener = null;
    clearInterval(keepAlive);
    clearTimeout(scheduled);
    scheduled = undefined;
    latest = null;
  }

  const leave = (client: ReadableStreamDefaultController<Uint8Array>) => {
    if (!clients.delete(client)) return;
    if (clients.size === 0) stop();
  };

  return {
    open(signal) {
      if (clients.size >= (options.maxClients ?? MAX_CLIENTS)) return null;
      let self: ReadableStreamDefaultController<Uint8Array>;
      return new ReadableStream<Uint8Array>({
        start(controller) {
          self = controller;
          const first = clients.size === 0;
          clients.add(controller);
          // The browser reconnects by itself after 2 s if the stream ends (a restart): sooner than its default.
          controller.enqueue(encoder.encode('retry: 2000\n\n'));
          if (first) start();
          else if (latest) controller.enqueue(latest);
          signal?.addEventListener('abort', () => leave(controller), { once: true });
        },
        cancel() {
          leave(self);
        },
      });
    },
    get clients() {
      return clients.size;
    },
    close() {
      for (const client of clients) {
        try {
          client.close();
        } catch {
          // Already closed by its viewer.
        }
      }
      clients.clear();
      stop();
    },
  };
}
