import { describe, expect, test } from 'bun:test';
import {
  doubles,
  durations,
  exactSample,
  isExact,
  merge,
  mergeSamples,
  percentile,
  sketchedSample,
  toKpis,
  toPartial,
  type PartialKpis,
} from '../../../src/kpis/aggregate';
import { countOf, sketchOf } from '../../../src/kpis/sketch';

/** What Postgres's `encode(string_agg(float8send(x), ''), 'base64')` gives for these values. */
function packed(values: number[]): string {
  const bytes = Buffer.alloc(values.length * 8);
  values.forEach((value, index) => bytes.writeDoubleBE(value, index * 8));
  return bytes.toString('base64');
}

/** A row of the KPI statement: the counts as Postgres returns them (bigints as strings), durations packed. */
function row(values: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tickets: '4',
    category_reactivacion_servicio: '1',
    category_soporte_agente: '3',
    closed: '3',
    reason_resolved: '2',
    reason_fallback: '1',
    csat_sum: '9',
    csat_responses: '2',
    csat_offered: '2',
    csat_4: '1',
    csat_5: '1',
    escalations: '3',
    escalated_tickets: '2',
    wait: packed([30, 10, 20]),
    first_response: packed([5]),
    resolution: null,
    ...values,
  };
}

describe('durations shipped as packed doubles', () => {
  test('decode big-endian, in order; nothing when Postgres had no value', () => {
    expect([...doubles(packed([1.5, -2, 1e9]))]).toEqual([1.5, -2, 1e9]);
    expect(doubles(null)).toHaveLength(0);
    expect(doubles('')).toHaveLength(0);
  });
});

describe('percentiles, as Postgres percentile_cont computes them', () => {
  test('interpolate between the two closest ranks', () => {
    const sorted = Float64Array.from([10, 20, 30, 40]);
    expect(percentile(sorted, 0.5)).toBe(25);
    expect(percentile(sorted, 0.9)).toBeCloseTo(37, 10);
    expect(percentile(sorted, 0)).toBe(10);
    expect(percentile(sorted, 1)).toBe(40);
  });

  test('one value is every percentile; none is null', () => {
    expect(percentile(Float64Array.from([7]), 0.9)).toBe(7);
    expect(percentile(new Float64Array(0), 0.5)).toBeNull();
  });

  test('durations sort numerically before they rank, and average all values', () => {
    expect(durations(exactSample(Float64Array.from([100, 9, 30])))).toEqual({ count: 3, averageSeconds: 139 / 3, medianSeconds: 30, p90Seconds: 86 });
    expect(durations(exactSample(new Float64Array(0)))).toEqual({ count: 0, averageSeconds: null, medianSeconds: null, p90Seconds: null });
  });

  test('reading durations leaves the group’s values as they were: a total merged afterwards pools them unchanged', () => {
    const sample = exactSample(Float64Array.from([100, 9, 30]));
    durations(sample);
    expect([...sample.values!]).toEqual([100, 9, 30]);
  });

  test('from a sketch: the exact count and average, median and p90 within the sketch’s 1 %', () => {
    const values = Array.from({ length: 101 }, (_, index) => 10 + index);
    const read = durations(sketchedSample(101, 6060, sketchOf(values)));
    expect(read.count).toBe(101);
    expect(read.averageSeconds).toBe(60);
    expect(Math.abs(read.medianSeconds! - 60) / 60).toBeLessThan(0.01);
    expect(Math.abs(read.p90Seconds! - 100) / 100).toBeLessThan(0.01);
  });
});

describe('the KPIs of a group', () => {
  test('counts, rates and the CSAT come from the row; absent counts are zero', () => {
    const kpis = toKpis(toPartial(row()));
    expect(kpis).toMatchObject({
      tickets: 4,
      categories: { reactivacion_servicio: 1, soporte_agente: 3 },
      closed: 3,
      resolved: 2,
      resolutionRate: 2 / 3,
      fallbacks: 1,
      escalations: 3,
      escalatedTickets: 2,
    });
    expect(kpis.closeReasons).toMatchObject({ resolved: 2, fallback: 1, cancelled: 0, abandoned: 0 });
    expect(kpis.csat).toEqual({ average: 4.5, offered: 2, responses: 2, responseRate: 1, distribution: { '1': 0, '2': 0, '3': 0, '4': 1, '5': 1 } });
    expect(kpis.handoverWait).toEqual({ count: 3, averageSeconds: 20, medianSeconds: 20, p90Seconds: 28 });
    expect(kpis.agentFirstResponse.medianSeconds).toBe(5);
    expect(kpis.resolutionTime).toEqual({ count: 0, averageSeconds: null, medianSeconds: null, p90Seconds: null });
  });

  test('no closed ticket and no survey give null rates, not zero', () => {
    const kpis = toKpis(toPartial(row({ closed: '0', reason_resolved: '0', reason_fallback: '0', csat_sum: '0', csat_responses: '0', csat_offered: '0' })));
    expect(kpis.resolutionRate).toBeNull();
    expect(kpis.csat.average).toBeNull();
    expect(kpis.csat.responseRate).toBeNull();
  });
});

describe('totals merged from groups', () => {
  test('add every count and pool the durations, so medians are exact over all tickets', () => {
    const a = toPartial(row({ wait: packed([1, 2]) }));
    const b = toPartial(row({ tickets: '1', closed: '1', reason_resolved: '1', reason_fallback: '0', wait: packed([100]), csat_5: '0', csat_3: '2' }));
    const total: PartialKpis = merge([a, b]);
    expect(total.tickets).toBe(5);
    expect(total.closed).toBe(4);
    expect(total.closeReasons.resolved).toBe(3);
    expect(total.csatDistribution).toMatchObject({ '3': 2, '4': 2, '5': 1 });
    expect([...total.wait.values!]).toEqual([1, 2, 100]);
    expect(toKpis(total).handoverWait.medianSeconds).toBe(2);
  });

  test('merging nothing gives an empty report', () => {
    const kpis = toKpis(merge([]));
    expect(kpis.tickets).toBe(0);
    expect(kpis.handoverWait.count).toBe(0);
    expect(kpis.resolutionRate).toBeNull();
  });

  test('every additive count is summed: surveys, escalations and the billable messages of any category either group has', () => {
    const a = { ...toPartial(row()), billable: { utility: 2, marketing: 1 } };
    const b = {
      ...toPartial(row({ csat_sum: '3', csat_responses: '1', csat_offered: '4', escalations: '1', escalated_tickets: '1' })),
      billable: { authentication: 5, utility: 1 },
    };
    const total = merge([a, b]);
    expect({ csatSum: total.csatSum, csatResponses: total.csatResponses, csatOffered: total.csatOffered }).toEqual({
      csatSum: 12,
      csatResponses: 3,
      csatOffered: 6,
    });
    expect({ escalations: total.escalations, escalatedTickets: total.escalatedTickets }).toEqual({ escalations: 4, escalatedTickets: 3 });
    expect(Object.entries(total.billable)).toEqual([
      ['authentication', 5],
      ['marketing', 1],
      ['utility', 3],
    ]);
  });

  test('a rolled-up group (a sketch) merged with exact ones makes one sketch of all their durations; counts and sums stay exact', () => {
    const rolledUp = sketchedSample(2, 30, sketchOf([10, 20]));
    const exact = exactSample(Float64Array.from([40, 50, 60]));
    const pooled = mergeSamples([exact, rolledUp]);
    expect(pooled.count).toBe(5);
    expect(pooled.sum).toBe(180);
    expect(pooled.values).toBeNull();
    expect(countOf(pooled.sketch!)).toBe(5);
    expect(Math.abs(durations(pooled).medianSeconds! - 40) / 40).toBeLessThan(0.01);
    expect(mergeSamples([exact, exact]).values).toHaveLength(6);
  });

  test('a report is exact only while every duration measure still holds its values', () => {
    const exact = toPartial(row());
    expect(isExact(exact)).toBe(true);
    const sketched = sketchedSample(1, 5, sketchOf([5]));
    expect(isExact({ ...exact, wait: sketched })).toBe(false);
    expect(isExact({ ...exact, firstResponse: sketched })).toBe(false);
    expect(isExact({ ...exact, resolution: sketched })).toBe(false);
  });
});

describe('billable messages', () => {
  const billed = { ...toPartial(row()), billable: { marketing: 2, utility: 10 } };

  test('are counted, by category, and priced by the rate card in its currency', () => {
    expect(toKpis(billed, { card: { marketing: 0.0125, utility: 0.0008 }, currency: 'USD' }).billable).toEqual({
      messages: 12,
      byCategory: { marketing: 2, utility: 10 },
      estimatedCost: 2 * 0.0125 + 10 * 0.0008,
      currency: 'USD',
    });
  });

  test('without a rate card there is no estimate, and so no currency', () => {
    expect(toKpis(billed).billable).toEqual({ messages: 12, byCategory: { marketing: 2, utility: 10 }, estimatedCost: null, currency: null });
    expect(toKpis(billed, { card: {}, currency: 'USD' }).billable.currency).toBeNull();
  });
});
