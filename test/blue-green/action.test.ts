import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActionRun, runAction as runActionEntry, visibleLog } from '../support/action-runner.js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  colorDeployments,
  hostsInputs,
  hostsVirtualService,
  liveHostWeights,
  startBlueGreenHarness,
  type BlueGreenHarness,
} from './harness.js';

/**
 * actions/blue-green as the runner starts it: `src/actions/blue-green.ts` with INPUT_* variables
 * and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_STATE files, against the test cluster; the
 * kubeconfig (with its bearer token) given as an input, as from a secret.
 */

let h: BlueGreenHarness;
let dir: string;
beforeAll(async () => {
  h = await startBlueGreenHarness();
  dir = await mkdtemp(join(tmpdir(), 'blue-green-action-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function runAction(inputs: Record<string, string>, _name: string): Promise<ActionRun> {
  return runActionEntry({
    entry: 'src/actions/blue-green.ts',
    inputs,
    dir,
    env: {
      GITHUB_WORKSPACE: dir,
      GITHUB_RUN_ID: '4242',
      GITHUB_REPOSITORY: 'shop/checkout',
      GITHUB_ACTION_REPOSITORY: 'acme/delivery',
      GITHUB_ACTION_REF: 'v1',
    },
  });
}

/** What a person sees: the log without the runner's masking commands, the summary and the outputs. */
function visible(run: ActionRun): string {
  return [visibleLog(run), run.summary, JSON.stringify(run.outputs)].join('\n');
}

test('the action deploys green, switches to it and sets its outputs and summary; the token is never shown', async () => {
  await h.cluster.apply([...colorDeployments('checkout'), hostsVirtualService('checkout')]);
  const run = await runAction(
    { ...hostsInputs('checkout'), kubeconfig: h.cluster.kubeconfig, image: 'registry.example.com/app:2.0.0', 'lock-timeout': '5s' },
    'switch',
  );
  expect(run.stdout).not.toMatch(/::error::/);
  expect(run.code).toBe(0);
  expect(run.outputs).toMatchObject({ 'active-color': 'green', 'previous-color': 'blue', result: 'switched' });
  expect(run.outputs['switched-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(liveHostWeights(h, 'checkout')).toEqual({ blue: 0, green: 100 });
  expect(run.summary).toContain('Blue-green switch: switched');
  expect(run.summary).toContain('How to roll back');
  expect(run.summary).toContain('- uses: acme/delivery/actions/rollback@v1');
  expect(run.summary).toContain('registry.example.com/app:2.0.0');
  expect(run.stdout).toContain(`::add-mask::${h.cluster.token}`);
  expect(visible(run)).not.toContain(h.cluster.token);
}, 60_000);

test('a failing smoke test fails the step with exit code 1, still setting the outputs, traffic untouched', async () => {
  await h.cluster.apply([...colorDeployments('billing'), hostsVirtualService('billing')]);
  const run = await runAction(
    {
      ...hostsInputs('billing'),
      kubeconfig: h.cluster.kubeconfig,
      'smoke-command': JSON.stringify([process.execPath, '-e', 'process.exit(2)']),
      'lock-timeout': '5s',
    },
    'smoke',
  );
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/::error::smoke test .* failed with exit code 2; traffic was not moved/);
  expect(run.outputs).toMatchObject({ 'active-color': 'blue', 'previous-color': 'blue', result: 'failed' });
  expect(liveHostWeights(h, 'billing')).toEqual({ blue: 100, green: 0 });
  expect(visible(run)).not.toContain(h.cluster.token);
}, 60_000);
