/**
 * `npm run bench [-- <area>...]`: every figure the issues ask for, as medians over repeated runs,
 * with the machine they came from, as one Markdown table grouped by area, followed by the ratios
 * between figures that compare (our own overhead against the Kubernetes write it wraps).
 *
 * Each area is a module `bench/<area>.ts` exporting `run(): Promise<BenchRow[]>`. A missing module
 * is skipped with a note; one that fails to load, throws, or runs past its time limit is reported
 * as FAILED in its group, and the other areas still run. Progress goes to stderr, the table to
 * stdout. Exit code 1 when an area failed, 2 on an unknown area name.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { type BenchModule, type BenchRow, machine } from './lib.js';

const AREAS: Record<string, string> = {
  startup: "cold start of each action (`node dist/<name>/index.cjs`, no inputs, the runner's files set)",
  bundle: 'the one bundle: size of dist/, cold start against bare node, `build --check`, dist/ churn per change',
  kube: 'Kubernetes client against the test API server',
  access: 'cluster access: the preflight (access reviews) and exec credential plugins',
  metrics: 'analysis engine against a real Prometheus, and the statistics',
  migrate: 'migration phases against a test PostgreSQL',
  'blue-green': 'blue-green flow against the test API server',
  canary: 'canary flow against the test API server and a real Prometheus',
  rollback: 'rollback flow against the test API server',
  cluster: 'the test API server itself',
};

/** Longest run of one area; past it the area is reported as failed and the rest go on. */
const AREA_TIMEOUT_MS = Number(process.env.BENCH_AREA_TIMEOUT_MS ?? 10 * 60_000);

interface AreaReport {
  area: string;
  status: 'ok' | 'skipped' | 'failed';
  rows: BenchRow[];
  message?: string;
  elapsedMs: number;
}

/** Two figures that compare: `of` / `to`, with what the ratio means. */
interface Ratio {
  /** Which group the ratio is shown in. */
  area: string;
  name: string;
  of: { area: string; name: RegExp };
  to: { area: string; name: RegExp } | { constant: number; label: string };
  /** How the value reads: "×" (times) or "%" (share). */
  as: 'times' | 'share';
}

const RATIOS: Ratio[] = [
  {
    area: 'canary',
    name: 'our overhead per canary step ÷ one weight change (kube, istio subsets)',
    of: { area: 'canary', name: /^overhead per step/ },
    to: { area: 'kube', name: /weight change \(read \+ write\): istio subsets/ },
    as: 'times',
  },
  {
    area: 'canary',
    name: 'breach → weight 0 ÷ the background interval',
    of: { area: 'canary', name: /^breach visible .*interval 1s/ },
    to: { constant: 1000, label: 'the 1 s interval' },
    as: 'times',
  },
  {
    area: 'blue-green',
    name: 'switch decision → weights stored ÷ one weight change (kube, istio hosts)',
    of: { area: 'blue-green', name: /^switch decision -> new weights stored/ },
    to: { area: 'kube', name: /weight change \(read \+ write\): istio hosts/ },
    as: 'times',
  },
  {
    area: 'rollback',
    name: 'blue-green traffic restored ÷ one weight change (kube, istio hosts)',
    of: { area: 'rollback', name: /^blue-green switch .*traffic restored/ },
    to: { area: 'kube', name: /weight change \(read \+ write\): istio hosts/ },
    as: 'times',
  },
  {
    area: 'rollback',
    name: 'canary: traffic restored after this share of the whole rollback',
    of: { area: 'rollback', name: /^canary at 50% .*traffic restored/ },
    to: { area: 'rollback', name: /^canary at 50%: start to done/ },
    as: 'share',
  },
];

// ---------------------------------------------------------------------------------------------

const asked = process.argv.slice(2).filter((a) => a !== '--');
const unknown = asked.filter((a) => !(a in AREAS));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown area ${unknown.join(', ')}; areas: ${Object.keys(AREAS).join(', ')}\n`);
  process.exit(2);
}
const selected = Object.keys(AREAS).filter((a) => asked.length === 0 || asked.includes(a));

const started = Date.now();
/** The machine may be shared (other tests, builds): its load when the bench began is part of the record. */
const loadAtStart = loadavg()[0] ?? 0;
const reports: AreaReport[] = [];
let timedOut = false;
for (const area of selected) {
  process.stderr.write(`bench: ${area}…\n`);
  const report = await runArea(area);
  reports.push(report);
  process.stderr.write(
    `bench: ${area} ${report.status}${report.message ? `: ${report.message}` : ''} (${formatDuration(report.elapsedMs)})\n`,
  );
}

console.log(render(reports));
process.exitCode = reports.some((r) => r.status === 'failed') ? 1 : 0;
// An area that timed out may still hold servers or timers open; do not wait for them.
if (timedOut) process.exit();

async function runArea(area: string): Promise<AreaReport> {
  const t0 = performance.now();
  const done = (status: AreaReport['status'], rows: BenchRow[], message?: string): AreaReport => ({
    area,
    status,
    rows,
    ...(message ? { message } : {}),
    elapsedMs: performance.now() - t0,
  });
  const here = new URL('.', import.meta.url);
  if (!['ts', 'js'].some((ext) => existsSync(new URL(`${area}.${ext}`, here))))
    return done('skipped', [], `bench/${area}.ts is not there yet`);
  let mod: Partial<BenchModule>;
  try {
    mod = (await import(`./${area}.js`)) as Partial<BenchModule>;
  } catch (error) {
    return done('failed', [], `could not load bench/${area}.ts: ${firstLine(error)}`);
  }
  if (typeof mod.run !== 'function') return done('failed', [], `bench/${area}.ts does not export run()`);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`did not finish within ${formatDuration(AREA_TIMEOUT_MS)} (BENCH_AREA_TIMEOUT_MS)`));
      }, AREA_TIMEOUT_MS);
    });
    const rows = await Promise.race([mod.run(), timeout]);
    return done('ok', rows);
  } catch (error) {
    return done('failed', [], firstLine(error));
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

function render(reports: AreaReport[]): string {
  const rows = reports.flatMap((r) => r.rows);
  const lines = [
    `Machine: ${machine()}`,
    `Commit: ${commit()}, ${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${formatDuration(Date.now() - started)} in all; load average ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
    '',
    '| measurement | median | runs | note |',
    '| --- | ---: | ---: | --- |',
  ];
  const missingForRatios: string[] = [];
  for (const report of reports) {
    lines.push(`| **${report.area}**: ${AREAS[report.area] ?? ''} | | | ${escapeCell(areaNote(report))} |`);
    if (report.status === 'failed') lines.push(`| FAILED: ${escapeCell(report.message ?? 'unknown error')} | — | 0 | |`);
    for (const row of report.rows) {
      lines.push(`| ${escapeCell(row.name)} | ${formatValue(row.median, row.unit)} | ${row.runs} | ${escapeCell(row.note ?? '')} |`);
    }
    for (const ratio of RATIOS.filter((r) => r.area === report.area)) {
      const line = ratioLine(ratio, rows);
      if (line) lines.push(line);
      else if (report.status === 'ok') missingForRatios.push(ratio.name);
    }
  }
  lines.push('');
  lines.push('Medians over the runs shown; ratio rows (↳) divide two medians above, so they are only as steady as those figures.');
  if (missingForRatios.length > 0) {
    lines.push(`Not shown (a figure they need was not measured in this run): ${missingForRatios.join('; ')}.`);
  }
  return lines.join('\n');
}

function areaNote(report: AreaReport): string {
  if (report.status === 'skipped') return `skipped: ${report.message ?? ''}`;
  return `${formatDuration(report.elapsedMs)} for the area`;
}

function ratioLine(ratio: Ratio, rows: BenchRow[]): string | undefined {
  const of = find(rows, ratio.of);
  if (!of) return undefined;
  const to =
    'constant' in ratio.to ? { median: ratio.to.constant, unit: 'ms', note: undefined, name: ratio.to.label } : find(rows, ratio.to);
  if (!to || !(to.median > 0) || Number.isNaN(of.median) || of.unit !== to.unit) return undefined;
  const value = of.median / to.median;
  const shown = ratio.as === 'share' ? `${(value * 100).toFixed(0)} %` : `${value < 10 ? value.toFixed(2) : value.toFixed(1)}×`;
  const requests = [apiRequests(of.note), apiRequests(to.note)];
  const notes = [`${formatValue(of.median, of.unit)} vs ${formatValue(to.median, to.unit)}`];
  if (requests[0] !== undefined && requests[1] !== undefined) notes.push(`API requests ${requests[0]} vs ${requests[1]}`);
  return `| ↳ ${escapeCell(ratio.name)} | ${shown} | | ${escapeCell(notes.join('; '))} |`;
}

function find(rows: BenchRow[], what: { area: string; name: RegExp }): BenchRow | undefined {
  return rows.find((r) => r.area === what.area && what.name.test(r.name) && !Number.isNaN(r.median));
}

/** The first "N API requests" figure in a note. */
function apiRequests(note: string | undefined): number | undefined {
  const match = /(\d+(?:\.\d+)?) API requests/.exec(note ?? '');
  return match ? Number(match[1]) : undefined;
}

/** A median with its unit, to a precision that reads: 0.42 ms, 8.3 ms, 152 ms, 12.4 s, 18,200 req/s. */
function formatValue(value: number, unit: string): string {
  if (Number.isNaN(value)) return '—';
  if (unit === 'ms' && value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  const digits = Math.abs(value) < 10 ? 2 : Math.abs(value) < 100 ? 1 : 0;
  const number = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${number} ${unit}` : number;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function commit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== '';
    return `${sha}${dirty ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}
