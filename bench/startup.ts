import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { actionSpecs } from '../src/core/specs/index.js';
import { type BenchRow, median, timeRuns } from './lib.js';

/** Each bundle's size, and the median cold start of `node dist/<name>/index.js` with no inputs (it must fail fast). */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const name of Object.keys(actionSpecs)) {
    const bundle = `dist/${name}/index.js`;
    const { size } = await stat(bundle);
    const times = await timeRuns(15, () => runOnce(bundle));
    rows.push({ area: 'startup', name: `${name}: cold start, no inputs (fails)`, median: median(times), unit: 'ms', runs: times.length, note: `bundle ${(size / 1024).toFixed(0)} KiB` });
  }
  return rows;
}

function runOnce(bundle: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle], { env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 1 ? resolve() : reject(new Error(`${bundle} exited ${code}, expected 1`))));
  });
}
