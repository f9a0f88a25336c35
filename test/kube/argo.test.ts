import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ArgoRollout } from '../../src/core/kube/argo-rollout.js';
import { RolloutFailedError } from '../../src/core/kube/deployment.js';
import { ArgoRolloutRouter } from '../../src/core/kube/routers/argo-rollout.js';
import { startHarness, type KubeHarness } from './harness.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness({ podReadyDelayMs: 20 });
});
afterAll(async () => {
  await h?.close();
});

function rollout(name: string, image: string) {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
      strategy: {
        canary: { steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }, { setWeight: 75 }, { pause: {} }] },
      },
    },
  };
}

const wait = { timeoutMs: 20_000 };

describe('Argo Rollouts driver', () => {
  test('set image, pause at the first step, promote step by step, then promote --full to Healthy', async () => {
    await h.cluster.apply(rollout('checkout', 'checkout:1'));
    const ro = new ArgoRollout(h.client, 'shop', 'checkout');
    expect((await ro.waitFor('healthy', wait)).phase).toBe('Healthy');

    const change = await ro.setImage('checkout:2');
    expect(change).toMatchObject({ container: 'app', previousImage: 'checkout:1', image: 'checkout:2', changed: true });
    let s = await ro.waitFor('paused', wait);
    expect(s).toMatchObject({ phase: 'Paused', stepIndex: 1, setWeight: 25, actualWeight: 25, paused: true });

    await ro.promote();
    s = await ro.waitFor('paused', wait);
    expect(s).toMatchObject({ stepIndex: 3, setWeight: 50 });

    await ro.promote({ full: true });
    s = await ro.waitFor('healthy', wait);
    expect(s.phase).toBe('Healthy');
    expect(s.stableRS).toBe(s.currentPodHash);
  });

  test('abort is reported as a failure with the controller message; retry resumes; undo restores the previous template', async () => {
    await h.cluster.apply(rollout('payments', 'payments:1'));
    const ro = new ArgoRollout(h.client, 'shop', 'payments');
    await ro.waitFor('healthy', wait);
    await ro.setImage('payments:2');
    await ro.waitFor('paused', wait);
    await ro.abort();
    const error = await ro.waitFor('healthy', wait).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutFailedError);
    expect((error as Error).message).toMatch(
      /^Rollout shop\/payments: rollout failed: RolloutAborted: Rollout aborted update to revision 2/,
    );
    expect((await ro.status()).actualWeight).toBe(0);

    await ro.retry();
    expect((await ro.waitFor('paused', wait)).setWeight).toBe(25);

    const undo = await ro.undo();
    expect(undo).toEqual({ toRevision: 1, images: { app: 'payments:1' }, skipped: false });
    const live = h.cluster.get('argoproj.io/v1alpha1', 'Rollout', 'shop', 'payments');
    expect(live.spec.template.spec.containers[0].image).toBe('payments:1');
    expect(live.spec.template.metadata.labels).toEqual({ app: 'payments' });
    expect((await ro.waitFor('healthy', wait)).phase).toBe('Healthy');
  });
});

describe('Argo Rollouts driver against a real API server and controller', () => {
  test('undo to the revision already running is skipped and writes nothing (the Rollout template is not defaulted)', async () => {
    await h.cluster.apply(rollout('search', 'search:1'));
    const ro = new ArgoRollout(h.client, 'shop', 'search');
    await ro.waitFor('healthy', wait);
    await ro.setImage('search:2');
    await ro.waitFor('paused', wait);
    await ro.promote({ full: true });
    await ro.waitFor('healthy', wait);
    // The API server keeps the Rollout's template as written; its ReplicaSet's template was defaulted.
    const live = h.cluster.get('argoproj.io/v1alpha1', 'Rollout', 'shop', 'search');
    expect(live.spec.template.spec.containers[0].imagePullPolicy).toBeUndefined();
    const rs = h.cluster
      .list('apps/v1', 'ReplicaSet', 'shop')
      .find((x) => x.metadata.labels.app === 'search' && x.metadata.labels['rollouts-pod-template-hash'] === live.status.currentPodHash);
    expect(rs.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');

    h.cluster.resetRequests();
    expect(await ro.undo(2)).toEqual({ toRevision: 2, images: { app: 'search:2' }, skipped: true });
    expect(h.cluster.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    // The ReplicaSets are listed by the Rollout's selector, not all of the namespace's.
    const list = h.cluster.requests.find((r) => r.path === '/apis/apps/v1/namespaces/shop/replicasets')!;
    expect(decodeURIComponent(list.query)).toContain('labelSelector=app=search');

    // Undo to revision 1 writes the defaulted template back; the controller matches it to the old ReplicaSet
    // (no third one) and, as it is not the stable one, walks the steps again.
    expect((await ro.undo()).skipped).toBe(false);
    const paused = await ro.waitFor('paused', wait);
    expect(paused.stepIndex).toBe(1);
    expect(paused.currentPodHash).toBe(
      h.cluster
        .list('apps/v1', 'ReplicaSet', 'shop')
        .find((x) => x.metadata.labels.app === 'search' && x.metadata.annotations['rollout.argoproj.io/revision'] === '3')!.metadata.labels[
        'rollouts-pod-template-hash'
      ],
    );
    expect(h.cluster.list('apps/v1', 'ReplicaSet', 'shop').filter((x) => x.metadata.labels.app === 'search')).toHaveLength(2);
  });

  test("a canary whose pods never start turns Degraded with ProgressDeadlineExceeded, reported with the pods' reason", async () => {
    // argo-rollouts utils/conditions: RolloutTimedOut; CalculateRolloutPhase -> Degraded, "ProgressDeadlineExceeded: <message>".
    const manifest = rollout('stuck', 'stuck:1');
    (manifest.spec as any).progressDeadlineSeconds = 1;
    await h.cluster.apply(manifest);
    const ro = new ArgoRollout(h.client, 'shop', 'stuck');
    await ro.waitFor('healthy', wait);
    await ro.setImage('stuck:fail-rollout');
    const error = await ro.waitFor('paused', wait).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutFailedError);
    expect((error as RolloutFailedError).reason).toBe('ProgressDeadlineExceeded');
    expect((error as Error).message).toMatch(
      /^Rollout shop\/stuck: rollout failed: ProgressDeadlineExceeded: ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\. \(ImagePullBackOff on pod stuck-[a-z0-9]+-[a-z0-9]+\)$/,
    );
    const s = await ro.status();
    expect(s).toMatchObject({ phase: 'Degraded', aborted: false, stepIndex: 0 });
    // Basic canary (no trafficRouting): no status.canary.weights; the driver falls back to the step's weight.
    expect(h.cluster.get('argoproj.io/v1alpha1', 'Rollout', 'shop', 'stuck').status.canary?.weights).toBeUndefined();
    expect(s.actualWeight).toBe(25);

    // Abort, then undo to the working template: Healthy again.
    await ro.abort();
    await expect(ro.waitFor('healthy', wait)).rejects.toThrow(/RolloutAborted/);
    expect((await ro.undo()).images).toEqual({ app: 'stuck:1' });
    expect((await ro.waitFor('healthy', wait)).phase).toBe('Healthy');
  });
});

describe('Argo Rollouts router', () => {
  test('reads the controller weight and writes by promoting to the step that sets it', async () => {
    await h.cluster.apply(rollout('cart', 'cart:1'));
    const router = new ArgoRolloutRouter(h.client, { namespace: 'shop', name: 'cart', settleTimeoutMs: 20_000 });
    await router.rollout.waitFor('healthy', wait);
    expect(await router.read()).toEqual({ stable: 100, canary: 0 });
    await router.rollout.setImage('cart:2');
    await router.rollout.waitFor('paused', wait);
    expect(await router.read()).toEqual({ stable: 75, canary: 25 });

    expect(await router.write({ stable: 25, canary: 75 })).toEqual({ stable: 25, canary: 75 });
    await expect(router.write({ stable: 70, canary: 30 })).rejects.toThrow(
      'Rollout shop/cart: is at 75%: Argo Rollouts only lowers a canary',
    );
    h.cluster.resetRequests();
    await expect(router.write({ stable: 60, canary: 45 })).rejects.toThrow(/must sum to 100/);
    expect(h.cluster.requests).toHaveLength(0);

    expect(await router.write({ stable: 0, canary: 100 })).toEqual({ stable: 0, canary: 100 });
    expect((await router.rollout.status()).phase).toBe('Healthy');
  });
});
