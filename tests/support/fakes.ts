import type { Server } from 'bun';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  raw: string;
  body: unknown;
  /** When it arrived (ms since the epoch) and the status the fake answered (set once answered). */
  receivedAt: number;
  status?: number;
}

export type Responder = (request: RecordedRequest) => Response | Promise<Response> | undefined;

export interface FakeServer {
  url: string;
  requests: RecordedRequest[];
  /** Requests to one path, in arrival order. */
  to(path: string): RecordedRequest[];
  /**
   * Overrides the default answer for the requests `handler` claims (it returns undefined for the others); a promise lets a
   * fake answer late. Overrides stack, newest first, so tests sharing a fake each claim their own requests; the returned
   * function removes this one, `respond(null)` removes them all.
   */
  respond(handler: Responder | null): () => void;
  stop(): Promise<void>;
}

/**
 * A small recording HTTP server on loopback: stands in for what lies outside
 * the product (the CRM, the Graph API, the customer directory).
 */
export function startFake(defaultResponse: (request: RecordedRequest) => Response): FakeServer {
  const requests: RecordedRequest[] = [];
  let overrides: Responder[] = [];
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const url = new URL(request.url);
      const raw = await request.text();
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        // keep the text
      }
      const recorded: RecordedRequest = {
        method: request.method,
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        raw,
        body,
        receivedAt: Date.now(),
      };
      requests.push(recorded);
      let answer: Response | Promise<Response> | undefined;
      for (const override of overrides) {
        answer = override(recorded);
        if (answer !== undefined) break;
      }
      const response = await (answer ?? defaultResponse(recorded));
      recorded.status = response.status;
      return response;
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    to: (path) => requests.filter((request) => request.path === path),
    respond: (handler) => {
      if (handler === null) {
        overrides = [];
        return () => {};
      }
      overrides = [handler, ...overrides];
      return () => {
        overrides = overrides.filter((candidate) => candidate !== handler);
      };
    },
    stop: async () => {
      await server.stop(true);
    },
  };
}

export const json = (body: unknown, status = 200) => Response.json(body, { status });

/** The CRM: accepts everything; agent-request answers with a tentative agent. */
export function startFakeCrm(): FakeServer {
  return startFake((request) =>
    request.path === '/api/bot/agent-request'
      ? json({
          success: true,
          agentAssigned: { id: 'agent_001', name: 'María González', estimatedResponseTime: '5-10 minutes' },
          ticketId: (request.body as { ticketId?: string })?.ticketId,
        })
      : json({ success: true }),
  );
}

/** The Graph API: every send accepted with a fresh wamid; a read mark or typing indicator (`status: "read"`) with `{ success: true }`, as Graph answers it. */
export function startFakeGraph(): FakeServer {
  let counter = 0;
  return startFake((request) =>
    isReadMark(request) ? json({ success: true }) : json({ messaging_product: 'whatsapp', contacts: [], messages: [{ id: `wamid.fake.${++counter}` }] }),
  );
}

/** A read mark (with or without WhatsApp's typing indicator), not a message. */
export const isReadMark = (request: RecordedRequest) => (request.body as { status?: unknown } | null)?.status === 'read';

/** A typing indicator: a read mark that also shows "typing…". */
export const isTypingIndicator = (request: RecordedRequest) =>
  isReadMark(request) && (request.body as { typing_indicator?: unknown }).typing_indicator !== undefined;

export interface DirectoryEntry {
  customerId: string;
  customerName: string;
  isInactive: boolean;
}

/** The ISP's customer directory: 200 for known documents, 404 otherwise. */
export function startFakeDirectory(entries: Record<string, DirectoryEntry>): FakeServer {
  return startFake((request) => {
    const entry = entries[request.query.get('document') ?? ''];
    return entry ? json(entry) : json({ error: 'not found' }, 404);
  });
}
