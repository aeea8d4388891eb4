/**
 * bench:e2e's (e): the CRM routes now that they wait for their event to be
 * applied (DESIGN 2.1, 6: p99 ≤ 100 ms at 200 requests a second). Half
 * send-message, half handover (bot_to_human to another agent: a transfer,
 * which the ticket's machine applies and announces to the user), open loop
 * at `rate` a second for `seconds`. Each request is timed from its send to
 * its answer and is not retried: a 202 (not applied within
 * CRM_APPLY_TIMEOUT_MS) is counted as one. A ticket's handovers go one at a
 * time, so the last agent each ticket was given is the one handover-status
 * must show afterwards.
 */

export interface RouteLatency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Answered 202: accepted, not applied in time. */
  notApplied: number;
  /** Neither 200 nor 202. */
  failed: number;
}

export interface CrmRoutesFigures {
  rate: number;
  seconds: number;
  sendMessage: RouteLatency;
  handover: RouteLatency;
  /** Tickets whose status afterwards names another agent than the last one handed the ticket. */
  wrongAgent: number;
}

interface Ticket {
  phone: string;
  ticketId: string;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

function summary(samples: { ms: number; status: number }[]): RouteLatency {
  const sorted = samples.map((sample) => sample.ms).sort((a, b) => a - b);
  return {
    count: samples.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    notApplied: samples.filter((sample) => sample.status === 202).length,
    failed: samples.filter((sample) => sample.status !== 200 && sample.status !== 202).length,
  };
}

export async function measureCrmRoutes(options: {
  baseUrl: string;
  crmToken: string;
  tickets: Ticket[];
  rate: number;
  seconds: number;
}): Promise<{ figures: CrmRoutesFigures; agentMessageKeys: string[] }> {
  const { baseUrl, tickets, rate, seconds } = options;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${options.crmToken}` };
  const timed = async (path: string, body: unknown, key: string) => {
    const startedAt = performance.now();
    const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { ...headers, 'idempotency-key': key }, body: JSON.stringify(body) }).catch(
      () => undefined,
    );
    await response?.arrayBuffer();
    return { ms: performance.now() - startedAt, status: response?.status ?? 0 };
  };

  const sends: Promise<{ ms: number; status: number }>[] = [];
  const handovers: Promise<{ ms: number; status: number }>[] = [];
  const agentMessageKeys: string[] = [];
  /** Per ticket: its handover in flight (the next waits for it) and the agent it was last given. */
  const previous = new Map<string, Promise<unknown>>();
  const lastAgent = new Map<string, string>();
  const startedAt = performance.now();
  for (let n = 0; n < rate * seconds; n++) {
    const ticket = tickets[(n >> 1) % tickets.length]!;
    const named = { ticketId: ticket.ticketId, userPhone: ticket.phone };
    if (n % 2 === 0) {
      const id = `a.crm.${n}`;
      agentMessageKeys.push(`${ticket.phone}|${id}`);
      sends.push(timed('/api/crm/send-message', { ...named, agentId: 'ag-1', message: id, messageType: 'text' }, id));
    } else {
      const agent = `ag-${n}`;
      const handover = (previous.get(ticket.ticketId) ?? Promise.resolve()).then(() =>
        timed('/api/crm/handover', { ...named, agentId: agent, agentName: agent, handoverType: 'bot_to_human' }, `handover-${n}`),
      );
      lastAgent.set(ticket.ticketId, agent);
      previous.set(ticket.ticketId, handover);
      handovers.push(handover);
    }
    const wait = startedAt + ((n + 1) * 1000) / rate - performance.now();
    if (wait > 0) await Bun.sleep(wait);
  }
  const [sendSamples, handoverSamples] = await Promise.all([Promise.all(sends), Promise.all(handovers)]);

  let wrongAgent = 0;
  for (const ticket of tickets) {
    const expected = lastAgent.get(ticket.ticketId);
    if (!expected) continue;
    // A 202 is applied shortly: the status is read once the ticket's last handover was applied, or found never to be.
    let agent: string | undefined;
    for (let tries = 0; tries < 100 && agent !== expected; tries++) {
      if (tries > 0) await Bun.sleep(50);
      const response = await fetch(`${baseUrl}/api/crm/handover-status/${ticket.ticketId}`, { headers });
      agent = ((await response.json()) as { assignedAgent?: { id: string } }).assignedAgent?.id;
    }
    if (agent !== expected) wrongAgent++;
  }
  return {
    figures: { rate, seconds, sendMessage: summary(sendSamples), handover: summary(handoverSamples), wrongAgent },
    agentMessageKeys,
  };
}

/** The log lines of (e), and what makes the run fail: a request answered neither 200 nor 202, a ticket left with the wrong agent. */
export function crmRoutesVerdict(figures: CrmRoutesFigures): { lines: string[]; failures: string[] } {
  const lines: string[] = [];
  const failures: string[] = [];
  for (const [route, latency] of [
    ['send-message', figures.sendMessage],
    ['handover', figures.handover],
  ] as const) {
    lines.push(
      `(e) ${route} at ${figures.rate}/s: p50 ${latency.p50.toFixed(1)} ms, p95 ${latency.p95.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms; ${latency.notApplied} of ${latency.count} answered 202, ${latency.failed} failed`,
    );
    if (latency.failed > 0) failures.push(`(e) ${route}: ${latency.failed} requests answered neither 200 nor 202`);
  }
  if (figures.wrongAgent > 0) failures.push(`(e) handover: ${figures.wrongAgent} tickets show another agent than the last handed over`);
  return { lines, failures };
}
