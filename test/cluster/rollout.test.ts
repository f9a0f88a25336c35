/**
 * The simulated Argo Rollouts canary controller, driven through client-node's
 * CustomObjectsApi the way `kubectl argo rollouts promote/abort` drive it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from './server.js';
import { waitFor } from './helpers.js';
import { parseDurationMs } from './controllers/rollout.js';

let cluster: TestCluster;
let custom: CustomObjectsApi;
const ref = { group: 'argoproj.io', version: 'v1alpha1', namespace: 'default', plural: 'rollouts' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function rollout(name: string, image: string, steps: object[]): any {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
      strategy: {
        canary: {
          canaryService: `${name}-canary`,
          stableService: `${name}-stable`,
          trafficRouting: { istio: { virtualService: { name, routes: ['primary'] } } },
          steps,
        },
      },
    },
  };
}

function virtualService(name: string): any {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name },
    spec: {
      hosts: [name],
      http: [
        {
          name: 'primary',
          route: [
            { destination: { host: `${name}-stable` }, weight: 100 },
            { destination: { host: `${name}-canary` }, weight: 0 },
          ],
        },
      ],
    },
  };
}

const status = (name: string) => cluster.get('argoproj.io/v1alpha1', 'Rollout', 'default', name)?.status ?? {};
const vsWeights = (name: string) =>
  cluster.get('networking.istio.io/v1', 'VirtualService', 'default', name).spec.http[0].route.map((r: any) => r.weight);

async function setImage(name: string, image: string): Promise<void> {
  await custom.patchNamespacedCustomObject(
    { ...ref, name, body: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } } },
    merge,
  );
}

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 10 });
  const kc = new KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  custom = kc.makeApiClient(CustomObjectsApi);
});

afterAll(async () => {
  await cluster?.stop();
});

describe('Argo Rollout canary', () => {
  it('parses Argo durations', () => {
    expect(parseDurationMs(2)).toBe(2000);
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('soon')).toBeUndefined();
  });

  it('walks setWeight / pause steps, waits for promote, then makes the canary stable', async () => {
    await cluster.apply(virtualService('shop'));
    await custom.createNamespacedCustomObject({
      ...ref,
      body: rollout('shop', 'shop:1', [{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }, { pause: { duration: '300ms' } }]),
    });
    const first = await waitFor(() => (status('shop').phase === 'Healthy' ? status('shop') : undefined), 5000, 'initial Healthy');
    expect(first.stableRS).toBe(first.currentPodHash);
    expect(first.currentStepIndex).toBe(4);
    expect(first.availableReplicas).toBe(4);

    await setImage('shop', 'shop:2');
    const paused = await waitFor(() => (status('shop').phase === 'Paused' ? status('shop') : undefined), 5000, 'Paused at step 1');
    expect(paused.currentStepIndex).toBe(1);
    expect(paused.currentPodHash).not.toBe(first.currentPodHash);
    expect(paused.stableRS).toBe(first.currentPodHash);
    expect(paused.pauseConditions).toEqual([{ reason: 'CanaryPauseStep', startTime: expect.any(String) }]);
    expect(paused.controllerPause).toBe(true);
    expect(paused.canary.weights.canary).toMatchObject({ podTemplateHash: paused.currentPodHash, weight: 20 });
    expect(paused.canary.weights.stable).toMatchObject({ podTemplateHash: first.currentPodHash, weight: 80 });
    expect(vsWeights('shop')).toEqual([80, 20]);

    // Still paused a while later: a pause without duration waits for promotion.
    await new Promise((r) => setTimeout(r, 200));
    expect(status('shop').phase).toBe('Paused');

    // `kubectl argo rollouts promote`: clear the pause conditions through the status subresource.
    await custom.patchNamespacedCustomObjectStatus({ ...ref, name: 'shop', body: { status: { pauseConditions: null } } }, merge);
    const timed = await waitFor(() => (status('shop').currentStepIndex === 3 ? status('shop') : undefined), 5000, 'timed pause');
    expect(timed.phase).toBe('Paused');
    expect(timed.canary.weights.canary.weight).toBe(60);
    expect(vsWeights('shop')).toEqual([40, 60]);

    const done = await waitFor(() => (status('shop').phase === 'Healthy' ? status('shop') : undefined), 5000, 'promoted');
    expect(done.stableRS).toBe(done.currentPodHash);
    expect(done.currentStepIndex).toBe(4);
    expect(done.pauseConditions).toBeUndefined();
    expect(vsWeights('shop')).toEqual([100, 0]);
    // With trafficRouting the old stable ReplicaSet stays up for scaleDownDelaySeconds (default 30 s).
    const rs = cluster.get('apps/v1', 'ReplicaSet', 'default', `shop-${first.currentPodHash}`);
    expect(rs.spec.replicas).toBe(4);
    expect(Date.parse(rs.metadata.annotations['scale-down-deadline']) - Date.now()).toBeGreaterThan(25_000);
  });

  it('aborts on status.abort: Degraded, weight 0, back to stable', async () => {
    await cluster.apply(virtualService('cart'));
    await custom.createNamespacedCustomObject({ ...ref, body: rollout('cart', 'cart:1', [{ setWeight: 50 }, { pause: {} }]) });
    const stable = await waitFor(() => (status('cart').phase === 'Healthy' ? status('cart') : undefined), 5000, 'initial Healthy');
    await setImage('cart', 'cart:2');
    await waitFor(() => status('cart').phase === 'Paused', 5000, 'Paused');
    expect(vsWeights('cart')).toEqual([50, 50]);

    // `kubectl argo rollouts abort`
    await custom.patchNamespacedCustomObjectStatus({ ...ref, name: 'cart', body: { status: { abort: true } } }, merge);
    const aborted = await waitFor(() => (status('cart').phase === 'Degraded' ? status('cart') : undefined), 5000, 'Degraded');
    expect(aborted.abort).toBe(true);
    expect(aborted.message).toMatch(/^RolloutAborted: Rollout aborted update to revision \d+$/);
    expect(aborted.canary.weights.canary.weight).toBe(0);
    expect(aborted.stableRS).toBe(stable.stableRS);
    expect(vsWeights('cart')).toEqual([100, 0]);

    // `kubectl argo rollouts retry rollout`: the steps start again.
    await custom.patchNamespacedCustomObjectStatus({ ...ref, name: 'cart', body: { status: { abort: false } } }, merge);
    const retried = await waitFor(() => (status('cart').phase === 'Paused' ? status('cart') : undefined), 5000, 'Paused after retry');
    expect(retried.currentStepIndex).toBe(1);
    expect(vsWeights('cart')).toEqual([50, 50]);
    await custom.patchNamespacedCustomObjectStatus({ ...ref, name: 'cart', body: { status: { abort: true } } }, merge);
    await waitFor(() => status('cart').phase === 'Degraded', 5000, 'Degraded again');

    // Rolling the template back to the stable one makes it Healthy again.
    await setImage('cart', 'cart:1');
    const healthy = await waitFor(() => (status('cart').phase === 'Healthy' ? status('cart') : undefined), 5000, 'Healthy again');
    expect(healthy.abort).toBeUndefined();
    expect(healthy.currentPodHash).toBe(stable.stableRS);
  });

  it('promoteFull skips the remaining steps; spec.paused pauses', async () => {
    await custom.createNamespacedCustomObject({
      ...ref,
      body: rollout('full', 'full:1', [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: {} }]),
    });
    await waitFor(() => status('full').phase === 'Healthy', 5000, 'initial Healthy');
    await setImage('full', 'full:2');
    await waitFor(() => status('full').phase === 'Paused', 5000, 'Paused');
    await custom.patchNamespacedCustomObjectStatus({ ...ref, name: 'full', body: { status: { promoteFull: true } } }, merge);
    const done = await waitFor(() => (status('full').phase === 'Healthy' ? status('full') : undefined), 5000, 'fully promoted');
    expect(done.stableRS).toBe(done.currentPodHash);
    expect(done.promoteFull).toBeUndefined();

    await custom.patchNamespacedCustomObject({ ...ref, name: 'full', body: { spec: { paused: true } } }, merge);
    await waitFor(() => status('full').phase === 'Paused', 5000, 'manually paused');
    expect(status('full').message).toBe('manually paused');
  });
});

describe('Argo Rollout step jumps', () => {
  it('stops at a pause step reached by setting currentStepIndex directly', async () => {
    await custom.createNamespacedCustomObject({
      ...ref,
      body: rollout('jump', 'jump:1', [
        { setWeight: 10 },
        { pause: {} },
        { setWeight: 40 },
        { pause: {} },
        { setWeight: 80 },
        { pause: {} },
      ]),
    });
    await waitFor(() => status('jump').phase === 'Healthy', 5000, 'initial Healthy');
    await setImage('jump', 'jump:2');
    await waitFor(() => status('jump').phase === 'Paused' && status('jump').currentStepIndex === 1, 5000, 'paused at 1');
    // What a "set weight to 80%" promotion sends: clear the pause and jump to the step after setWeight 80.
    await custom.patchNamespacedCustomObjectStatus(
      { ...ref, name: 'jump', body: { status: { pauseConditions: null, currentStepIndex: 4 } } },
      merge,
    );
    const s = await waitFor(
      () => (status('jump').phase === 'Paused' && status('jump').currentStepIndex === 5 ? status('jump') : undefined),
      5000,
      'paused at 5',
    );
    expect(s.canary.weights.canary.weight).toBe(80);
    expect(s.pauseConditions).toHaveLength(1);
  });
});

describe('Argo Rollout as the API server and Argo store it', () => {
  it('basic canary: no pod-template defaulting, no status.canary.weights, stable shrinks as the canary grows; a stuck canary turns Degraded', async () => {
    // Argo Rollouts docs (features/canary): without trafficRouting the weight is the ratio of pods;
    // reconcileTrafficRouting is what sets status.canary.weights. utils/conditions RolloutTimedOut / CalculateRolloutPhase.
    const ro = rollout('basic', 'basic:1', [{ setWeight: 25 }, { pause: {} }]);
    delete ro.spec.strategy.canary.trafficRouting;
    delete ro.spec.strategy.canary.canaryService;
    delete ro.spec.strategy.canary.stableService;
    ro.spec.progressDeadlineSeconds = 1;
    await custom.createNamespacedCustomObject({ ...ref, body: ro });
    const stable = await waitFor(() => (status('basic').phase === 'Healthy' ? status('basic') : undefined), 5000, 'initial Healthy');
    const stored = cluster.get('argoproj.io/v1alpha1', 'Rollout', 'default', 'basic');
    expect(stored.spec.template.spec.containers[0]).toEqual({ name: 'app', image: 'basic:1' }); // a CRD: not defaulted
    expect(stored.spec.replicas).toBe(4);
    const rsOf = (hash: string) => cluster.get('apps/v1', 'ReplicaSet', 'default', `basic-${hash}`);
    expect(rsOf(stable.stableRS).spec.template.spec.containers[0].terminationMessagePath).toBe('/dev/termination-log'); // a ReplicaSet: defaulted

    await setImage('basic', 'basic:2');
    const paused = await waitFor(() => (status('basic').phase === 'Paused' ? status('basic') : undefined), 5000, 'Paused');
    expect(paused.canary?.weights).toBeUndefined();
    expect(rsOf(paused.currentPodHash).spec.replicas).toBe(1);
    expect(rsOf(stable.stableRS).spec.replicas).toBe(3);

    await setImage('basic', 'basic:fail-rollout');
    const degraded = await waitFor(() => (status('basic').phase === 'Degraded' ? status('basic') : undefined), 5000, 'Degraded');
    expect(degraded.message).toMatch(/^ProgressDeadlineExceeded: ReplicaSet "basic-[a-z0-9]+" has timed out progressing\.$/);
    expect(degraded.conditions.find((c: any) => c.type === 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(degraded.abort).toBeUndefined(); // timing out does not abort (progressDeadlineAbort is false by default)
  });
});
