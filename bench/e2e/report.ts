import type { CrmRoutesFigures, RouteLatency } from './crm-routes';

/** The figures of one `bun run bench:e2e` run, as the generated part of docs/bench-e2e.md. */

export interface Figures {
  load: string[];
  perEvent: { events: number; statements: number; replies: number; writes: number; redis: (readonly [string, number])[] };
  burst: { count: number; seconds: number; rate: number };
  steady: { rate: number; seconds: number; p50: number; p95: number; p99: number; max: number; rss: number[] };
  agents: { count: number; seconds: number; rate: number; graphRate: number; sendsPerSecond: number };
  shaped: { count: number; rate: number; sendsPerSecond: number };
  menus: { users: number; replies: number; seconds: number; rate: number };
  crm: CrmRoutesFigures;
  peakRss: number;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const START = '<!-- figures: written by bench/e2e.ts -->';
const END = '<!-- /figures -->';

const routeRow = (route: string, crm: CrmRoutesFigures, latency: RouteLatency) =>
  `| (e) \`${route}\` at ${crm.rate} CRM requests/s for ${crm.seconds} s (half this route), request → answer | p50 ${ms(latency.p50)}, p95 ${ms(latency.p95)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)}; ${latency.notApplied} of ${latency.count} answered 202 | p99 ≤ 100 ms: ${latency.p99 <= 100 ? 'met' : '**not met**'} |`;

export function renderFigures(
  f: Figures,
  run: { machine: string; tickets: number; concurrency: number; agentConcurrency: number; failures: string[] },
): string {
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');
  return `${START}
Run on ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC: ${run.machine}; the service, Redis, Postgres,
the load generator and the fakes share these cores. ${run.tickets} open tickets with an agent, ${run.concurrency} connections (${run.agentConcurrency} for the agent bursts).
Load average (1, 5, 15 min) at each phase: ${f.load.join('; ')}.

| Figure | Measured | Goal |
|---|---|---|
| (a) Burst of ${f.burst.count} user messages, webhook → CRM \`user-message\`, sustained | ${f.burst.rate.toFixed(0)} msg/s (${f.burst.seconds.toFixed(2)} s) | ≥ 1,000 msg/s: ${verdict(f.burst.rate >= 1000)} |
| (b) Latency webhook 200 → CRM call at ${f.steady.rate} msg/s for ${f.steady.seconds} s | p50 ${ms(f.steady.p50)}, p95 ${ms(f.steady.p95)}, p99 ${ms(f.steady.p99)}, max ${ms(f.steady.max)} | p99 ≤ 100 ms: ${verdict(f.steady.p99 <= 100)} |
| (c) Agent \`send-message\` → Graph send, shaping raised (${f.agents.sendsPerSecond}/s), ${f.agents.count} messages | ${f.agents.rate.toFixed(0)} msg/s end to end (${f.agents.graphRate.toFixed(0)}/s first to last send) | ≥ 1,000 msg/s: ${verdict(f.agents.rate >= 1000)} |
| (c) Same, shaping binding at ${f.shaped.sendsPerSecond}/s, ${f.shaped.count} messages | ${f.shaped.rate.toFixed(1)} msg/s at the Graph fake | ${f.shaped.sendsPerSecond} ± 5 %: ${verdict(Math.abs(f.shaped.rate - f.shaped.sendsPerSecond) <= f.shaped.sendsPerSecond * 0.05)} |
| (d) Bot menu replies to ${f.menus.users} users without a ticket | ${f.menus.rate.toFixed(0)} users/s (${f.menus.replies} replies, ${f.menus.seconds.toFixed(2)} s) | |
${routeRow('send-message', f.crm, f.crm.sendMessage)}
${routeRow('handover', f.crm, f.crm.handover)}
| Peak RSS of the service | ${mib(f.peakRss)} | |
| RSS every 5 s of the steady run | ${f.steady.rss.map(mib).join(', ')} | flat |
| Lost / duplicated | ${run.failures.length === 0 ? '0 / 0' : run.failures.join('; ')} | 0 / 0 |

Per event (${f.perEvent.events} events, half user messages relayed to the CRM, half agent messages sent to WhatsApp;
counted through a proxy in front of Postgres and with INFO commandstats on the benchmark's own redis-server):
${f.perEvent.statements.toFixed(2)} Postgres statements, ${f.perEvent.replies.toFixed(2)} replies awaited (statements sent together wait together), ${f.perEvent.writes.toFixed(2)} socket writes;
Redis commands: ${f.perEvent.redis.map(([command, calls]) => `${command} ${calls.toFixed(2)}`).join(', ')}.
${END}`;
}

/** The report with its generated part replaced; the rest (the profile's history, the reasons) is kept as written. */
export function renderReport(existing: string, f: Figures, run: Parameters<typeof renderFigures>[1]): string {
  const figures = renderFigures(f, run);
  const start = existing.indexOf(START);
  const end = existing.indexOf(END);
  if (start < 0 || end < 0) return `# End-to-end benchmark (\`bun run bench:e2e\`)\n\n${figures}\n`;
  return existing.slice(0, start) + figures + existing.slice(end + END.length);
}
