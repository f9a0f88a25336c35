import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { colourDeployments, hostsInputs, hostsVirtualService, liveHostWeights, startBlueGreenHarness, type BlueGreenHarness } from './harness.js';

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

interface Run {
  code: number | null;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

async function runAction(inputs: Record<string, string>, name: string): Promise<Run> {
  const files = { output: join(dir, `${name}.output`), summary: join(dir, `${name}.summary`), state: join(dir, `${name}.state`) };
  await Promise.all(Object.values(files).map((f) => writeFile(f, '')));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    GITHUB_WORKSPACE: dir,
    GITHUB_RUN_ID: '4242',
    GITHUB_REPOSITORY: 'shop/checkout',
    GITHUB_ACTION_REPOSITORY: 'acme/delivery',
    GITHUB_ACTION_REF: 'v1',
  };
  for (const [key, value] of Object.entries(inputs)) env[`INPUT_${key.toUpperCase()}`] = value;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/actions/blue-green.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, outputs: parseOutputs(await readFile(files.output, 'utf8')), summary: await readFile(files.summary, 'utf8') };
}

function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const m of text.matchAll(/^(.+?)<<(.+)\n([\s\S]*?)\n\2$/gm)) outputs[m[1]!] = m[3]!;
  return outputs;
}

/** What a person sees: the log without the runner's masking commands, the summary and the outputs. */
function visible(run: Run): string {
  return [...run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::')), run.summary, JSON.stringify(run.outputs)].join('\n');
}

test('the action deploys green, switches to it and sets its outputs and summary; the token is never shown', async () => {
  await h.cluster.apply([...colourDeployments('checkout'), hostsVirtualService('checkout')]);
  const run = await runAction({ ...hostsInputs('checkout'), kubeconfig: h.cluster.kubeconfig, image: 'registry.example.com/app:2.0.0', 'lock-timeout': '5s' }, 'switch');
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
  await h.cluster.apply([...colourDeployments('billing'), hostsVirtualService('billing')]);
  const run = await runAction(
    { ...hostsInputs('billing'), kubeconfig: h.cluster.kubeconfig, 'smoke-command': JSON.stringify([process.execPath, '-e', 'process.exit(2)']), 'lock-timeout': '5s' },
    'smoke',
  );
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/::error::smoke test .* failed with exit code 2; traffic was not moved/);
  expect(run.outputs).toMatchObject({ 'active-color': 'blue', 'previous-color': 'blue', result: 'failed' });
  expect(liveHostWeights(h, 'billing')).toEqual({ blue: 100, green: 0 });
  expect(visible(run)).not.toContain(h.cluster.token);
}, 60_000);
