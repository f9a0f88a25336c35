/**
 * The four targets of issue 16 for the one bundle, each beside its figure from before (main at
 * 245fbc6, six ncc bundles), all measured in one run:
 *   - the size of dist/ (target ≤ 8 MB);
 *   - cold start of each action's entry to its input error, against bare `node -e 0` (≤ 1.3×);
 *   - `npm run build -- --check`: wall time (≤ 60 s) and peak memory (≤ 2 GB);
 *   - how much of dist/ a source-only change to one action changes (≤ 1 MB): the build runs on
 *     a copy of the sources, once as they are and once with one statement added to the canary
 *     flow, and the bytes of the files that differ are added up (what a commit of dist/ stores).
 * With BENCH_BEFORE_DIST=<a dist/ of the old layout> (e.g. /work/main/dist before the change, or
 * a `git worktree` of 245fbc6), the old entries' cold starts are measured in the same run, turn
 * about with the new ones, so both ratios share one machine load.
 * The build measurements need GNU time (/usr/bin/time) for the peak memory of the build and the
 * esbuild process it starts (the larger of the two is shown).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { actions } from '../src/core/specs/index.js';
import { type BenchRow, median } from './lib.js';
import { actionEntry, runnerFiles, type Timed, timeNode } from './startup.js';

/** Figures from before the one bundle: main at 245fbc6, measured as described beside each. */
const BEFORE = {
  distMB: 27.8, // the committed dist/: six ncc bundles of 4.5–5.4 MB
  coldStartTimes: '8.9× (canary, median of 12 beside this build, load 18); the issue measured 4–6×',
  buildCheck: '3 min and 6 GB (issue 16); one ncc bundle of src/main.ts alone took 333 s and 1.85 GB here',
  changeMB: 10.4, // dist/canary/index.js + dist/cli/index.js: both bundles hold the canary flow and are rewritten
};

const ROOT = join(import.meta.dirname, '..');
const TIME = '/usr/bin/time';

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const distBytes = await folderBytes(join(ROOT, 'dist'));
  rows.push({
    area: 'bundle',
    name: 'dist/ in all',
    median: distBytes / 1e6,
    unit: 'MB',
    runs: 1,
    note: `target ≤ 8 MB; before ${BEFORE.distMB} MB`,
  });

  // Bare node, the new entry and the old one take turns, so that each ratio shares one machine load.
  const allBare: number[] = [];
  const coldRows: BenchRow[] = [];
  const beforeDist = process.env.BENCH_BEFORE_DIST;
  const allBareCpu: number[] = [];
  const runner = await runnerFiles();
  for (const { spec } of actions) {
    const now: Timed[] = [];
    const old: Timed[] = [];
    const bare: Timed[] = [];
    for (let i = 0; i < 10; i++) {
      const bareRun = await timeNode(['-e', '0'], 0, runner.env);
      const nowRun = await timeNode([actionEntry(join(ROOT, 'dist'), spec.name)], 1, runner.env);
      const oldEntry = beforeDist && actionEntry(beforeDist, spec.name);
      // An action the old dist/ does not have (added since) has no figure from before.
      const oldRun = oldEntry && existsSync(oldEntry) ? await timeNode([oldEntry], 1, runner.env) : undefined;
      if (i === 0) continue;
      bare.push(bareRun);
      now.push(nowRun);
      if (oldRun) old.push(oldRun);
    }
    const ms = median(now.map((r) => r.ms));
    const bareMs = median(bare.map((r) => r.ms));
    const bareCpu = median(bare.map((r) => r.cpuMs));
    const cpu = (runs: Timed[]) => `CPU ${(median(runs.map((r) => r.cpuMs)) / bareCpu).toFixed(2)}×`;
    allBare.push(...bare.map((r) => r.ms));
    allBareCpu.push(...bare.map((r) => r.cpuMs));
    const before =
      beforeDist && old.length === 0
        ? `none (${spec.name} is not in ${beforeDist})`
        : beforeDist
          ? `${(median(old.map((r) => r.ms)) / bareMs).toFixed(2)}×, ${cpu(old)} (${median(old.map((r) => r.ms)).toFixed(0)} ms, ${beforeDist}, same run)`
          : BEFORE.coldStartTimes;
    coldRows.push({
      area: 'bundle',
      name: `${spec.name}: cold start to the input error`,
      median: ms,
      unit: 'ms',
      runs: now.length,
      note: `${(ms / bareMs).toFixed(2)}× bare node (target ≤ 1.3×), ${cpu(now)}; before ${before}`,
    });
  }
  await runner.remove();
  rows.push(
    {
      area: 'bundle',
      name: 'bare `node -e 0`',
      median: median(allBare),
      unit: 'ms',
      runs: allBare.length,
      note: `taking turns with the entries below; CPU ${median(allBareCpu).toFixed(0)} ms (user + system; the CPU ratios below are against it, less disturbed by other work on the machine than the wall times)`,
    },
    ...coldRows,
  );

  if (!existsSync(TIME)) {
    rows.push({
      area: 'bundle',
      name: 'build measurements skipped: /usr/bin/time (GNU time) is not installed',
      median: Number.NaN,
      unit: '',
      runs: 0,
    });
    return rows;
  }
  const checked = await timed(['scripts/build.ts', '--check'], ROOT);
  const stale = checked.code === 0 ? 'dist/ matches the sources' : 'dist/ is stale (exit 1), timed all the same';
  rows.push({
    area: 'bundle',
    name: '`build --check`: wall time',
    median: checked.seconds,
    unit: 's',
    runs: 1,
    note: `target ≤ 60 s; ${stale}; before ${BEFORE.buildCheck}`,
  });
  rows.push({
    area: 'bundle',
    name: '`build --check`: peak memory',
    median: checked.peakMB,
    unit: 'MB',
    runs: 1,
    note: 'target ≤ 2 GB (2048 MB)',
  });

  const changedBytes = await bytesChangedBySourceEdit();
  rows.push({
    area: 'bundle',
    name: 'dist/ changed by a source-only change to the canary flow',
    median: changedBytes / 1e6,
    unit: 'MB',
    runs: 1,
    note: `target ≤ 1 MB; before ${BEFORE.changeMB} MB`,
  });
  return rows;
}

/** Runs `tsx <args>` in `cwd` under GNU time: wall seconds, peak RSS in MB, exit code. */
function timed(args: string[], cwd: string): Promise<{ seconds: number; peakMB: number; code: number }> {
  const tsx = join(ROOT, 'node_modules/.bin/tsx');
  return new Promise((resolve, reject) => {
    execFile(TIME, ['-f', 'PD_TIME %e %M', tsx, ...args], { cwd, maxBuffer: 64 * 2 ** 20 }, (error, _stdout, stderr) => {
      const m = /PD_TIME ([\d.]+) (\d+)/.exec(stderr);
      if (!m) return reject(new Error(`tsx ${args.join(' ')} did not report its time: ${error?.message ?? stderr.slice(-500)}`));
      const code = typeof error?.code === 'number' ? error.code : 0;
      if (code > 1) return reject(new Error(`tsx ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`));
      resolve({ seconds: Number(m[1]), peakMB: Number(m[2]) / 1024, code });
    });
  });
}

/** Builds a copy of the sources twice, the second time with one statement added to the canary flow. */
async function bytesChangedBySourceEdit(): Promise<number> {
  // Inside the repository, so that the copy resolves node_modules as the real tree does.
  await mkdir(join(ROOT, '.tmp'), { recursive: true });
  const copy = await mkdtemp(join(ROOT, '.tmp', 'bench-change-'));
  const out = await mkdtemp(join(tmpdir(), 'pd-bench-dist-'));
  try {
    for (const item of ['src', 'scripts', 'package.json', 'README.md', 'tsconfig.json'])
      await cp(join(ROOT, item), join(copy, item), { recursive: true });
    await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    await timed(['scripts/build.ts', '--out', join(out, 'before')], copy);
    const stamp = Date.now().toString(36);
    await appendFile(
      join(copy, 'src/core/canary/flow.ts'),
      `\nif (process.env.PD_BENCH_CHANGE === '${stamp}') process.stderr.write('bench change ${stamp}\\n');\n`,
    );
    await timed(['scripts/build.ts', '--out', join(out, 'after')], copy);
    return await changedBytes(join(out, 'before', 'dist'), join(out, 'after', 'dist'));
  } finally {
    await rm(copy, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
}

/** Bytes of the files of `after` that are new or differ from `before`. */
async function changedBytes(before: string, after: string): Promise<number> {
  let bytes = 0;
  for (const file of await files(after)) {
    const a = await readFile(join(after, file));
    const b = await readFile(join(before, file)).catch(() => undefined);
    if (!b || !a.equals(b)) bytes += a.length;
  }
  return bytes;
}

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

async function folderBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const file of await files(dir)) bytes += (await stat(join(dir, file))).size;
  return bytes;
}
