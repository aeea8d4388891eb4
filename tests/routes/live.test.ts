import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createChangeSignal } from '../../src/live';
import { createLogger } from '../../src/logger';
import { readSse } from '../support/sse';
import { bearer, jsonRequest, METRICS_TOKEN, routeContext, type RouteContext, type TestApp } from './support';

/**
 * GET /api/live: the live view's server-sent events. No worker runs here: a test changes the tickets table and
 * signals the change as the runtime does after a commit. The whole path, two instances: tests/e2e/live-view.test.ts.
 */
let context: RouteContext;
let app: TestApp;
beforeAll(async () => {
  context = await routeContext('live');
  app = context.app();
});
afterAll(() => context.close());

const open = async () => {
  const abort = new AbortController();
  const response = await app.handle(new Request('http://localhost/api/live', { headers: bearer(METRICS_TOKEN), signal: abort.signal }));
  return { response, events: readSse(response, abort) };
};
const signalChange = () => createChangeSignal(context.redis, app.config.REDIS_KEY_PREFIX, createLogger('silent')).touch();
type Board = {
  counts: Record<string, any>;
  waiting: { ticketId: string; position: number }[];
  withAgent: { ticketId: string; agent: { id: string; name: string } }[];
  agents: any[];
};
const names = (board: Board, ticketId: string) => board.waiting.some((ticket) => ticket.ticketId === ticketId);

describe('GET /api/live', () => {
  test('without the METRICS_TOKEN it is 401, as the dashboard', async () => {
    const response = await app.handle(jsonRequest('GET', '/api/live'));
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('unauthorized');
  });

  test('with it, an event stream that starts with the board as it is', async () => {
    const waiting = await context.insertTicket({ status: 'pending', phase: 'waiting_agent', agentId: null, agentName: null });
    const { response, events } = await open();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toStartWith('text/event-stream');
    const board = await events.next<Board>();
    expect(names(board, waiting.id)).toBe(true);
    await events.close();
  });

  test('a change signalled after a commit sends the new board: a new waiting ticket, then its agent', async () => {
    const { events } = await open();
    await events.next();
    const ticket = await context.insertTicket({ status: 'pending', phase: 'waiting_agent', agentId: null, agentName: null, priority: 'alta' });
    signalChange();
    const queued = await events.next<Board>((board) => names(board, ticket.id));
    expect(queued.waiting.find((entry) => entry.ticketId === ticket.id)!.position).toBeGreaterThanOrEqual(1);

    await context.database.db.execute(
      `update tickets set status = 'active', phase = 'with_agent', agent_id = 'agent_live', agent_name = 'Lina' where id = '${ticket.id}'` as never,
    );
    signalChange();
    const taken = await events.next<Board>((board) => board.withAgent.some((entry) => entry.ticketId === ticket.id));
    expect(taken.withAgent.find((entry) => entry.ticketId === ticket.id)!.agent).toEqual({ id: 'agent_live', name: 'Lina' });
    expect(taken.agents.find((agent: { id: string }) => agent.id === 'agent_live')).toMatchObject({ open: 1, ticketIds: [ticket.id] });
    expect(names(taken, ticket.id)).toBe(false);
    await events.close();
  });

  test('no phone number, BSUID or customer name is in what the page receives', async () => {
    const ticket = await context.insertTicket({ conversationKey: 'CO.1047385771169864', customerName: 'Juana Privada' });
    const phoneTicket = await context.insertTicket({ status: 'pending', phase: 'waiting_agent', agentId: null, agentName: null });
    const { events } = await open();
    await events.next<Board>((board) => board.withAgent.some((entry) => entry.ticketId === ticket.id) && names(board, phoneTicket.id));
    expect(events.raw).not.toContain('CO.1047385771169864');
    expect(events.raw).not.toContain(phoneTicket.conversationKey);
    expect(events.raw).not.toContain('Juana');
    await events.close();
  });

  test('its counts by phase are what the handover_open_tickets gauge reports for the same tickets', async () => {
    const { events } = await open();
    const board = await events.next<Board>();
    const metrics = await (await app.handle(new Request('http://localhost/metrics', { headers: bearer(METRICS_TOKEN) }))).text();
    const gauge = Object.fromEntries(
      [...metrics.matchAll(/^handover_open_tickets\{phase="([a-z_]+)"\} (\d+)$/gm)].map(([, phase, count]) => [phase, Number(count)]),
    );
    expect(Object.keys(gauge).length).toBeGreaterThan(0);
    expect(board.counts.byPhase).toEqual(gauge);
    await events.close();
  });
});
