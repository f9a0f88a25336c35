/**
 * Cold start of each action's entry (`node dist/<name>/index.cjs` with no inputs, so it must fail
 * on its inputs), taking turns with bare `node -e 0` so that each ratio shares one machine load.
 * Both run with the runner's files (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY) set, as on
 * GitHub, so that the entry writes its result, state and summary where the runner reads them.
 *
 * The entry is a stub of a few lines over dist/start.cjs, which runs the quick input checks and
 * loads the one bundle only for input they cannot fail: the size that matters is what the
 * input-error path reads, the stub and every file it requires or imports statically
 * (transitively), not what it loads on demand with import() once the inputs are valid.
 *
 * Besides the wall time, each run's CPU time (user + system, from bash's `time`, in ms) is
 * shown against bare node's: on a machine shared with other work the wall time mostly measures
 * the wait for a core, the CPU time what the start itself costs.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { actionSpecs } from '../src/core/specs/index.js';
import { type BenchRow, median } from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const RUNS = 15;

/** A kubeconfig, as nearly every real run gives one. */
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { token: "bench-token-0123456789" } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
`;

interface Case {
  name: string;
  entry: string;
  /** INPUT_* variables, as the runner sets them. */
  inputs?: Record<string, string>;
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const allBare: number[] = [];
  const allBareCpu: number[] = [];
  const runner = await runnerFiles();
  const cases: Case[] = Object.keys(actionSpecs).map((name) => ({
    name: `${name}: cold start, no inputs (fails)`,
    entry: actionEntry(join(ROOT, 'dist'), name),
  }));
  const given = { INPUT_KUBECONFIG: KUBECONFIG, INPUT_NAMESPACE: 'shop', INPUT_SERVICE: 'checkout' };
  cases.push(
    {
      name: 'blue-green: a kubeconfig given, router=nginx (fails on the quick checks)',
      entry: actionEntry(join(ROOT, 'dist'), 'blue-green'),
      inputs: { ...given, INPUT_ROUTER: 'nginx' },
    },
    {
      name: 'blue-green: a kubeconfig given, slack-webhook-url=nope (fails on the quick checks)',
      entry: actionEntry(join(ROOT, 'dist'), 'blue-green'),
      inputs: { ...given, INPUT_ROUTER: 'istio', 'INPUT_SLACK-WEBHOOK-URL': 'nope' },
    },
    {
      name: 'blue-green: a kubeconfig given, steps=50,10,100 (fails in zod: the quick checks do not judge a list of steps)',
      entry: actionEntry(join(ROOT, 'dist'), 'blue-green'),
      inputs: { ...given, INPUT_ROUTER: 'istio', INPUT_STEPS: '50,10,100' },
    },
  );
  for (const { name, entry, inputs } of cases) {
    const loaded = await staticImports(entry);
    const bytes = [...loaded.values()].reduce((a, b) => a + b, 0);
    const bare: number[] = [];
    const times: number[] = [];
    const bareCpu: number[] = [];
    const cpu: number[] = [];
    // One unmeasured round first: it warms the file cache for both.
    for (let i = 0; i <= RUNS; i++) {
      const bareRun = await timeNode(['-e', '0'], 0, runner.env);
      const entryRun = await timeNode([entry], 1, { ...runner.env, ...inputs });
      if (i === 0) continue;
      bare.push(bareRun.ms);
      times.push(entryRun.ms);
      bareCpu.push(bareRun.cpuMs);
      cpu.push(entryRun.cpuMs);
    }
    allBare.push(...bare);
    allBareCpu.push(...bareCpu);
    const ratio = median(times) / median(bare);
    const cpuRatio = median(cpu) / median(bareCpu);
    const files = `${loaded.size} files, ${(bytes / 1024).toFixed(0)} KiB (the stub and what it requires${name.includes('zod') ? '; then the bundle and zod' : ''})`;
    rows.push({
      area: 'startup',
      name,
      median: median(times),
      unit: 'ms',
      runs: times.length,
      note: `${ratio.toFixed(2)}× bare node (same run); CPU ${median(cpu).toFixed(0)} ms, ${cpuRatio.toFixed(2)}× bare node's; reads ${files} before the input error`,
    });
  }
  await runner.remove();
  rows.unshift({
    area: 'startup',
    name: 'bare `node -e 0`',
    median: median(allBare),
    unit: 'ms',
    runs: allBare.length,
    note: `taking turns with the entries below; CPU ${median(allBareCpu).toFixed(0)} ms`,
  });
  return rows;
}

/** The stub the runner starts for action `name` in a dist/: index.cjs, or index.js in a dist/ from before start.cjs. */
export function actionEntry(dist: string, name: string): string {
  const stub = join(dist, name, 'index.cjs');
  return existsSync(stub) ? stub : join(dist, name, 'index.js');
}

/** Empty files for the runner's GITHUB_OUTPUT, GITHUB_STATE and GITHUB_STEP_SUMMARY, and the environment naming them. */
export async function runnerFiles(): Promise<{ env: Record<string, string>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pd-bench-runner-'));
  const env: Record<string, string> = {};
  for (const name of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY']) {
    env[name] = join(dir, name.toLowerCase());
    await writeFile(env[name]!, '');
  }
  return { env, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Every file `entry` loads before any of its code runs: itself and, transitively, each relative
 * `require('…')`, `import … from` / `export … from` / bare `import "…"` (not `import(…)`, which
 * loads on demand), with its size in bytes, keyed by its path relative to the repository.
 */
export async function staticImports(entry: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const visit = async (file: string): Promise<void> => {
    const key = relative(ROOT, file);
    if (found.has(key)) return;
    const text = await readFile(file, 'utf8');
    found.set(key, Buffer.byteLength(text));
    // esbuild's output (minified or not) and the stubs: `import{a as b}from"./chunk.js"`, `import"./chunk.js"`, `import { x } from '../index.js'`, `require('../start.cjs')`.
    for (const match of text.matchAll(/\b(?:(?:import|export)\s*(?:[\w$*{},\s]*?\bfrom\s*)?|require\()(["'])(\.{1,2}\/[^"']+)\1/g)) {
      await visit(resolve(dirname(file), match[2]!));
    }
  };
  await visit(entry);
  return found;
}

/** One run's wall time and CPU time (user + system), in ms. */
export interface Timed {
  ms: number;
  cpuMs: number;
}

/** One run of node with `args` (and `env` besides PATH), which must exit with `expected`. */
export function timeNode(args: string[], expected: number, env: Record<string, string> = {}): Promise<Timed> {
  return new Promise((done, fail) => {
    // bash's `time` measures node alone (not bash's own start): "<real> <user> <sys>" in seconds.
    const script = `TIMEFORMAT='%3R %3U %3S'; { time "$@" >/dev/null 2>&1; } 2>&1; exit $?`;
    const child = spawn('bash', ['-c', script, 'bash', process.execPath, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== expected) return fail(new Error(`node ${args.join(' ')} exited ${code}, expected ${expected}`));
      const [real, user, system] = out.trim().split(/\s+/).map(Number);
      if ([real, user, system].some((n) => n === undefined || !Number.isFinite(n)))
        return fail(new Error(`could not read bash's time: ${JSON.stringify(out)}`));
      done({ ms: real! * 1000, cpuMs: (user! + system!) * 1000 });
    });
  });
}
