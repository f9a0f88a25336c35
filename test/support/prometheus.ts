import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A real Prometheus (the Debian package's /usr/bin/prometheus and promtool) with deterministic
 * data: series are written as OpenMetrics text with explicit timestamps, turned into TSDB blocks
 * with `promtool tsdb create-blocks-from openmetrics`, and served by a Prometheus that scrapes
 * nothing. Query it at fixed evaluation times (e.g. FIXED_DAY + offsets) and every answer is known.
 *
 *   const prom = await startPrometheus({ openMetrics: toOpenMetrics(httpTraffic({...})) });
 *   ... prom.url ...
 *   await prom.stop();
 */

const run = promisify(execFile);

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

/** 2024-01-15T00:00:00Z in epoch seconds: a fixed day in the past for deterministic data. */
export const FIXED_DAY = 1_705_276_800;

export interface PrometheusServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startPrometheus(options: { openMetrics: string }): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'prom-test-'));
  const dataDir = join(dir, 'data');
  const input = join(dir, 'data.om');
  const config = join(dir, 'prometheus.yml');
  let child: ChildProcess | undefined;
  try {
    await writeFile(input, options.openMetrics);
    await run(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', input, dataDir], { maxBuffer: 16 * 1024 * 1024 });
    await writeFile(config, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    const port = await freePort();
    let output = '';
    child = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=100y',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, child, () => output);
    const process_ = child;
    return {
      url,
      port,
      stop: async () => {
        await stopProcess(process_);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (child) await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${output().slice(-2000)}`);
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prometheus at ${url} was not ready within 30 s: ${output().slice(-2000)}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A TCP port that was free a moment ago (also useful as "a Prometheus that is down"). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Series generators. Each returns metric families; toOpenMetrics merges families of one name.

export interface Sample {
  /** Full sample name, e.g. http_requests_total or http_request_duration_seconds_bucket. */
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Epoch seconds. */
  t: number;
}

export interface Family {
  /** Family name (OpenMetrics: a counter's family has no _total suffix). */
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: Sample[];
}

/** Latency histogram buckets, in seconds. */
export const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5];

export interface TrafficOptions {
  service: string;
  version?: string;
  /** Epoch seconds, inclusive. */
  from: number;
  to: number;
  stepSeconds: number;
  /** Requests per second. */
  rps: number;
  /** Share of requests answered 500 at time t (epoch seconds); default 0. */
  errorRatio?: (t: number) => number;
  /** Typical latency at time t: each step's requests are spread evenly over 0.5x..1.5x of it. */
  latencyMs?: (t: number) => number;
}

/**
 * HTTP traffic as a service exports it: `http_requests_total{service,version,code}` (counter,
 * code 200 or 500) and `http_request_duration_seconds` (histogram). With a constant error ratio r,
 * `sum(rate(http_requests_total{code="500"}[2m])) / sum(rate(http_requests_total[2m]))` is r; with
 * a constant latency L ms, the true p95 is 1.45·L and histogram_quantile gives it to within the
 * resolution of LATENCY_BUCKETS (linear interpolation inside the bucket).
 */
export function httpTraffic(options: TrafficOptions): Family[] {
  const base = { service: options.service, ...(options.version ? { version: options.version } : {}) };
  const requests: Sample[] = [];
  const histogram: Sample[] = [];
  let ok = 0;
  let errors = 0;
  let count = 0;
  let sum = 0;
  const buckets = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  for (let t = options.from; t <= options.to; t += options.stepSeconds) {
    if (t > options.from) {
      const n = options.rps * options.stepSeconds;
      const ratio = options.errorRatio?.(t) ?? 0;
      errors += n * ratio;
      ok += n * (1 - ratio);
      const typical = (options.latencyMs?.(t) ?? 100) / 1000;
      const lo = 0.5 * typical;
      const hi = 1.5 * typical;
      LATENCY_BUCKETS.forEach((le, i) => {
        buckets[i]! += n * Math.min(1, Math.max(0, (le - lo) / (hi - lo)));
      });
      count += n;
      sum += n * typical;
    }
    requests.push({ name: 'http_requests_total', labels: { ...base, code: '200' }, value: ok, t });
    requests.push({ name: 'http_requests_total', labels: { ...base, code: '500' }, value: errors, t });
    for (const [i, le] of LATENCY_BUCKETS.entries()) {
      histogram.push({ name: 'http_request_duration_seconds_bucket', labels: { ...base, le: String(le) }, value: buckets[i]!, t });
    }
    histogram.push({ name: 'http_request_duration_seconds_bucket', labels: { ...base, le: '+Inf' }, value: count, t });
    histogram.push({ name: 'http_request_duration_seconds_count', labels: base, value: count, t });
    histogram.push({ name: 'http_request_duration_seconds_sum', labels: base, value: sum, t });
  }
  return [
    { name: 'http_requests', type: 'counter', samples: requests },
    { name: 'http_request_duration_seconds', type: 'histogram', samples: histogram },
  ];
}

/** A gauge sampled every stepSeconds from `from` to `to` with value(t). */
export function gaugeSeries(
  name: string,
  labels: Record<string, string>,
  from: number,
  to: number,
  stepSeconds: number,
  value: (t: number) => number,
): Family[] {
  const samples: Sample[] = [];
  for (let t = from; t <= to; t += stepSeconds) samples.push({ name, labels, value: value(t), t });
  return [{ name, type: 'gauge', samples }];
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), for noise that is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal noise (Box–Muller) from a seeded source. */
export function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** One OpenMetrics document from families; families of the same name are merged, samples kept in time order per series. */
export function toOpenMetrics(...groups: Family[][]): string {
  const families = new Map<string, Family>();
  for (const family of groups.flat()) {
    const existing = families.get(family.name);
    if (existing && existing.type !== family.type) throw new Error(`family ${family.name} is both ${existing.type} and ${family.type}`);
    if (existing) existing.samples.push(...family.samples);
    else families.set(family.name, { ...family, samples: [...family.samples] });
  }
  const lines: string[] = [];
  for (const family of families.values()) {
    lines.push(`# TYPE ${family.name} ${family.type}`);
    const samples = [...family.samples].sort((a, b) => a.t - b.t);
    for (const s of samples) lines.push(`${s.name}${formatLabels(s.labels)} ${formatNumber(s.value)} ${s.t}`);
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
