import type { LiveTicketRow } from '../db/gauges';

/**
 * The live view (GET /api/live): what is happening now, built from the
 * tickets as stored. Tickets are named by their id, their agent by the CRM's
 * id and name; no phone, BSUID, username or customer name is in it (the rows
 * carry none). Lists are capped, the counts are whole.
 */
export interface LiveBoard {
  /** When it was read (the server's clock): the page counts waits from here. */
  at: string;
  counts: {
    waiting: number;
    escalated: number;
    withAgent: number;
    /** Closed as `fallback` (the user got the emergency number) in the last FALLBACK_WINDOW_H hours. */
    fallbacks: number;
    /** Tickets not closed, by phase: what `handover_open_tickets` reports for the same state. */
    byPhase: Record<string, number>;
  };
  /** Waiting for an agent, in queue order: priority, then arrival. */
  waiting: WaitingTicket[];
  /** Up the escalation ladder (re-requested, or in the supervisor's queue), waiting or with a silent agent. */
  escalated: WaitingTicket[];
  fallbacks: { ticketId: string; category: string; priority: string; requestedAt: string; closedAt: string }[];
  withAgent: { ticketId: string; category: string; priority: string; phase: string; agent: LiveAgent; assignedAt: string | null; lastActivityAt: string }[];
  /** Each agent holding tickets, the busiest first. */
  agents: (LiveAgent & { open: number; ticketIds: string[] })[];
}

export interface LiveAgent {
  id: string;
  name: string;
}

export interface WaitingTicket {
  ticketId: string;
  /** 1 is next. */
  position: number | null;
  category: string;
  priority: string;
  phase: string;
  escalations: number;
  requestedAt: string;
  agent: LiveAgent | null;
}

/** How far back the fallen-back tickets go. */
export const FALLBACK_WINDOW_H = 24;
/** At most this many tickets per list: a desk with thousands waiting still gets a page a browser draws at once. */
export const LIST_LIMIT = 100;

const PRIORITY_RANK: Record<string, number> = { alta: 0, media: 1, baja: 2 };
const ESCALATED_PHASES = new Set(['escalated', 'supervisor_queue']);

const iso = (date: Date) => date.toISOString();
const agentOf = (row: LiveTicketRow): LiveAgent | null => (row.agentId ? { id: row.agentId, name: row.agentName ?? row.agentId } : null);

export function buildBoard(rows: readonly LiveTicketRow[], now: Date): LiveBoard {
  const open = rows.filter((row) => row.status !== 'closed');
  const byPhase: Record<string, number> = {};
  for (const row of open) byPhase[row.phase] = (byPhase[row.phase] ?? 0) + 1;

  const queue = open
    .filter((row) => row.status === 'pending')
    .sort(
      (a, b) =>
        (PRIORITY_RANK[a.priority] ?? 9) - (PRIORITY_RANK[b.priority] ?? 9) || a.requestedAt.getTime() - b.requestedAt.getTime() || a.id.localeCompare(b.id),
    );
  const positions = new Map(queue.map((row, index) => [row.id, index + 1]));
  const waitingView = (row: LiveTicketRow): WaitingTicket => ({
    ticketId: row.id,
    position: positions.get(row.id) ?? null,
    category: row.category,
    priority: row.priority,
    phase: row.phase,
    escalations: row.escalations,
    requestedAt: iso(row.requestedAt),
    agent: agentOf(row),
  });
  const escalated = open.filter((row) => ESCALATED_PHASES.has(row.phase)).sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime());
  const active = open.filter((row) => row.status === 'active').sort((a, b) => a.lastActivityAt.getTime() - b.lastActivityAt.getTime());
  const fallbacks = rows.filter((row) => row.status === 'closed' && row.closedAt).sort((a, b) => b.closedAt!.getTime() - a.closedAt!.getTime());

  const agents = new Map<string, LiveAgent & { open: number; ticketIds: string[] }>();
  for (const row of active) {
    const agent = agentOf(row);
    if (!agent) continue;
    const entry = agents.get(agent.id) ?? { ...agent, open: 0, ticketIds: [] };
    entry.open += 1;
    entry.ticketIds.push(row.id);
    agents.set(agent.id, entry);
  }

  return {
    at: iso(now),
    counts: { waiting: queue.length, escalated: escalated.length, withAgent: active.length, fallbacks: fallbacks.length, byPhase },
    waiting: queue.slice(0, LIST_LIMIT).map(waitingView),
    escalated: escalated.slice(0, LIST_LIMIT).map(waitingView),
    fallbacks: fallbacks.slice(0, LIST_LIMIT).map((row) => ({
      ticketId: row.id,
      category: row.category,
      priority: row.priority,
      requestedAt: iso(row.requestedAt),
      closedAt: iso(row.closedAt!),
    })),
    withAgent: active.slice(0, LIST_LIMIT).map((row) => ({
      ticketId: row.id,
      category: row.category,
      priority: row.priority,
      phase: row.phase,
      agent: agentOf(row) ?? { id: '', name: '' },
      assignedAt: row.assignedAt ? iso(row.assignedAt) : null,
      lastActivityAt: iso(row.lastActivityAt),
    })),
    agents: [...agents.values()]
      .sort((a, b) => b.open - a.open || a.name.localeCompare(b.name))
      .map((agent) => ({ ...agent, ticketIds: agent.ticketIds.slice(0, LIST_LIMIT) })),
  };
}
