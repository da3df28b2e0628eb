/** Latency summary in ms; NaN fields when there were no samples. */
export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Exact percentiles (nearest rank) over all samples; a few hundred thousand sort in milliseconds. */
export function percentiles(chunks: readonly Float64Array[]): Percentiles {
  const count = chunks.reduce((n, c) => n + c.length, 0);
  const all = new Float64Array(count);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.length;
  }
  all.sort();
  const at = (q: number) => (count === 0 ? Number.NaN : all[Math.min(count - 1, Math.ceil(q * count) - 1)]!);
  let sum = 0;
  for (const x of all) sum += x;
  return { count, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: count ? all[count - 1]! : Number.NaN, mean: count ? sum / count : Number.NaN };
}

/** Merges `{code: n}` counters. */
export function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  return into;
}

export const round = (x: number, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
