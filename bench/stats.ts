/** Percentiles, the monotonic clock shared by all processes of the benchmark, and rounding. */

/** Milliseconds on CLOCK_MONOTONIC: the same clock in every process of this machine. */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface Distribution {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of `values` (ms). */
export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { n: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  const sum = s.reduce((a, b) => a + b, 0);
  return { n: s.length, p50: round(at(50)), p90: round(at(90)), p99: round(at(99)), max: round(s[s.length - 1]!), mean: round(sum / s.length) };
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
