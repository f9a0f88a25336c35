import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { type ActionRun, startAction as startActionEntry, visibleLog } from '../support/action-runner.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sleep } from '../cluster/helpers.js';
import {
  CANARY_IMAGE,
  ISTIO_ROUTING,
  WORKLOADS,
  canaryRecord,
  deploymentOf,
  istioWeights,
  journal,
  meshObjects,
  runCanaryFlow,
  startHarness,
  type Harness,
} from './harness.js';

/**
 * The action entry as the runner starts it (`tsx src/actions/canary.ts` with INPUT_* variables and
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_STATE files), against the test cluster, on the real
 * clock: these configs have short pauses and no analysis.
 */
let h: Harness;
let dir: string;
beforeAll(async () => {
  h = await startHarness();
  dir = await mkdtemp(join(tmpdir(), 'canary-action-'));
});
afterAll(async () => {
  await h?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const CONFIG = {
  routing: ISTIO_ROUTING,
  workloads: WORKLOADS,
  steps: [{ setWeight: 10 }, { pause: { duration: '200ms' } }, { setWeight: 50 }, { pause: { duration: '200ms' } }],
};

/** Starts the entry in one Node process (`node --import tsx`, so a kill reaches the process that runs it). */
function startAction(_name: string, inputs: Record<string, string>): { child: ChildProcess; done: Promise<ActionRun & { log: string }> } {
  const started = startActionEntry({ entry: 'src/actions/canary.ts', inputs, dir, env: { GITHUB_WORKSPACE: dir } });
  // `log` is what a person sees: without the runner's `::add-mask::` commands.
  return { child: started.child, done: started.done.then((run) => ({ ...run, log: visibleLog(run) })) };
}

describe('actions/canary end to end', () => {
  test('the entry promotes a canary from a config file, sets the outputs and writes the summary; the kubeconfig never shows', async () => {
    await h.cluster.apply(meshObjects('e2e'));
    await writeFile(join(dir, 'canary.yaml'), stringifyYaml(CONFIG));
    const { done } = await startAction('promote', {
      kubeconfig: h.cluster.kubeconfig,
      namespace: 'e2e',
      service: 'checkout',
      image: CANARY_IMAGE,
      config: 'canary.yaml',
      'run-id': 'e2e-1',
      'rollout-timeout': '30s',
    });
    const run = await done;
    expect(run.log).not.toMatch(/::error::/);
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ result: 'promoted', weight: '0', step: '4', analysis: '[]' });
    expect(run.summary).toContain('## ✅ Deploy checkout registry.example.com/checkout:1.1.0');
    expect(run.summary).toContain('bar [0, 10, 10, 50, 50, 100]');
    expect(istioWeights(h.cluster, 'e2e')).toEqual([100, 0]);
    expect(deploymentOf(h.cluster, 'e2e', 'checkout').image).toBe(CANARY_IMAGE);
    expect(run.log + run.summary).not.toContain(h.cluster.token);
  }, 60_000);

  test('a run killed right after a weight step was journaled is resumed by a run with the same run id: it goes on, and applies no step twice', async () => {
    const ns = 'killed';
    await h.cluster.apply(meshObjects(ns));
    const config = { ...CONFIG, steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 50 }] };
    const record = new RegExp(`^/api/v1/namespaces/${ns}/configmaps/pd-canary-checkout$`);
    // The record's first update (entering step 0) goes through; the next (after step 0's weight) hangs, and the process is killed there.
    h.cluster.faults.add({ method: 'PUT', path: record, delayMs: 1, times: 1 });
    const hang = h.cluster.faults.add({ method: 'PUT', path: record, delayMs: 20_000, times: 1 });
    const { child, done } = await startAction('killed', {
      kubeconfig: h.cluster.kubeconfig,
      namespace: ns,
      service: 'checkout',
      image: CANARY_IMAGE,
      config: stringifyYaml(config),
      'run-id': 'kill-1',
    });
    const applied = () => journal(h.cluster, ns).find((e) => e.step.startsWith('step-0-weight-10#') && e.status === 'applied');
    for (let i = 0; i < 3000 && !(applied() && h.cluster.faults.hits(hang) === 1); i++) await sleep(5);
    expect(applied()).toBeDefined();
    child.kill('SIGKILL');
    await done;
    expect(istioWeights(h.cluster, ns)).toEqual([90, 10]);
    expect(canaryRecord(h.cluster, ns)).toMatchObject({ state: 'progressing', stepIndex: 0 });

    h.cluster.resetRequests();
    const resumed = await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config }, { runId: 'kill-1' });
    expect(resumed.error).toBeUndefined();
    expect(resumed.outputs).toMatchObject({ result: 'promoted', weight: 0 });
    const info = resumed.reporter.messages('info').join('\n');
    expect(info).toContain("Resuming this run's canary at step 1 (progressing)");
    expect(info).toMatch(/step-0-weight-10#\w+: already applied by this run \(kill-1\); not applying it twice/);
    const steps = journal(h.cluster, ns).map((e) => e.step.split('#')[0]);
    expect(steps).toEqual([
      'canary-image',
      'canary-scale-up',
      'step-0-weight-10',
      'step-2-weight-50',
      'promote-stable-image',
      'promote-traffic',
      'promote-canary-scale-down',
    ]);
    expect(new Set(steps).size).toBe(steps.length);
    const vsPatches = h.cluster.requests.filter(
      (r) => r.method === 'PATCH' && r.path.endsWith(`/namespaces/${ns}/virtualservices/checkout`) && r.status === 200,
    );
    expect(vsPatches).toHaveLength(2); // 50%, then back to stable; not 10% again
    expect(istioWeights(h.cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(h.cluster, ns, 'checkout').image).toBe(CANARY_IMAGE);
  }, 60_000);
});
