import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  RolloutFailedError,
  readDeployment,
  revisionOf,
  scaleDeployment,
  setDeploymentImage,
  undoDeployment,
  waitForDeploymentRollout,
} from '../../src/core/kube/deployment.js';
import { startHarness, type KubeHarness } from './harness.js';
import { WaitTimeoutError } from '../../src/core/kube/watch-until.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../cluster/helpers.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness({ podReadyDelayMs: 30, progressDeadlineMs: 1500 });
});
afterAll(async () => {
  await h?.close();
});

function deployment(name: string, image: string, replicas = 2) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'app', image },
            { name: 'proxy', image: 'envoy:1.30' },
          ],
        },
      },
    },
  };
}

const wait = { timeoutMs: 20_000 };

describe('Deployment rollout', () => {
  test('sets the first container image and waits until the new revision is fully rolled out, over a watch', async () => {
    await h.cluster.apply(deployment('checkout', 'checkout:1.0'));
    const d = { namespace: 'shop', name: 'checkout' };
    const first = await waitForDeploymentRollout(h.client, d, wait);
    expect(first.revision).toBe(1);

    const progress: string[] = [];
    const change = await setDeploymentImage(h.client, { ...d, image: 'checkout:1.1' });
    expect(change).toEqual({ container: 'app', previousImage: 'checkout:1.0', image: 'checkout:1.1', previousRevision: 1, changed: true });
    h.cluster.resetRequests();
    const done = await waitForDeploymentRollout(h.client, d, { ...wait, onProgress: (m) => progress.push(m) });
    expect(done.revision).toBe(2);
    const live = await readDeployment(h.client, d);
    expect(live.status?.updatedReplicas).toBe(2);
    expect(live.status?.availableReplicas).toBe(2);
    expect(live.status?.replicas).toBe(2);
    expect(live.spec?.template.spec?.containers.map((c) => c.image)).toEqual(['checkout:1.1', 'envoy:1.30']);
    // one read, then a watch on the object's name rather than polling
    const watches = h.cluster.requests.filter((r) => r.query.includes('watch=true'));
    expect(watches.length).toBeGreaterThanOrEqual(1);
    expect(decodeURIComponent(watches[0]!.query)).toContain('fieldSelector=metadata.name=checkout');
    expect(h.cluster.requests.filter((r) => r.method === 'GET' && !r.query.includes('watch')).length).toBeLessThanOrEqual(2);
    expect(progress.length).toBeGreaterThan(0);

    const again = await setDeploymentImage(h.client, { ...d, image: 'checkout:1.1', container: 'app' });
    expect(again.changed).toBe(false);
    await expect(setDeploymentImage(h.client, { ...d, image: 'x:1', container: 'sidecar' })).rejects.toThrow(
      'Deployment shop/checkout: has no container sidecar; its containers are app, proxy',
    );
  });

  test('an image that never becomes ready fails with ProgressDeadlineExceeded and its message', async () => {
    await h.cluster.apply(deployment('orders', 'orders:1.0'));
    const d = { namespace: 'shop', name: 'orders' };
    await waitForDeploymentRollout(h.client, d, wait);
    await setDeploymentImage(h.client, { ...d, image: 'orders:fail-rollout' });
    const error = await waitForDeploymentRollout(h.client, d, wait).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutFailedError);
    expect((error as RolloutFailedError).reason).toBe('ProgressDeadlineExceeded');
    // 2 replicas, 25%/25%: one surge pod (rounded up), none unavailable (rounded down), so one new pod that never starts.
    expect((error as Error).message).toMatch(
      /^Deployment shop\/orders: rollout failed: ProgressDeadlineExceeded: ReplicaSet "orders-[a-z0-9]+" has timed out progressing\. \(1\/2 updated, 1 unavailable, 2 old still running; ImagePullBackOff on pod orders-[a-z0-9]+-[a-z0-9]+\)$/,
    );
  });

  test('a wait that runs out of time says what was still missing', async () => {
    await h.cluster.apply(deployment('search', 'search:fail-rollout', 1));
    const error = await waitForDeploymentRollout(h.client, { namespace: 'shop', name: 'search' }, { timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/^Deployment shop\/search: not done after 300ms: .*(updated|observed)/);
  });

  test('on a cluster with the default 600s progress deadline, a slow rollout times out our wait first and says why', async () => {
    const real = await startHarness({ podReadyDelayMs: 20 }); // no deadline override: spec.progressDeadlineSeconds defaults to 600
    try {
      const manifest = deployment('slow', 'slow:1', 3);
      (manifest.spec as any).strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
      await real.cluster.apply(manifest);
      const d = { namespace: 'shop', name: 'slow' };
      await waitForDeploymentRollout(real.client, d, wait);
      expect(real.cluster.get('apps/v1', 'Deployment', 'shop', 'slow').spec.progressDeadlineSeconds).toBe(600);
      await setDeploymentImage(real.client, { ...d, image: 'slow:fail-rollout' });
      const error = await waitForDeploymentRollout(real.client, d, { timeoutMs: 800 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WaitTimeoutError);
      expect((error as Error).message).toMatch(
        /^Deployment shop\/slow: not done after 800ms: 1\/3 updated, 1 unavailable, 3 old still running \(ImagePullBackOff on pod slow-[a-z0-9]+-[a-z0-9]+\)$/,
      );
      // The cluster has not given up: Progressing is still True, as for 10 minutes on a real one.
      const progressing = real.cluster
        .get('apps/v1', 'Deployment', 'shop', 'slow')
        .status.conditions.find((c: any) => c.type === 'Progressing');
      expect(progressing).toMatchObject({ status: 'True' });
    } finally {
      await real.close();
    }
  });

  test('a ResourceQuota that refuses the new pods is named; once lifted the rollout completes', async () => {
    const quota = {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'pods-limit', namespace: 'quota' },
      spec: { hard: { pods: '2' } },
    };
    await h.cluster.apply(quota);
    const manifest = deployment('capped', 'capped:1', 2);
    (manifest.metadata as any).namespace = 'quota';
    await h.cluster.apply(manifest);
    const d = { namespace: 'quota', name: 'capped' };
    await waitForDeploymentRollout(h.client, d, wait);
    await setDeploymentImage(h.client, { ...d, image: 'capped:2' }); // needs a third (surge) pod
    const error = await waitForDeploymentRollout(h.client, d, wait).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutFailedError);
    expect((error as Error).message).toContain('0/2 updated, 1 unavailable, 2 old still running, ReplicaFailure: pods "capped-');
    expect((error as Error).message).toContain(
      'is forbidden: exceeded quota: pods-limit, requested: pods=1, used: pods=2, limited: pods=2',
    );

    // Lift the quota: the ReplicaSet creates its pods, the condition clears and the rollout finishes.
    await h.cluster.apply({ ...quota, spec: { hard: { pods: '3' } } });
    await setDeploymentImage(h.client, { ...d, image: 'capped:3' }); // a new rollout (the old one hit its deadline)
    expect((await waitForDeploymentRollout(h.client, d, wait)).revision).toBe(3);
    const live = await readDeployment(h.client, d);
    expect(live.status?.conditions?.some((c) => c.type === 'ReplicaFailure')).toBe(false);
  });

  test('undo goes back to the previous revision, and to a given revision, as kubectl rollout undo does', async () => {
    await h.cluster.apply(deployment('cart', 'cart:1'));
    const d = { namespace: 'shop', name: 'cart' };
    await waitForDeploymentRollout(h.client, d, wait);
    for (const image of ['cart:2', 'cart:3']) {
      await setDeploymentImage(h.client, { ...d, image });
      await waitForDeploymentRollout(h.client, d, wait);
    }
    expect(revisionOf(await readDeployment(h.client, d))).toBe(3);

    const previous = await undoDeployment(h.client, d);
    expect(previous).toEqual({ toRevision: 2, images: { app: 'cart:2', proxy: 'envoy:1.30' }, skipped: false });
    const afterUndo = await waitForDeploymentRollout(h.client, d, wait);
    expect(afterUndo.revision).toBe(4); // the old template becomes the newest revision
    let live = await readDeployment(h.client, d);
    expect(live.spec?.template.spec?.containers[0]?.image).toBe('cart:2');
    expect(live.spec?.template.metadata?.labels).toEqual({ app: 'cart' }); // no pod-template-hash copied

    const toOne = await undoDeployment(h.client, { ...d, toRevision: 1 });
    expect(toOne.toRevision).toBe(1);
    await waitForDeploymentRollout(h.client, d, wait);
    live = await readDeployment(h.client, d);
    expect(live.spec?.template.spec?.containers[0]?.image).toBe('cart:1');

    await expect(undoDeployment(h.client, { ...d, toRevision: 42 })).rejects.toThrow(
      /Deployment shop\/cart: has no revision 42 in its history/,
    );
  });

  test('undo leaves the Deployment as `kubectl rollout undo` does: template and annotations of the revision', async () => {
    // kubectl/pkg/polymorphichelpers/rollback.go: the template of the revision's ReplicaSet (minus pod-template-hash),
    // and its annotations, which the controller copied from the Deployment (SetNewReplicaSetAnnotations), but
    // the skipped ones (revision, revision-history, desired/max-replicas, last-applied-configuration).
    const dir = await mkdtemp(join(tmpdir(), 'undo-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await h.cluster.writeKubeconfig(kubeconfig);
    const kubectl = async (...args: string[]) => {
      const r = await run('kubectl', ['--kubeconfig', kubeconfig, '-n', 'shop', ...args], { env: { ...process.env, HOME: dir } });
      expect(r.stderr).toBe('');
      return r.stdout;
    };
    try {
      for (const name of ['undo-ours', 'undo-kubectl']) {
        const manifest = deployment(name, 'app:1');
        (manifest.metadata as any).annotations = { 'example.com/release': 'r1', 'example.com/owner': 'team-a' };
        await h.cluster.apply(manifest);
        await waitForDeploymentRollout(h.client, { namespace: 'shop', name }, wait);
        // Annotations and image in one write, as an apply of a new release does. (Annotating first and changing
        // the image after would copy r2 to revision 1's ReplicaSet too: the controller keeps the new ReplicaSet's
        // annotations in step with the Deployment's.)
        const patch = {
          metadata: { annotations: { 'example.com/release': 'r2', 'example.com/ticket': 'T-2' } },
          spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2' }] } } },
        };
        await kubectl('patch', `deployment/${name}`, '--type', 'strategic', '-p', JSON.stringify(patch));
        await waitForDeploymentRollout(h.client, { namespace: 'shop', name }, wait);
      }
      const ours = await undoDeployment(h.client, { namespace: 'shop', name: 'undo-ours' });
      expect(ours).toMatchObject({ toRevision: 1, skipped: false });
      await kubectl('rollout', 'undo', 'deployment/undo-kubectl');
      const theirs = await readDeployment(h.client, { namespace: 'shop', name: 'undo-kubectl' });
      const mine = await readDeployment(h.client, { namespace: 'shop', name: 'undo-ours' });
      const normal = (x: unknown) => JSON.parse(JSON.stringify(x).replaceAll('undo-ours', 'NAME').replaceAll('undo-kubectl', 'NAME'));
      expect(normal(mine.metadata?.annotations)).toEqual(normal(theirs.metadata?.annotations));
      expect(normal(mine.spec?.template)).toEqual(normal(theirs.spec?.template));
      // Revision 1's ReplicaSet had r1 and no ticket: they come back.
      expect(mine.metadata?.annotations).toMatchObject({ 'example.com/release': 'r1', 'example.com/owner': 'team-a' });
      expect(mine.metadata?.annotations?.['example.com/ticket']).toBeUndefined();
      const done = await waitForDeploymentRollout(h.client, { namespace: 'shop', name: 'undo-ours' }, wait);
      expect(done.revision).toBe(3);
      // Undoing again goes back to revision 2 (the previous), not to 3 itself.
      expect(await undoDeployment(h.client, { namespace: 'shop', name: 'undo-ours' })).toMatchObject({ toRevision: 2, skipped: false });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('scale goes through the scale subresource and returns the replicas before', async () => {
    await h.cluster.apply(deployment('web', 'web:1', 3));
    const d = { namespace: 'shop', name: 'web' };
    // The controller writes the Deployment (revision annotation) while it rolls out; a guarded scale
    // retried after that 409 would read twice. Start from a settled Deployment.
    await waitForDeploymentRollout(h.client, d, wait);
    h.cluster.resetRequests();
    expect(await scaleDeployment(h.client, { ...d, replicas: 0 })).toEqual({ previousReplicas: 3 });
    expect(h.cluster.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /apis/apps/v1/namespaces/shop/deployments/web/scale',
      'PATCH /apis/apps/v1/namespaces/shop/deployments/web/scale',
    ]);
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop', 'web').spec.replicas).toBe(0);
  });

  test('a watch broken by the server is re-established and the wait still succeeds', async () => {
    await h.cluster.apply(deployment('billing', 'billing:1'));
    const d = { namespace: 'shop', name: 'billing' };
    await waitForDeploymentRollout(h.client, d, wait);
    await setDeploymentImage(h.client, { ...d, image: 'billing:2' });
    h.cluster.resetRequests();
    h.cluster.faults.add({ method: 'GET', path: /deployments\?.*watch=true/, drop: true, times: 1 });
    const done = await waitForDeploymentRollout(h.client, d, wait);
    expect(done.revision).toBe(2);
    // After the dropped watch: a fresh read (events may have been missed), then a new watch if not yet done.
    const log = h.cluster.requests.map((r) => (r.query.includes('watch=true') ? 'watch' : `${r.method} ${r.path}`));
    const dropped = log.indexOf('watch');
    expect(dropped).toBeGreaterThanOrEqual(0);
    expect(log.slice(dropped + 1)).toContain('GET /apis/apps/v1/namespaces/shop/deployments/billing');
  });
});
