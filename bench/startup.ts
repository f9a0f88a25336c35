/**
 * Cold start of each action's entry (`node dist/<name>/index.js` with no inputs, so it must fail
 * on its inputs), taking turns with bare `node -e 0` so that each ratio shares one machine load.
 *
 * The entry is a stub of a few lines over the one bundle: the size that matters is what the
 * input-error path reads, dist/index.js and every chunk it imports statically (transitively),
 * not the chunks it loads on demand with import() once the inputs are valid.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { actionSpecs } from '../src/core/specs/index.js';
import { type BenchRow, median } from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const RUNS = 15;

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const allBare: number[] = [];
  for (const name of Object.keys(actionSpecs)) {
    const entry = join(ROOT, 'dist', name, 'index.js');
    const loaded = await staticImports(entry);
    const bytes = [...loaded.values()].reduce((a, b) => a + b, 0);
    const bare: number[] = [];
    const times: number[] = [];
    // One unmeasured round first: it warms the file cache for both.
    for (let i = 0; i <= RUNS; i++) {
      const bareMs = await timeNode(['-e', '0'], 0);
      const ms = await timeNode([entry], 1);
      if (i === 0) continue;
      bare.push(bareMs);
      times.push(ms);
    }
    allBare.push(...bare);
    const ratio = median(times) / median(bare);
    const files = `${loaded.size} files, ${(bytes / 1024).toFixed(0)} KiB`;
    rows.push({
      area: 'startup',
      name: `${name}: cold start, no inputs (fails)`,
      median: median(times),
      unit: 'ms',
      runs: times.length,
      note: `${ratio.toFixed(2)}× bare node (same run); reads ${files} before the input error (the stub, dist/index.js and its static chunks)`,
    });
  }
  rows.unshift({ area: 'startup', name: 'bare `node -e 0`', median: median(allBare), unit: 'ms', runs: allBare.length, note: 'taking turns with the entries below' });
  return rows;
}

/**
 * Every file `entry` loads before any of its code runs: itself and, transitively, each relative
 * `import … from` / `export … from` / bare `import "…"` (not `import(…)`, which loads on demand),
 * with its size in bytes, keyed by its path relative to the repository.
 */
export async function staticImports(entry: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const visit = async (file: string): Promise<void> => {
    const key = relative(ROOT, file);
    if (found.has(key)) return;
    const text = await readFile(file, 'utf8');
    found.set(key, Buffer.byteLength(text));
    // esbuild's output (minified or not) and the stubs: `import{a as b}from"./chunk.js"`, `import"./chunk.js"`, `import { x } from '../index.js'`.
    for (const match of text.matchAll(/\b(?:import|export)\s*(?:[\w$*{},\s]*?\bfrom\s*)?(["'])(\.{1,2}\/[^"']+)\1/g)) {
      await visit(resolve(dirname(file), match[2]!));
    }
  };
  await visit(entry);
  return found;
}

function timeNode(args: string[], expected: number): Promise<number> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
    child.on('error', fail);
    child.on('close', (code) =>
      code === expected ? done(performance.now() - started) : fail(new Error(`node ${args.join(' ')} exited ${code}, expected ${expected}`)),
    );
  });
}
