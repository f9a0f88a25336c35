import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitForDeploymentRollout } from '../../src/core/kube/deployment.js';
import { rollingFlow } from '../../src/core/rolling/flow.js';
import { waitFor } from '../cluster/helpers.js';
import { runAction, startAction, visibleLog } from '../support/action-runner.js';
import {
  BROKEN,
  deployed,
  imageOf,
  inputs,
  journal,
  OLD,
  podImages,
  roll,
  settled,
  startHarness,
  testContext,
  writesSince,
  type Harness,
} from './harness.js';

/**
 * A rollout stopped before it is done: by its rollout-timeout, by a cancel (the run's AbortSignal
 * in-process; SIGTERM to the action as the runner sends it), or by the runner killing the process
 * (SIGKILL: nothing of the run's own cleanup happens), when the post step undoes the image. The
 * rollouts here never finish (ImagePullBackOff) and the progress deadline is ten minutes, so only
 * the stop ends them.
 */

let h: Harness;
let dir: string;
beforeAll(async () => {
  h = await startHarness({ progressDeadlineMs: 600_000 });
  dir = await mkdtemp(join(tmpdir(), 'rolling-stopped-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Resolves once the journal of `service` says this run's image change is applied (the rollout is under way). */
function imageApplied(service: string, runId: string, alive: () => boolean = () => true): Promise<unknown> {
  return waitFor(
    () => {
      if (!alive()) throw new Error('the run ended before its image was applied');
      const text: string = h.cluster.get('v1', 'ConfigMap', 'shop', `pd-state-${service}`)?.data?.['journal.yaml'] ?? '';
      return text.includes(`id: ${runId}/image`) && /status: applied/.test(text);
    },
    30_000,
    `run ${runId} to apply its image`,
  );
}

const actionEnv = (runId: string) => ({ GITHUB_WORKSPACE: dir, GITHUB_RUN_ID: runId, GITHUB_REPOSITORY: 'shop/checkout' });

test('the rollout-timeout ends a rollout that never finishes: the previous image is back, rolled-back', async () => {
  await deployed(h, 'shop', 'slow');
  const run = await roll(h, { namespace: 'shop', service: 'slow', image: BROKEN, 'rollout-timeout': '1s' }, 'run-1');
  expect(run.outputs).toEqual({ result: 'rolled-back', 'previous-image': OLD, image: OLD, revision: '3' });
  expect(run.failure?.message).toMatch(
    /^Deployment shop\/slow did not finish rolling out .*fail-rollout within rollout-timeout 1s: 1\/3 updated, 1 unavailable, 3 old still running \(ImagePullBackOff on pod slow-[a-z0-9-]+\); Deployment shop\/slow is back on registry\.example\.com\/checkout:1\.0\.0/,
  );
  await settled(h, 'shop', 'slow');
  expect(podImages(h, 'shop', 'slow')).toEqual([OLD, OLD, OLD]);
});

test('cancelled mid-rollout (the AbortSignal): the previous image is back, rolled-back; the post step then has nothing left', async () => {
  await deployed(h, 'shop', 'cancel');
  const context = testContext('run-2');
  const running = roll(h, { namespace: 'shop', service: 'cancel', image: BROKEN }, 'run-2', { context });
  await imageApplied('cancel', 'run-2');
  context.controller.abort(new Error('the run was cancelled'));
  const run = await running;
  expect(run.outputs).toMatchObject({ result: 'rolled-back', 'previous-image': OLD, image: OLD });
  expect(run.failure?.message).toMatch(
    /^the run was cancelled mid-rollout; Deployment shop\/cancel is back on registry\.example\.com\/checkout:1\.0\.0/,
  );
  expect((await journal(h, 'shop', 'cancel')).map((e) => [e.id, e.status])).toEqual([['run-2/image', 'compensated']]);
  expect(podImages(h, 'shop', 'cancel')).toEqual([OLD, OLD, OLD]);

  // The runner runs the post step after a cancelled job: the image was undone already.
  const since = h.cluster.requests.length;
  await rollingFlow.post!(inputs({ namespace: 'shop', service: 'cancel', image: BROKEN, kubeconfig: h.cluster.kubeconfig }), context);
  expect(writesSince(h, since)).toEqual([]);
  expect(context.reporter.messages('warn').join('\n')).not.toContain('The run did not finish');
});

test('SIGTERM to the action mid-rollout (a cancelled job): the image is put back, result rolled-back, exit code 1', async () => {
  await deployed(h, 'shop', 'term');
  const raw = { namespace: 'shop', service: 'term', image: BROKEN, kubeconfig: h.cluster.kubeconfig, 'lock-timeout': '5s' };
  const main = startAction({ entry: 'src/actions/rolling.ts', inputs: raw, dir, env: actionEnv('3003') });
  await imageApplied('term', 'run-3003', () => main.child.exitCode === null);
  main.child.kill('SIGTERM');
  const run = await main.done;
  expect(run.code).toBe(1);
  expect(run.outputs).toMatchObject({ result: 'rolled-back', 'previous-image': OLD, image: OLD });
  expect(run.stdout).toMatch(
    /::error::the run was cancelled mid-rollout; Deployment shop\/term is back on registry\.example\.com\/checkout:1\.0\.0/,
  );
  expect(imageOf(h, 'shop', 'term')).toBe(OLD);
  expect(podImages(h, 'shop', 'term')).toEqual([OLD, OLD, OLD]);
  expect(visibleLog(run)).not.toContain(h.cluster.token);

  const since = h.cluster.requests.length;
  const post = await runAction({
    entry: 'src/actions/rolling.ts',
    inputs: raw,
    dir,
    env: actionEnv('3003'),
    post: { stateFile: run.stateFile },
  });
  expect(post.code).toBe(0);
  expect(writesSince(h, since)).toEqual([]);
}, 60_000);

test('killed mid-rollout (SIGKILL: no cleanup of its own): the post step puts the previous image back and releases the lock', async () => {
  await deployed(h, 'shop', 'killed');
  const raw = { namespace: 'shop', service: 'killed', image: BROKEN, kubeconfig: h.cluster.kubeconfig, 'lock-timeout': '5s' };
  const main = startAction({ entry: 'src/actions/rolling.ts', inputs: raw, dir, env: actionEnv('4004') });
  await imageApplied('killed', 'run-4004', () => main.child.exitCode === null);
  main.child.kill('SIGKILL');
  const killed = await main.done;
  expect(killed.code).toBeNull();
  // Left as the run left it: the broken image still rolling out, the lock held.
  expect(imageOf(h, 'shop', 'killed')).toBe(BROKEN);
  expect(h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-killed').spec.holderIdentity).toBe('run-4004');

  const post = await runAction({
    entry: 'src/actions/rolling.ts',
    inputs: raw,
    dir,
    env: actionEnv('4004'),
    post: { stateFile: main.stateFile },
  });
  expect(post.code, post.stdout).toBe(0);
  expect(post.stdout).toContain('::warning::The run did not finish: undoing image (Deployment shop/killed)');
  expect(post.stdout).toContain('Released the lock of killed held by this run.');
  // The post step waited for the previous image's rollout.
  expect(imageOf(h, 'shop', 'killed')).toBe(OLD);
  expect(podImages(h, 'shop', 'killed')).toEqual([OLD, OLD, OLD]);
  expect((await journal(h, 'shop', 'killed')).map((e) => [e.id, e.status])).toEqual([['run-4004/image', 'compensated']]);
  expect(h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-killed').spec.holderIdentity ?? undefined).toBeUndefined();
  expect(visibleLog(post)).not.toContain(h.cluster.token);
}, 60_000);

test('a cancel that comes while the rollout wait reads the Deployment ends the wait at once, not at its timeout', async () => {
  await deployed(h, 'shop', 'reading');
  const dep = h.cluster.get('apps/v1', 'Deployment', 'shop', 'reading');
  dep.spec.template.spec.containers[0].image = BROKEN;
  await h.cluster.apply([dep]);
  // The wait's first read is answered late; the cancel comes meanwhile, before the watch is opened.
  const slow = h.cluster.faults.add({ method: 'GET', path: '/apis/apps/v1/namespaces/shop/deployments/reading', delayMs: 300, times: 1 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('the run was cancelled')), 50);
  const started = Date.now();
  const waited = await waitForDeploymentRollout(
    h.client,
    { namespace: 'shop', name: 'reading' },
    { timeoutMs: 20_000, signal: controller.signal },
  ).then(
    () => undefined,
    (error: Error) => error,
  );
  h.cluster.faults.remove(slow);
  expect(waited?.message).toBe('the run was cancelled');
  expect(Date.now() - started).toBeLessThan(5_000);
});
