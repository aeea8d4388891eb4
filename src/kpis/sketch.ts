/**
 * A quantile sketch for durations (DDSketch's logarithmic buckets): each
 * value goes to bucket ceil(log_γ(value)), γ = (1 + α) / (1 − α), and a
 * value is read back as its bucket's centre, within α (1 %) of every value
 * in it. Sketches merge by adding counts, so a day's or a month's rollup
 * answers for any range made of whole days without the durations themselves.
 * Dense: one count per bucket from a millisecond to 400 days (1,203 of
 * them), so merging a year of rollups is a few thousand array additions.
 * Under a millisecond counts as zero; over 400 days, as 400 days.
 */

export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
const SMALLEST_SECONDS = 0.001;
const LARGEST_SECONDS = 400 * 86_400;
const LOWEST_EXPONENT = Math.ceil(Math.log(SMALLEST_SECONDS) / LOG_GAMMA);
const HIGHEST_EXPONENT = Math.ceil(Math.log(LARGEST_SECONDS) / LOG_GAMMA);
/** Bucket 0 holds zero; bucket i > 0 the values of exponent LOWEST_EXPONENT + i − 1. */
const BUCKETS = HIGHEST_EXPONENT - LOWEST_EXPONENT + 2;

/** Bucket → how many values fell in it. */
export type Sketch = Int32Array;

export const emptySketch = (): Sketch => new Int32Array(BUCKETS);

export function bucketOf(seconds: number): number {
  if (!(seconds >= SMALLEST_SECONDS)) return 0;
  return Math.min(Math.ceil(Math.log(seconds) / LOG_GAMMA), HIGHEST_EXPONENT) - LOWEST_EXPONENT + 1;
}

/** The value a bucket stands for: the point within α of every value in it. */
export function valueOf(bucket: number): number {
  return bucket === 0 ? 0 : (2 * GAMMA ** (bucket - 1 + LOWEST_EXPONENT)) / (GAMMA + 1);
}

export function sketchOf(values: Iterable<number>): Sketch {
  const sketch = emptySketch();
  for (const value of values) sketch[bucketOf(value)]!++;
  return sketch;
}

/** Adds `from` into `into`. */
export function mergeInto(into: Sketch, from: Sketch): Sketch {
  for (let bucket = 0; bucket < BUCKETS; bucket++) into[bucket]! += from[bucket]!;
  return into;
}

export function countOf(sketch: Sketch): number {
  let total = 0;
  for (const count of sketch) total += count;
  return total;
}

/**
 * The value at `fraction`, interpolated between the two closest ranks as
 * Postgres's percentile_cont (and the exact path) does: each rank's value is
 * within α, so the interpolation is too. Null for an empty sketch.
 */
export function quantile(sketch: Sketch, fraction: number): number | null {
  const total = countOf(sketch);
  if (total === 0) return null;
  const rank = fraction * (total - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  let seen = 0;
  let lowValue: number | null = null;
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    seen += sketch[bucket]!;
    if (lowValue === null && seen > low) lowValue = valueOf(bucket);
    if (seen > high) return lowValue! + (valueOf(bucket) - lowValue!) * (rank - low);
  }
  return null;
}

/** Packed for a bytea column: the buckets that hold something, as (int16 bucket, int32 count) pairs, big-endian. */
export function encodeSketch(sketch: Sketch): Buffer {
  let used = 0;
  for (const count of sketch) if (count > 0) used++;
  const bytes = Buffer.alloc(used * 6);
  let offset = 0;
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    if (sketch[bucket] === 0) continue;
    bytes.writeInt16BE(bucket, offset);
    bytes.writeInt32BE(sketch[bucket]!, offset + 2);
    offset += 6;
  }
  return bytes;
}

/** Reads `encodeSketch`'s bytes, adding them into `into` (a rollup query merges thousands of these). */
export function decodeSketchInto(into: Sketch, bytes: Uint8Array | null | undefined): Sketch {
  if (!bytes || bytes.byteLength === 0) return into;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 0; offset + 6 <= bytes.byteLength; offset += 6) into[view.getInt16(offset, false)]! += view.getInt32(offset + 2, false);
  return into;
}
