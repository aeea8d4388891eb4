import { closeReason, ticketCategory } from '../db/schema';
import { estimatedCost, type RateCard } from '../domain/rate-card';
import { emptySketch, mergeInto, quantile, sketchOf, type Sketch } from './sketch';

export interface Durations {
  /** Tickets the measure applies to (e.g. those that got an agent, for the handover wait). */
  count: number;
  averageSeconds: number | null;
  medianSeconds: number | null;
  p90Seconds: number | null;
}

export interface Kpis {
  tickets: number;
  /** The seed's reactivation against general support. */
  categories: Record<(typeof ticketCategory.enumValues)[number], number>;
  /** Request → an agent took the ticket (`bot_to_human`): the handover time. */
  handoverWait: Durations;
  /** Assignment → the agent's first message. */
  agentFirstResponse: Durations;
  /** Request → close, for resolved tickets. */
  resolutionTime: Durations;
  closed: number;
  resolved: number;
  /** Resolved over all closed tickets; the other reasons are counted in `closeReasons`. */
  resolutionRate: number | null;
  closeReasons: Record<(typeof closeReason.enumValues)[number], number>;
  csat: {
    average: number | null;
    /** Surveys offered (tickets resolved by an agent) and ratings received. */
    offered: number;
    responses: number;
    responseRate: number | null;
    distribution: Record<'1' | '2' | '3' | '4' | '5', number>;
  };
  escalations: number;
  escalatedTickets: number;
  fallbacks: number;
  /** Messages of these tickets WhatsApp charges for (their status webhooks' `pricing`), by category, and what the rate card says they cost. */
  billable: { messages: number; byCategory: Record<string, number>; estimatedCost: number | null; currency: string | null };
}

/** The operator's rate card (WHATSAPP_RATE_CARD) and its currency: an estimate of what the billable messages cost. */
export interface Rates {
  card: RateCard;
  currency: string;
}

/**
 * One duration measure of a group: its count and sum (exact averages), and
 * either the values themselves (exact median and p90) or, once rollups are
 * involved, a sketch of them (within the sketch's 1 %).
 */
export interface DurationSample {
  count: number;
  sum: number;
  values: Float64Array | null;
  sketch: Sketch | null;
}

/** The additive counts of one group: what a KPI rollup row stores (as jsonb) besides its sketches. */
export interface KpiCounts {
  tickets: number;
  categories: Record<string, number>;
  closed: number;
  closeReasons: Record<string, number>;
  csatSum: number;
  csatResponses: number;
  csatOffered: number;
  csatDistribution: Record<string, number>;
  escalations: number;
  escalatedTickets: number;
}

export type KpiGroupBy = 'day' | 'agent' | 'category' | 'number';

/** The KPIs of one group before they are read: groups merge into totals exactly. */
export interface PartialKpis extends KpiCounts {
  wait: DurationSample;
  firstResponse: DurationSample;
  resolution: DurationSample;
  /** Billable messages by pricing category (a second query fills it; never rolled up: statuses change them apart from the tickets). */
  billable: Record<string, number>;
}

export interface GroupPartial {
  key: string;
  label: string;
  partial: PartialKpis;
}

const number = (value: unknown): number => Number(value ?? 0);
const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);
const counts = (row: Record<string, unknown>, prefix: string, names: readonly (string | number)[]) =>
  Object.fromEntries(names.map((name) => [String(name), number(row[`${prefix}_${name}`])]));

/** `float8send` values, concatenated (8 bytes each, big-endian), in base64: a third less to carry than bytea's hex. */
export function doubles(base64: unknown): Float64Array {
  if (typeof base64 !== 'string') return new Float64Array(0);
  const bytes = Buffer.from(base64, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat64(i * 8, false);
  return values;
}

export function toPartial(row: Record<string, unknown>): PartialKpis {
  return {
    tickets: number(row.tickets),
    categories: counts(row, 'category', ticketCategory.enumValues),
    closed: number(row.closed),
    closeReasons: counts(row, 'reason', closeReason.enumValues),
    csatSum: number(row.csat_sum),
    csatResponses: number(row.csat_responses),
    csatOffered: number(row.csat_offered),
    csatDistribution: counts(row, 'csat', [1, 2, 3, 4, 5]),
    escalations: number(row.escalations),
    escalatedTickets: number(row.escalated_tickets),
    wait: exactSample(doubles(row.wait)),
    firstResponse: exactSample(doubles(row.first_response)),
    resolution: exactSample(doubles(row.resolution)),
    billable: {},
  };
}

export function exactSample(values: Float64Array): DurationSample {
  let sum = 0;
  for (const value of values) sum += value;
  return { count: values.length, sum, values, sketch: null };
}

export function sketchedSample(count: number, sum: number, sketch: Sketch): DurationSample {
  return { count, sum, values: null, sketch };
}

/** Exact while every part is; otherwise one sketch of all of them. */
export function mergeSamples(samples: DurationSample[]): DurationSample {
  const count = samples.reduce((total, sample) => total + sample.count, 0);
  const sum = samples.reduce((total, sample) => total + sample.sum, 0);
  if (samples.every((sample) => sample.values)) return { count, sum, values: concat(samples.map((sample) => sample.values!)), sketch: null };
  const sketch = emptySketch();
  for (const sample of samples) mergeInto(sketch, sample.sketch ?? sketchOf(sample.values!));
  return { count, sum, values: null, sketch };
}

function concat(arrays: Float64Array[]): Float64Array {
  const all = new Float64Array(arrays.reduce((size, array) => size + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    all.set(array, offset);
    offset += array.length;
  }
  return all;
}

function sumRecords(records: Record<string, number>[], names: readonly (string | number)[]): Record<string, number> {
  return Object.fromEntries(names.map((name) => [String(name), records.reduce((sum, record) => sum + (record[String(name)] ?? 0), 0)]));
}

export function merge(partials: PartialKpis[]): PartialKpis {
  const sum = (pick: (partial: PartialKpis) => number) => partials.reduce((total, partial) => total + pick(partial), 0);
  return {
    tickets: sum((p) => p.tickets),
    categories: sumRecords(
      partials.map((p) => p.categories),
      ticketCategory.enumValues,
    ),
    closed: sum((p) => p.closed),
    closeReasons: sumRecords(
      partials.map((p) => p.closeReasons),
      closeReason.enumValues,
    ),
    csatSum: sum((p) => p.csatSum),
    csatResponses: sum((p) => p.csatResponses),
    csatOffered: sum((p) => p.csatOffered),
    csatDistribution: sumRecords(
      partials.map((p) => p.csatDistribution),
      [1, 2, 3, 4, 5],
    ),
    escalations: sum((p) => p.escalations),
    escalatedTickets: sum((p) => p.escalatedTickets),
    wait: mergeSamples(partials.map((p) => p.wait)),
    firstResponse: mergeSamples(partials.map((p) => p.firstResponse)),
    resolution: mergeSamples(partials.map((p) => p.resolution)),
    billable: sumRecords(
      partials.map((p) => p.billable),
      [...new Set(partials.flatMap((p) => Object.keys(p.billable)))].sort(),
    ),
  };
}

/** Postgres's percentile_cont on sorted values: linear interpolation between the two closest ranks. */
export function percentile(sorted: Float64Array, fraction: number): number | null {
  if (sorted.length === 0) return null;
  const rank = fraction * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function durations(sample: DurationSample): Durations {
  const average = sample.count === 0 ? null : sample.sum / sample.count;
  if (!sample.values) {
    return { count: sample.count, averageSeconds: average, medianSeconds: quantile(sample.sketch!, 0.5), p90Seconds: quantile(sample.sketch!, 0.9) };
  }
  const sorted = sample.values.slice().sort();
  return { count: sorted.length, averageSeconds: average, medianSeconds: percentile(sorted, 0.5), p90Seconds: percentile(sorted, 0.9) };
}

/** True when every median and p90 in the report is exact; false when one came from a sketch. */
export const isExact = (partial: PartialKpis): boolean => Boolean(partial.wait.values && partial.firstResponse.values && partial.resolution.values);

export function toKpis(partial: PartialKpis, rates: Rates = { card: {}, currency: '' }): Kpis {
  const resolved = partial.closeReasons.resolved ?? 0;
  const cost = estimatedCost(partial.billable, rates.card);
  return {
    tickets: partial.tickets,
    categories: partial.categories as Kpis['categories'],
    handoverWait: durations(partial.wait),
    agentFirstResponse: durations(partial.firstResponse),
    resolutionTime: durations(partial.resolution),
    closed: partial.closed,
    resolved,
    resolutionRate: ratio(resolved, partial.closed),
    closeReasons: partial.closeReasons as Kpis['closeReasons'],
    csat: {
      average: partial.csatResponses === 0 ? null : partial.csatSum / partial.csatResponses,
      offered: partial.csatOffered,
      responses: partial.csatResponses,
      responseRate: ratio(partial.csatResponses, partial.csatOffered),
      distribution: partial.csatDistribution as Kpis['csat']['distribution'],
    },
    escalations: partial.escalations,
    escalatedTickets: partial.escalatedTickets,
    fallbacks: partial.closeReasons.fallback ?? 0,
    billable: {
      messages: Object.values(partial.billable).reduce((sum, count) => sum + count, 0),
      byCategory: partial.billable,
      estimatedCost: cost,
      currency: cost === null ? null : rates.currency,
    },
  };
}
