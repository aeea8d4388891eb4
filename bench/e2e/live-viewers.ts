/**
 * bench:e2e's LIVE_VIEWERS: supervisors with the live view open, each a
 * `GET /api/live` stream of server-sent events (DESIGN 2.1) read to the end
 * of every event, as the dashboard reads it. Counts the boards and bytes each
 * receives, so a run can say how often the service read and sent the board.
 */
import { openDatabase } from '../../src/db/client';
import { liveTickets } from '../../src/db/gauges';
import { buildBoard, FALLBACK_WINDOW_H } from '../../src/live/board';
import { boardEvent } from '../../src/live/feed';

/** What the benchmark reads of a board: its counts (the rest is the page's). */
export interface BoardCounts {
  waiting: number;
  escalated: number;
  withAgent: number;
}

export interface LiveViewers {
  /** The first board the first viewer received. */
  first: BoardCounts;
  /** Boards and bytes received so far, over every viewer. */
  received(): { boards: number; bytes: number };
  close(): void;
}

/** Opens `count` streams and resolves once each has received its first board. */
export async function openLiveViewers(options: { baseUrl: string; token: string; count: number; timeoutMs?: number }): Promise<LiveViewers> {
  const controller = new AbortController();
  const totals = { boards: 0, bytes: 0 };

  async function view(): Promise<BoardCounts> {
    const response = await fetch(`${options.baseUrl}/api/live`, { headers: { authorization: `Bearer ${options.token}` }, signal: controller.signal });
    if (response.status !== 200 || !response.body) throw new Error(`GET /api/live answered ${response.status}: ${await response.text()}`);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    let first: BoardCounts | undefined;
    const nextEvents = async (): Promise<string[]> => {
      const { done, value } = await reader.read();
      if (done) throw new Error('the live stream ended');
      totals.bytes += value.length;
      buffered += decoder.decode(value, { stream: true });
      const events = buffered.split('\n\n');
      buffered = events.pop() ?? '';
      return events;
    };
    const boardOf = (event: string) => (event.startsWith('event: board\n') ? event.slice(event.indexOf('data: ') + 6) : undefined);
    while (!first) {
      for (const event of await nextEvents()) {
        const data = boardOf(event);
        if (data === undefined) continue;
        totals.boards++;
        first ??= (JSON.parse(data) as { counts: BoardCounts }).counts;
      }
    }
    // From here on the stream is only counted, until the run closes it.
    void (async () => {
      for (;;) for (const event of await nextEvents()) if (boardOf(event) !== undefined) totals.boards++;
    })().catch(() => {});
    return first;
  }

  const timeout = setTimeout(() => controller.abort(), options.timeoutMs ?? 30_000);
  try {
    const firsts = await Promise.all(Array.from({ length: options.count }, view));
    return { first: firsts[0]!, received: () => ({ ...totals }), close: () => controller.abort() };
  } catch (error) {
    controller.abort();
    throw error;
  } finally {
    clearTimeout(timeout);
  }
}

/**
 * What one read of the board costs, as the service reads it on a change (the query, the board built, the event
 * encoded), timed here in the benchmark's process against the run's database: wall and CPU time a read, and its size.
 */
export async function boardReadCost(databaseUrl: string, reads = 50): Promise<{ wallMs: number; cpuMs: number; bytes: number }> {
  const database = await openDatabase({ databaseUrl, dataDir: '', poolSize: 1 });
  try {
    let bytes = 0;
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    for (let n = 0; n < reads; n++) {
      const now = new Date();
      bytes = boardEvent(buildBoard(await liveTickets(database, new Date(now.getTime() - FALLBACK_WINDOW_H * 3_600_000)), now)).length;
    }
    const cpu = process.cpuUsage(cpuBefore);
    return { wallMs: (performance.now() - startedAt) / reads, cpuMs: (cpu.user + cpu.system) / 1000 / reads, bytes };
  } finally {
    await database.close();
  }
}
