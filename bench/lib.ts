import { cpus, totalmem } from 'node:os';

/** One figure of `npm run bench`: a median over repeated runs. */
export interface BenchRow {
  area: string;
  name: string;
  median: number;
  unit: string;
  runs: number;
  /** e.g. "12 API requests", "p90 41 ms" */
  note?: string;
}

/** A benchmark module exports `run` and is listed in bench/index.ts. */
export type BenchModule = { run(): Promise<BenchRow[]> };

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `once` `runs` times (after `warmup` unmeasured runs) and returns each run's wall time in ms. */
export async function timeRuns(runs: number, once: () => Promise<unknown>, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  return times;
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  return `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}
