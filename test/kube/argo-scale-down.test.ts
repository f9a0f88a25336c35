/**
 * Argo Rollouts keeps a ReplicaSet up after traffic left it: the previous stable one for
 * scaleDownDelaySeconds after a promotion, the canary for abortScaleDownDelaySeconds after an abort
 * (both default 30 s with trafficRouting; abortScaleDownDelaySeconds 0 keeps it indefinitely), with
 * the annotation `scale-down-deadline` (argo-rollouts rollout/canary.go, rollout/replicaset.go;
 * docs features/scaledown-aborted-rs). The test cluster's controller does the same; the driver
 * reports each state.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ArgoRollout, describeScaleDown } from '../../src/core/kube/argo-rollout.js';
import { RolloutFailedError } from '../../src/core/kube/deployment.js';
import { waitFor } from '../cluster/helpers.js';
import { startHarness, type KubeHarness } from './harness.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness({ podReadyDelayMs: 20 });
  await h.cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
});
afterAll(async () => {
  await h?.close();
});

function rollout(name: string, image: string, canary: Record<string, unknown> = {}) {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
      strategy: {
        canary: {
          canaryService: `${name}-canary`,
          stableService: `${name}-stable`,
          trafficRouting: { istio: { virtualService: { name, routes: ['primary'] } } },
          steps: [{ setWeight: 50 }, { pause: {} }],
          ...canary,
        },
      },
    },
  };
}

function virtualService(name: string) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'shop' },
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

const wait = { timeoutMs: 20_000 };
const replicaSet = (name: string) => h.cluster.get('apps/v1', 'ReplicaSet', 'shop', name)!;

async function startCanary(name: string, canary: Record<string, unknown> = {}) {
  await h.cluster.apply([virtualService(name), rollout(name, `${name}:1`, canary)]);
  const ro = new ArgoRollout(h.client, 'shop', name);
  const first = await ro.waitFor('healthy', wait);
  await ro.setImage(`${name}:2`);
  await ro.waitFor('paused', wait);
  return { ro, stableHash: first.currentPodHash! };
}

describe('scale-down delays of Argo Rollouts with trafficRouting', () => {
  test('after a promotion the Rollout is Healthy while the previous stable ReplicaSet runs until its deadline (default 30 s)', async () => {
    const { ro, stableHash } = await startCanary('web');
    const progress: string[] = [];
    await ro.promote({ full: true });
    const healthy = await ro.waitFor('healthy', { ...wait, onProgress: (m) => progress.push(m) });
    expect(healthy.phase).toBe('Healthy');

    const old = replicaSet(`web-${stableHash}`);
    expect(old.spec.replicas).toBe(2);
    const deadline = old.metadata.annotations['scale-down-deadline'];
    expect(Date.parse(deadline) - Date.now()).toBeGreaterThan(25_000);
    expect(Date.parse(deadline) - Date.now()).toBeLessThanOrEqual(30_000);

    // The driver says so, with the ReplicaSet, its pods and the deadline.
    expect(healthy.scaleDowns).toEqual([{ replicaSet: `web-${stableHash}`, role: 'previous stable', replicas: 2, deadline }]);
    expect(progress).toContain(
      `ReplicaSet shop/web-${stableHash} (previous stable) keeps 2 pods until ${deadline} (scaleDownDelaySeconds)`,
    );
  });

  test('scaleDownDelaySeconds: 1 scales the previous stable ReplicaSet to 0 a second later, and drops the annotation', async () => {
    const { ro, stableHash } = await startCanary('fast', { scaleDownDelaySeconds: 1 });
    // Every stored version of the old ReplicaSet: it must carry the deadline while still at 2 replicas.
    const versions: { replicas: number; deadline: string | undefined; at: number }[] = [];
    const stop = h.cluster.onChange((event) => {
      const o = event.object;
      if (o.kind === 'ReplicaSet' && o.metadata.name === `fast-${stableHash}`) {
        versions.push({ replicas: o.spec.replicas, deadline: o.metadata.annotations?.['scale-down-deadline'], at: Date.now() });
      }
    });
    await ro.promote({ full: true });
    await ro.waitFor('healthy', wait);
    const gone = await waitFor(
      () => (replicaSet(`fast-${stableHash}`).spec.replicas === 0 ? replicaSet(`fast-${stableHash}`) : undefined),
      5000,
      'scale down',
    );
    stop();
    expect(gone.metadata.annotations?.['scale-down-deadline']).toBeUndefined();
    const marked = versions.find((v) => v.deadline !== undefined);
    expect(marked).toMatchObject({ replicas: 2 });
    const scaled = versions.find((v) => v.replicas === 0)!;
    // Not before the deadline (second resolution, as the annotation is RFC 3339).
    expect(scaled.at).toBeGreaterThanOrEqual(Date.parse(marked!.deadline!));
    expect(await ro.scaleDowns()).toEqual([]);
  });

  test('an abort keeps the canary for abortScaleDownDelaySeconds, then scales it to 0; the driver names it', async () => {
    const { ro } = await startCanary('abort', { abortScaleDownDelaySeconds: 1 });
    const canaryHash = (await ro.status()).currentPodHash!;
    await ro.abort();
    const error = await ro.waitFor('healthy', wait).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutFailedError);
    const kept = replicaSet(`abort-${canaryHash}`);
    expect(kept.spec.replicas).toBe(1);
    const [delay] = await ro.scaleDowns();
    expect(delay).toEqual({
      replicaSet: `abort-${canaryHash}`,
      role: 'aborted canary',
      replicas: 1,
      deadline: kept.metadata.annotations['scale-down-deadline'],
    });
    expect(describeScaleDown('shop', delay!)).toBe(
      `ReplicaSet shop/abort-${canaryHash} (aborted canary) keeps 1 pod until ${delay!.deadline} (abortScaleDownDelaySeconds)`,
    );
    await waitFor(() => replicaSet(`abort-${canaryHash}`).spec.replicas === 0, 5000, 'canary scaled down');
    expect(await ro.scaleDowns()).toEqual([]);
    // Traffic went back to stable at once (the delay is for the pods only).
    expect((await ro.status()).actualWeight).toBe(0);
  });

  test('abortScaleDownDelaySeconds: 0 keeps the aborted canary up with no deadline, and the driver says what to do', async () => {
    const { ro } = await startCanary('keep', { abortScaleDownDelaySeconds: 0 });
    const canaryHash = (await ro.status()).currentPodHash!;
    await ro.abort();
    await ro.waitFor('healthy', wait).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(replicaSet(`keep-${canaryHash}`).spec.replicas).toBe(1);
    const [delay] = await ro.scaleDowns();
    expect(delay).toEqual({ replicaSet: `keep-${canaryHash}`, role: 'aborted canary', replicas: 1, deadline: undefined });
    expect(describeScaleDown('shop', delay!)).toBe(
      `ReplicaSet shop/keep-${canaryHash} (aborted canary) keeps 1 pod with no deadline (abortScaleDownDelaySeconds: 0): retry the rollout or scale it down by hand`,
    );
  });

  test('a basic canary (no trafficRouting) scales the old ReplicaSet down at once', async () => {
    const basic = rollout('basic', 'basic:1');
    delete (basic.spec.strategy.canary as Record<string, unknown>).trafficRouting;
    await h.cluster.apply(basic);
    const ro = new ArgoRollout(h.client, 'shop', 'basic');
    const first = await ro.waitFor('healthy', wait);
    await ro.setImage('basic:2');
    await ro.waitFor('paused', wait);
    await ro.promote({ full: true });
    await ro.waitFor('healthy', wait);
    await waitFor(() => replicaSet(`basic-${first.currentPodHash}`).spec.replicas === 0, 5000, 'old scaled down');
    expect(replicaSet(`basic-${first.currentPodHash}`).metadata.annotations?.['scale-down-deadline']).toBeUndefined();
  });
});
