import { Elysia } from 'elysia';
import { unavailable } from '../errors';
import type { LiveFeed } from '../live/feed';
import { bearerAuth, type BearerGuard } from './http/bearer-auth';

export interface LiveRouteDeps {
  feed: LiveFeed;
  /** Bearer METRICS_TOKEN, as the dashboard's KPIs. */
  guard: BearerGuard;
}

/**
 * GET /api/live (DESIGN 2.1): the live view as server-sent events. An `event:
 * board` with the whole board (live/board.ts) at once, then after each change,
 * within a second; a comment every 15 s keeps a quiet stream open. Any
 * instance serves it: the change signal reaches every instance (live/changes.ts).
 * The dashboard reads it with fetch, since EventSource cannot send the
 * Authorization header, and the token is never put in a URL.
 */
export const liveRoutes = ({ feed, guard }: LiveRouteDeps) =>
  new Elysia().use(bearerAuth).get(
    '/api/live',
    ({ request, server }) => {
      const stream = feed.open(request.signal);
      if (!stream) throw unavailable('live_full', 'this instance serves as many live views as it may; retry on another instance or later');
      // Bun closes a connection idle for 10 s by default; this one is quiet between changes by design.
      server?.timeout(request, 0);
      return new Response(stream, {
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
      });
    },
    { bearer: guard },
  );
