import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import { setDeploymentImage } from '../../src/core/kube/deployment.js';
import { Journal } from '../../src/core/kube/journal.js';
import { runRolling } from '../../src/core/rolling/flow.js';
import {
  BROKEN,
  deployed,
  imageOf,
  inputs,
  journal,
  live,
  NEW,
  OLD,
  podImages,
  revisionOf,
  roll,
  startHarness,
  testContext,
  writesSince,
  type Harness,
} from './harness.js';

/**
 * A rolling update against the test cluster, whose Deployment controller rolls the pods: the image
 * set (journaled first), the rollout waited for, the Deployment read back before the run says
 * rolled-out; and the runs that must change nothing: bad input, a Recreate, paused or missing
 * Deployment, an image already current, a dry run, a re-run of the same run id.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('a rollout that completes', () => {
  test('sets the image, waits for the rollout, reads it back; outputs, journal entry and summary say so', async () => {
    await deployed(h, 'shop', 'checkout');
    expect(revisionOf(h, 'shop', 'checkout')).toBe('1');
    const since = h.cluster.requests.length;
    const run = await roll(h, { namespace: 'shop', service: 'checkout', image: NEW }, 'run-100');

    expect(run.failure).toBeUndefined();
    expect(run.outputs).toEqual({ result: 'rolled-out', 'previous-image': OLD, image: NEW, revision: '2' });
    // Read back: the spec, every pod of the new ReplicaSet ready, none of the old one left.
    const dep = live(h, 'shop', 'checkout');
    expect(imageOf(h, 'shop', 'checkout')).toBe(NEW);
    expect(dep.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(dep.status.observedGeneration).toBe(dep.metadata.generation);
    expect(podImages(h, 'shop', 'checkout')).toEqual([NEW, NEW, NEW]);

    // Journaled before it was made: one `image` entry with the image and revision before, applied.
    const entries = await journal(h, 'shop', 'checkout');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      id: 'run-100/image',
      runId: 'run-100',
      release: 'run-100',
      strategy: 'rolling',
      status: 'applied',
      object: { kind: 'Deployment', namespace: 'shop', name: 'checkout' },
      change: { kind: 'image', container: 'app', previous: { image: OLD, revision: 1 }, next: { image: NEW } },
    });
    // On the wire: the entry recorded (the journal created, planned), the image set, the entry marked applied.
    expect(writesSince(h, since, { leases: false })).toEqual([
      'POST /api/v1/namespaces/shop/configmaps',
      'PATCH /apis/apps/v1/namespaces/shop/deployments/checkout',
      'PATCH /api/v1/namespaces/shop/configmaps/pd-state-checkout',
    ]);

    // The summary: the deployment headline, then the rolling section with before/after and how to roll back.
    const summary = run.context.reporter.summaries.join('\n');
    expect(summary).toMatch(/^## ✅ Deploy checkout 2\.0\.0/);
    expect(summary).toContain('### Rolling update: rolled-out');
    expect(summary).toContain(`| Before | \`${OLD} (revision 1)\` |`);
    expect(summary).toContain(`| After | \`${NEW} (revision 2)\` |`);
    expect(summary).toContain('| Strategy | rolling |');
    expect(summary).toContain('- uses: <owner>/<repo>/actions/rollback@<version>');
    expect(run.text).toContain(`Rolled out: Deployment shop/checkout runs ${NEW} (revision 2), every replica ready.`);
    // The lock is released.
    expect(h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-checkout').spec.holderIdentity ?? undefined).toBeUndefined();
  });

  test('a re-run of the same run id changes nothing and says rolled-out again', async () => {
    await deployed(h, 'shop', 'orders');
    const first = await roll(h, { namespace: 'shop', service: 'orders', image: NEW }, 'run-200');
    expect(first.outputs.result).toBe('rolled-out');
    const since = h.cluster.requests.length;
    const again = await roll(h, { namespace: 'shop', service: 'orders', image: NEW }, 'run-200');
    expect(again.failure).toBeUndefined();
    expect(again.outputs).toEqual({ result: 'rolled-out', 'previous-image': OLD, image: NEW, revision: '2' });
    expect(writesSince(h, since, { leases: false })).toEqual([]);
    expect(again.text).toContain('Run run-200 already rolled Deployment shop/orders out to');
    expect((await journal(h, 'shop', 'orders')).map((e) => [e.id, e.status])).toEqual([['run-200/image', 'applied']]);
    // The same run id with another image is refused: a run id rolls out one image.
    const other = await roll(h, { namespace: 'shop', service: 'orders', image: 'registry.example.com/checkout:3.0.0' }, 'run-200');
    expect(other.outputs).toMatchObject({ result: 'failed', 'previous-image': NEW, image: NEW });
    expect(other.failure?.message).toMatch(/run run-200 already rolled out .*2\.0\.0 to container app .*give a new run-id/i);
    expect(imageOf(h, 'shop', 'orders')).toBe(NEW);
  });

  test('a run killed between setting the image and marking it applied: a re-run of its run id goes on with the rollout', async () => {
    await deployed(h, 'shop', 'resume');
    // What the killed run left: its entry recorded (planned), the image set, nothing more.
    const recorded = new Journal(h.client, { namespace: 'shop', service: 'resume' });
    await recorded.record({
      runId: 'run-250',
      release: 'run-250',
      step: 'image',
      strategy: 'rolling',
      object: { kind: 'Deployment', namespace: 'shop', name: 'resume' },
      change: { kind: 'image', container: 'app', previous: { image: OLD, revision: 1 }, next: { image: NEW } },
    });
    await setDeploymentImage(h.client, { namespace: 'shop', name: 'resume', container: 'app', image: NEW });
    const run = await roll(h, { namespace: 'shop', service: 'resume', image: NEW }, 'run-250');
    expect(run.failure).toBeUndefined();
    expect(run.outputs).toEqual({ result: 'rolled-out', 'previous-image': OLD, image: NEW, revision: '2' });
    expect(run.text).toContain('(set by this run before; going on with its rollout)');
    expect((await journal(h, 'shop', 'resume')).map((e) => [e.id, e.status])).toEqual([['run-250/image', 'applied']]);
    expect(podImages(h, 'shop', 'resume')).toEqual([NEW, NEW, NEW]);
  });

  test('an image already current and rolled out: nothing-to-do, nothing written, nothing journaled', async () => {
    await deployed(h, 'shop', 'search', { image: NEW });
    const since = h.cluster.requests.length;
    const run = await roll(h, { namespace: 'shop', service: 'search', image: NEW }, 'run-300');
    expect(run.failure).toBeUndefined();
    expect(run.outputs).toEqual({ result: 'nothing-to-do', 'previous-image': NEW, image: NEW, revision: '1' });
    expect(writesSince(h, since, { leases: false })).toEqual([]);
    expect(await journal(h, 'shop', 'search')).toEqual([]);
    expect(run.context.reporter.summaries.join('\n')).toContain('### Rolling update: nothing-to-do');
  });

  test('a dry run says what it would do and writes nothing, not even the lock', async () => {
    await deployed(h, 'shop', 'cart');
    const since = h.cluster.requests.length;
    const run = await roll(h, { namespace: 'shop', service: 'cart', image: NEW, 'dry-run': 'true' }, 'run-400');
    expect(run.outputs).toEqual({ result: 'planned', 'previous-image': OLD, image: OLD, revision: '1' });
    expect(run.text).toContain(`[dry run] would image: Deployment shop/cart container app: ${OLD} -> ${NEW}`);
    expect(run.text).toContain('Dry run: nothing was changed.');
    expect(writesSince(h, since)).toEqual([]);
    expect(imageOf(h, 'shop', 'cart')).toBe(OLD);
  });

  test('deployment and container name the target when the service and the Deployment differ', async () => {
    await deployed(h, 'shop', 'web-frontend', { sidecar: true });
    const run = await roll(h, { namespace: 'shop', service: 'web', deployment: 'web-frontend', container: 'app', image: NEW }, 'run-500');
    expect(run.outputs).toMatchObject({ result: 'rolled-out', 'previous-image': OLD, image: NEW });
    expect(imageOf(h, 'shop', 'web-frontend', 'app')).toBe(NEW);
    expect(imageOf(h, 'shop', 'web-frontend', 'proxy')).toBe('registry.example.com/proxy:1.0.0');
    expect((await journal(h, 'shop', 'web'))[0]?.object).toEqual({ kind: 'Deployment', namespace: 'shop', name: 'web-frontend' });
  });
});

describe('runs that change nothing', () => {
  test('bad input is refused before any request, naming the input and the fix', async () => {
    const since = h.cluster.requests.length;
    const bad = async (raw: Record<string, string>) => {
      const context = testContext('run-bad');
      try {
        await runRolling(
          inputs({ namespace: 'shop', service: 'checkout', image: NEW, kubeconfig: h.cluster.kubeconfig, ...raw }),
          context,
          { env: {} },
        );
      } catch (error) {
        return error as Error;
      }
      throw new Error('expected an error');
    };
    expect(() => inputs({ namespace: 'shop', service: 'checkout' })).toThrow(/'image': is required/);
    expect(() => inputs({ namespace: 'shop', service: 'checkout', image: 'app:$(id)' })).toThrow(/'image': expected a container image/);
    expect(() => inputs({ namespace: 'shop', service: 'checkout', image: NEW, 'rollout-timeout': '0s' })).toThrow(
      /'rollout-timeout': expected a duration above 0/,
    );
    expect(() => inputs({ namespace: 'shop', service: 'checkout', image: NEW, container: 'App' })).toThrow(/'container'/);
    const withoutAnalysis = await bad({ 'analysis-args': 'env: prod' });
    expect(withoutAnalysis).toBeInstanceOf(InputError);
    expect(withoutAnalysis.message).toContain('analysis-args: needs the analysis input');
    const endless = await bad({
      analysis: 'metrics: [{ name: errors, interval: 1m, successCondition: "result[0] < 1", provider: { prometheus: { query: up } } }]',
      'prometheus-address': 'http://127.0.0.1:1',
    });
    expect(endless.message).toMatch(/analysis: metric 'errors' has an interval but no count.*give it a count/);
    const noAddress = await bad({
      analysis: 'metrics: [{ name: errors, successCondition: "result[0] < 1", provider: { prometheus: { query: up } } }]',
    });
    expect(noAddress.message).toMatch(/analysis: .*no address; give provider address, or the default Prometheus address/);
    const slack = await bad({ 'slack-token': 'xoxb-123-abc' });
    expect(slack.message).toContain("'slack-channel' is required with 'slack-token'");
    expect(h.cluster.requests.slice(since)).toEqual([]);
  });

  test('a Recreate Deployment is refused before the lock: nothing written; a rollback after it touches nothing', async () => {
    await deployed(h, 'legacy', 'billing', { strategy: 'Recreate' });
    const since = h.cluster.requests.length;
    const run = await roll(h, { namespace: 'legacy', service: 'billing', image: NEW, kubeconfig: h.cluster.kubeconfig }, 'run-600');
    expect(run.outputs).toEqual({ result: 'failed' });
    expect(run.failure?.message).toMatch(
      /^Deployment legacy\/billing uses strategy Recreate, which stops every pod before it starts the new ones: the service would be down meanwhile\. Not rolling it out\. Give the Deployment spec\.strategy\.type: RollingUpdate/,
    );
    expect(writesSince(h, since)).toEqual([]);
    expect(imageOf(h, 'legacy', 'billing')).toBe(OLD);
    expect(h.cluster.get('v1', 'ConfigMap', 'legacy', 'pd-state-billing')).toBeUndefined();
  });

  test('a missing Deployment is named with the inputs that name it', async () => {
    const since = h.cluster.requests.length;
    const run = await roll(h, { namespace: 'shop', service: 'nowhere', image: NEW }, 'run-700');
    expect(run.outputs).toEqual({ result: 'failed' });
    expect(run.failure?.message).toMatch(
      /^Deployment shop\/nowhere not found: nothing was changed\. Check the deployment input \(empty: the service name, nowhere\) and the namespace \(shop\)/,
    );
    expect(writesSince(h, since)).toEqual([]);
  });

  test('a Deployment with several containers and no container input: InputError naming the input and the containers', async () => {
    await deployed(h, 'shop', 'gateway', { sidecar: true });
    const since = h.cluster.requests.length;
    const context = testContext('run-800');
    const error = await runRolling(inputs({ namespace: 'shop', service: 'gateway', image: NEW }), context, {
      client: h.client,
      env: {},
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error?.message).toContain(
      'container: Deployment shop/gateway has 2 containers (app, proxy); name the one whose image is set, e.g. container: app',
    );
    const unknown = await roll(h, { namespace: 'shop', service: 'gateway', image: NEW, container: 'web' }, 'run-801').catch(
      (e: Error) => e,
    );
    expect((unknown as Error).message).toContain('container: Deployment shop/gateway has no container web; its containers are app, proxy');
    expect(writesSince(h, since)).toEqual([]);
  });

  test('a paused Deployment is refused: the controller would never roll it out', async () => {
    await deployed(h, 'shop', 'paused');
    const dep = live(h, 'shop', 'paused');
    dep.spec.paused = true;
    await h.cluster.apply([dep]);
    const since = h.cluster.requests.length;
    const run = await roll(h, { namespace: 'shop', service: 'paused', image: NEW }, 'run-900');
    expect(run.outputs.result).toBe('failed');
    expect(run.failure?.message).toContain('is paused (spec.paused: true)');
    expect(run.failure?.message).toContain('kubectl rollout resume deployment/paused -n shop');
    expect(writesSince(h, since)).toEqual([]);
  });

  test('an image already set by someone else, still rolling out and failing: waited for, failed, nothing written or undone', async () => {
    await deployed(h, 'shop', 'hand');
    const dep = live(h, 'shop', 'hand');
    dep.spec.template.spec.containers[0].image = BROKEN; // kubectl set image, by hand
    await h.cluster.apply([dep]);
    const since = h.cluster.requests.length;
    const run = await roll(h, { namespace: 'shop', service: 'hand', image: BROKEN }, 'run-1000');
    expect(run.outputs).toMatchObject({ result: 'failed', 'previous-image': BROKEN, image: BROKEN });
    expect(run.failure?.message).toMatch(
      /already runs .*fail-rollout, set before this run, and its rollout did not finish: .*ProgressDeadlineExceeded.*ImagePullBackOff.*This run changed nothing/,
    );
    expect(writesSince(h, since, { leases: false })).toEqual([]);
    expect(imageOf(h, 'shop', 'hand')).toBe(BROKEN);
  });
});
