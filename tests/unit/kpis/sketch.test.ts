import { describe, expect, test } from 'bun:test';
import { percentile } from '../../../src/kpis/aggregate';
import { bucketOf, countOf, decodeSketchInto, emptySketch, encodeSketch, mergeInto, quantile, sketchOf, valueOf } from '../../../src/kpis/sketch';

/** A reproducible spread of durations, from a second to a day. */
function durations(count: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return Math.exp((state / 2 ** 31) * Math.log(86_400));
  });
}

describe('the duration sketch', () => {
  test('every value is within 1 % of its bucket’s value', () => {
    for (const value of [0.001, 0.5, 1, 59.9, 60, 3600, 86_400 * 30]) {
      expect(Math.abs(valueOf(bucketOf(value)) - value) / value).toBeLessThanOrEqual(0.01 + 1e-12);
    }
  });

  test('a sketch keeps durations from a millisecond to 400 days, the shortest and the longest included', () => {
    for (const value of [0.001, 0.25, 0.999, 400 * 86_400]) {
      const sketch = sketchOf([value]);
      expect(countOf(sketch)).toBe(1);
      expect(Math.abs(quantile(sketch, 0.5)! - value) / value).toBeLessThanOrEqual(0.01 + 1e-12);
    }
  });

  test('zero and anything under a millisecond (a clock step backwards too) count as zero', () => {
    expect(valueOf(bucketOf(0))).toBe(0);
    expect(bucketOf(-3)).toBe(bucketOf(0.0001));
    expect(quantile(sketchOf([0, 0, 0]), 0.5)).toBe(0);
  });

  test('the median and p90 are within 1 % of the exact, interpolated ones', () => {
    for (const count of [1, 2, 7, 100, 5000]) {
      const values = durations(count, count);
      const sorted = Float64Array.from(values).sort();
      const sketch = sketchOf(values);
      for (const fraction of [0.5, 0.9]) {
        const exact = percentile(sorted, fraction)!;
        expect(Math.abs(quantile(sketch, fraction)! - exact) / exact).toBeLessThanOrEqual(0.0101);
      }
    }
    expect(quantile(emptySketch(), 0.5)).toBeNull();
  });

  test('merged sketches are the sketch of all the values, and bytes read back as written', () => {
    const a = durations(300, 1);
    const b = durations(200, 2);
    const merged = mergeInto(sketchOf(a), sketchOf(b));
    expect(merged).toEqual(sketchOf([...a, ...b]));
    expect(countOf(merged)).toBe(500);
    const bytes = encodeSketch(merged);
    expect(bytes.byteLength).toBe(merged.filter((count) => count > 0).length * 6);
    expect(decodeSketchInto(emptySketch(), bytes)).toEqual(merged);
    expect(countOf(decodeSketchInto(emptySketch(), null))).toBe(0);
  });
});
