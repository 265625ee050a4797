/** Nearest-rank percentile of an unsorted sample; NaN for an empty sample. */
export function percentile(sample: ArrayLike<number>, p: number): number {
  if (sample.length === 0) return Number.NaN;
  const sorted = Float64Array.from(sample).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Several percentiles of one sample, sorting it once. */
export function percentiles(sample: ArrayLike<number>, ps: readonly number[]): number[] {
  if (sample.length === 0) return ps.map(() => Number.NaN);
  const sorted = Float64Array.from(sample).sort();
  return ps.map((p) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number);
}

export const round = (v: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

export const mb = (bytes: number): number => round(bytes / (1024 * 1024), 1);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
