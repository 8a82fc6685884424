/** Throughput and latency of one measured run. */
export interface Timing {
  /** completed operations (2xx responses for HTTP) per second of the run */
  rate: number;
  count: number;
  seconds: number;
  p50: number;
  p99: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(latenciesMs: ArrayLike<number>, seconds: number): Timing {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    rate: sorted.length / seconds,
    count: sorted.length,
    seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : percentile(sorted, 50);
};
