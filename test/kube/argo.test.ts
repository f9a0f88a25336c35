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
      strategy: { canary: { steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }, { setWeight: 75 }, { pause: {} }] } },
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
    expect((error as Error).message).toMatch(/^Rollout shop\/payments: rollout failed: RolloutAborted: Rollout aborted update to revision 2/);
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
    await expect(router.write({ stable: 70, canary: 30 })).rejects.toThrow('Rollout shop/cart: is at 75%: Argo Rollouts only lowers a canary');
    h.cluster.resetRequests();
    await expect(router.write({ stable: 60, canary: 45 })).rejects.toThrow(/must sum to 100/);
    expect(h.cluster.requests).toHaveLength(0);

    expect(await router.write({ stable: 0, canary: 100 })).toEqual({ stable: 0, canary: 100 });
    expect((await router.rollout.status()).phase).toBe('Healthy');
  });
});
