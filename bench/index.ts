/**
 * `npm run bench`: every figure the issues ask for, as medians over repeated runs, with the
 * machine they came from. Each area is a module exporting `run()`; an area whose module is
 * missing or fails is reported, and the others still run.
 */
import { type BenchModule, type BenchRow, machine } from './lib.js';

const AREAS = ['startup', 'kube', 'metrics', 'migrate', 'blue-green', 'canary', 'rollback', 'cluster'];

const only = process.argv.slice(2);
const rows: BenchRow[] = [];
for (const area of AREAS.filter((a) => only.length === 0 || only.includes(a))) {
  let mod: BenchModule;
  try {
    mod = (await import(`./${area}.js`)) as BenchModule;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(`bench/${area}.`)) continue;
    throw error;
  }
  try {
    process.stderr.write(`bench: ${area}…\n`);
    rows.push(...(await mod.run()));
  } catch (error) {
    rows.push({ area, name: `FAILED: ${(error as Error).message}`, median: Number.NaN, unit: '', runs: 0 });
  }
}

console.log(`Machine: ${machine()}\n`);
console.log('| area | measurement | median | runs | note |');
console.log('| --- | --- | ---: | ---: | --- |');
for (const r of rows) {
  const value = Number.isNaN(r.median) ? '—' : `${r.median < 10 ? r.median.toFixed(2) : r.median.toFixed(0)} ${r.unit}`;
  console.log(`| ${r.area} | ${r.name} | ${value} | ${r.runs} | ${r.note ?? ''} |`);
}
