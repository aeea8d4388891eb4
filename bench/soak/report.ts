/**
 * bench:soak's figures: per minute (by the minute each message was started),
 * the latencies against DESIGN 6's budgets, what the probes saw, and the
 * tables; rendered as one block of docs/bench-soak.md per phase.
 */
import type { SoakFakes } from './fakes';
import type { Tally } from './ledger';
import type { MinuteProbe, TableStat } from './probes';
import type { Rates, Records } from './traffic';

export const BUDGET = { webhookToCrmMs: 100, sendMessageToGraphMs: 150 };

export interface Minute {
  minute: number;
  rates: Rates;
  users: { count: number; p50: number; p99: number };
  agents: { count: number; p50: number; p99: number; answerP99: number; notApplied: number };
  statuses: number;
  walks: { count: number; p99: number };
  closes: number;
  probe?: MinuteProbe;
}

export interface PhaseResult {
  name: string;
  title: string;
  instances: number;
  minutes: Minute[];
  tablesBefore: TableStat[];
  tally: Tally;
  uptime: string;
  machine: string;
  openTickets: number;
  notes: string[];
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sortedOf = (values: number[]) => values.sort((a, b) => a - b);

/** Minute m's figures from what the traffic recorded and the fakes saw so far; a message not arrived counts as infinitely late. */
export function minuteFigures(m: number, rates: Rates, t0: number, records: Records, fakes: SoakFakes, statusesPosted: number[]): Minute {
  const inMinute = (at: number) => Math.floor((at - t0) / 60_000) === m;
  const users = sortedOf(records.users.filter((u) => inMinute(u.acceptedAt)).map((u) => (fakes.crmFirst.get(u.id) ?? Infinity) - u.acceptedAt));
  const agents = records.agents.filter((a) => inMinute(a.startedAt));
  const toGraph = sortedOf(agents.map((a) => (fakes.graphFirst.get(a.key) ?? Infinity) - a.startedAt));
  const walks = sortedOf(records.walks.filter((w) => inMinute(w.startedAt)).map((w) => w.ms));
  return {
    minute: m,
    rates,
    users: { count: users.length, p50: percentile(users, 50), p99: percentile(users, 99) },
    agents: {
      count: agents.length,
      p50: percentile(toGraph, 50),
      p99: percentile(toGraph, 99),
      answerP99: percentile(sortedOf(agents.map((a) => a.answer.ms)), 99),
      notApplied: agents.filter((a) => a.answer.status === 202).length,
    },
    statuses: statusesPosted.filter(inMinute).length,
    walks: { count: walks.length, p99: percentile(walks, 99) },
    closes: records.closes.filter((c) => inMinute(c.startedAt)).length,
  };
}

export const held = (m: Minute) => m.users.p99 <= BUDGET.webhookToCrmMs && m.agents.p99 <= BUDGET.sendMessageToGraphMs;

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : Number.isNaN(value) ? '–' : 'lost');
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const mib1 = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const mark = (ok: boolean) => (ok ? '' : ' ✗');

/** One line of the live log. */
export function minuteLine(m: Minute): string {
  const p = m.probe;
  return (
    `minute ${m.minute + 1}: ${m.users.count} user msgs p50/p99 ${ms(m.users.p50)}/${ms(m.users.p99)} ms; ` +
    `${m.agents.count} agent msgs p50/p99 ${ms(m.agents.p50)}/${ms(m.agents.p99)} ms (${m.agents.notApplied} 202); ${m.statuses} statuses; ` +
    `${m.walks.count} walks, ${m.closes} closes` +
    (p
      ? `; lag ${p.lag}, pending ${p.pending}, oldest unacked ${ms(p.oldestUnappliedMs)} ms, outbox ${p.outboxOpen}; ` +
        `RSS ${Object.values(p.rss)
          .map((r) => mib(r.last))
          .join('/')} MiB; load ${p.load[0]!.toFixed(2)}`
      : '')
  );
}

function minuteTable(result: PhaseResult): string {
  const rows = result.minutes.map((m) => {
    const p = m.probe;
    const rss = p ? Object.values(p.rss).map((r) => `${mib(r.last)} (max ${mib(r.max)})`) : [];
    return (
      `| ${m.minute + 1} | ${m.rates.user}/${m.rates.agent}/${m.rates.newUsers} | ${p?.load[0]?.toFixed(2) ?? '–'} ` +
      `| ${m.users.count} | ${ms(m.users.p50)} / ${ms(m.users.p99)}${mark(m.users.p99 <= BUDGET.webhookToCrmMs)} ` +
      `| ${m.agents.count} | ${ms(m.agents.p50)} / ${ms(m.agents.p99)}${mark(m.agents.p99 <= BUDGET.sendMessageToGraphMs)} ` +
      `| ${ms(m.agents.answerP99)} (${m.agents.notApplied}) | ${m.statuses} | ${m.walks.count} (${(m.walks.p99 / 1000).toFixed(1)} s) | ${m.closes} ` +
      `| ${p ? `${p.lag} / ${p.pending} / ${ms(p.oldestUnappliedMs)}` : '–'} | ${p ? `${p.outboxOpen} / ${ms(p.outboxOldestMs)}` : '–'} ` +
      `| ${rss.join(', ')} | ${p ? mib(p.redisBytes) : '–'} |`
    );
  });
  return [
    '| Min | Rates u/a/n per s | Load | User msgs | webhook→CRM p50 / p99 ms | Agent msgs | send-message→Graph p50 / p99 ms | send-message answer p99 ms (202s) | Statuses | Walks (p99) | Closes | Worker lag max: unread / pending / oldest unacked ms | Outbox open max / oldest ms | RSS MiB at end (max) | Redis MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function tableTable(result: PhaseResult): string {
  const probes = result.minutes.flatMap((m) => (m.probe ? [m.probe] : []));
  const last = probes.at(-1)?.tables ?? [];
  const messages = result.minutes.reduce((sum, m) => sum + m.users.count + m.agents.count, 0);
  const before = (table: string) => result.tablesBefore.find((t) => t.table === table);
  const rows = last
    .filter((t) => t.bytes > 64 * 1024)
    .map((t) => {
      const sizes = probes.map((p) => mib1(p.tables.find((s) => s.table === t.table)?.bytes ?? 0));
      const dead = probes.map((p) => p.tables.find((s) => s.table === t.table)?.dead ?? 0);
      const grown = t.bytes - (before(t.table)?.bytes ?? 0);
      const vacuums = t.autovacuums - (before(t.table)?.autovacuums ?? 0);
      const analyzes = t.autoanalyzes - (before(t.table)?.autoanalyzes ?? 0);
      return `| ${t.table} | ${mib1(before(t.table)?.bytes ?? 0)} | ${sizes.join(' · ')} | ${(grown / Math.max(1, messages)).toFixed(0)} | ${dead.join(' · ')} | ${vacuums} / ${analyzes} |`;
    });
  const total = last.reduce((sum, t) => sum + t.bytes, 0) - result.tablesBefore.reduce((sum, t) => sum + t.bytes, 0);
  return [
    `Postgres per table (MiB at the start, then at each minute's end; growth in bytes per conversation message, user or agent, ${messages} in all; dead tuples at each minute's end; autovacuum / autoanalyze runs during the phase). All tables together grew ${mib1(total)} MiB, ${(total / Math.max(1, messages)).toFixed(0)} bytes a message.`,
    '',
    '| Table | Start MiB | MiB at each minute | Bytes / msg | Dead tuples at each minute | Autovacuum / autoanalyze |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export function verdict(result: PhaseResult): string[] {
  const over = (pick: (m: Minute) => number, budget: number) => result.minutes.filter((m) => !(pick(m) <= budget)).map((m) => m.minute + 1);
  const usersOver = over((m) => m.users.p99, BUDGET.webhookToCrmMs);
  const agentsOver = over((m) => m.agents.p99, BUDGET.sendMessageToGraphMs);
  const { tally } = result;
  const probes = result.minutes.flatMap((m) => (m.probe ? [m.probe] : []));
  const rssTrend = Object.keys(probes[0]?.rss ?? {}).map((name) => {
    const first = probes[0]!.rss[name]!.last;
    const last = probes.at(-1)!.rss[name]!.last;
    return `${name} ${mib(first)} → ${mib(last)} MiB (${((last - first) / 2 ** 20 / Math.max(1, probes.length - 1)).toFixed(1)} MiB a minute)`;
  });
  return [
    `- Every minute's p99 webhook → CRM ≤ ${BUDGET.webhookToCrmMs} ms: ${usersOver.length === 0 ? 'held' : `**not held** in minute(s) ${usersOver.join(', ')}`}.`,
    `- Every minute's p99 send-message → Graph ≤ ${BUDGET.sendMessageToGraphMs} ms: ${agentsOver.length === 0 ? 'held' : `**not held** in minute(s) ${agentsOver.join(', ')}`}.`,
    `- RSS from the first minute's end to the last: ${rssTrend.join('; ')}.`,
    `- Counted at the fakes: ${tally.userMessages.sent} user messages (${tally.userMessages.lost} lost, ${tally.userMessages.duplicated} duplicated), ` +
      `${tally.agentMessages.sent} agent messages (${tally.agentMessages.lost} lost, ${tally.agentMessages.duplicated} duplicated), ` +
      `${tally.botReplies.sent} bot replies (${tally.botReplies.duplicated} twice), ${tally.ticketUpdates.sent} ticket updates (${tally.ticketUpdates.duplicated} twice), ` +
      `${tally.statuses.posted} status webhooks for ${tally.statuses.sends} sends, ${tally.statuses.read} of them \`read\` in the history.`,
    `- ${tally.failures.length === 0 ? 'Nothing lost or duplicated; no walk or close got stuck.' : `**Failures**: ${tally.failures.slice(0, 10).join('; ')}${tally.failures.length > 10 ? ` (and ${tally.failures.length - 10} more)` : ''}.`}`,
  ];
}

export const phaseMarkers = (name: string) => [`<!-- soak:${name} -->`, `<!-- /soak:${name} -->`] as const;

export function renderPhase(result: PhaseResult): string {
  const [start, end] = phaseMarkers(result.name);
  const minutes = result.minutes.length;
  const short = minutes < 10 ? `**Short validation run (${minutes} min, not the ten-minute soak).** ` : '';
  return `${start}
### ${result.title}

${short}Run on ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC: ${result.machine}. \`uptime\` before the traffic: \`${result.uptime}\`.
${result.instances} instance(s); ${result.openTickets} tickets open with an agent when the measured minutes began.${result.notes.map((note) => `\n${note}`).join('')}

${verdict(result).join('\n')}

${minuteTable(result)}

${tableTable(result)}
${end}`;
}

/** The report with each phase's block replaced (or added at the end); the rest is kept as written. */
export function renderReport(existing: string, results: PhaseResult[]): string {
  let text = existing || '# Soak benchmark (`bun run bench:soak`)\n';
  for (const result of results) {
    const [start, end] = phaseMarkers(result.name);
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    text = from >= 0 && to >= 0 ? text.slice(0, from) + renderPhase(result) + text.slice(to + end.length) : `${text.trimEnd()}\n\n${renderPhase(result)}\n`;
  }
  return text;
}
