import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request, sleep } from '../cluster/helpers.js';
import {
  CANARY_IMAGE,
  ISTIO_ROUTING,
  STABLE_IMAGE,
  T0,
  TEMPLATES,
  gate,
  scaledClock,
  WORKLOADS,
  canaryRecord,
  deploymentOf,
  journal,
  meshObjects,
  runCanaryFlow,
  startHarness,
  type Harness,
} from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

let n = 0;

interface Entry {
  step: string;
  change: { kind: string; router?: { type: string }; next: Record<string, number> & { weight?: number } };
}
const trafficSteps = (ns: string) =>
  (journal(h.cluster, ns) as unknown as Entry[])
    .filter((e) => e.change.kind === 'traffic')
    .map((e) => ({ step: e.step.split('#')[0], router: e.change.router?.type, next: e.change.next }));

describe('canary through each router', () => {
  test('Gateway API HTTPRoute: the backendRef weights follow the steps, then all traffic is back on the stable backend', async () => {
    const ns = `gateway-${++n}`;
    await h.cluster.apply(meshObjects(ns));
    const config = {
      routing: { gateway: { httpRoute: 'checkout', rule: 'main', stableBackend: 'checkout-stable', canaryBackend: 'checkout-canary' } },
      workloads: WORKLOADS,
      templates: TEMPLATES,
      steps: [{ setWeight: 20 }, gate('checkout'), { setWeight: 60 }, { pause: { duration: '1m' } }],
    };
    const run = await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config }, { runId: 'gw-1' });
    expect(run.error).toBeUndefined();
    expect(run.outputs).toMatchObject({ result: 'promoted', weight: 0 });
    const route = h.cluster.get('gateway.networking.k8s.io/v1', 'HTTPRoute', ns, 'checkout');
    expect(route.spec.rules[0].backendRefs.map((b: { weight: number }) => b.weight)).toEqual([100, 0]);
    expect(trafficSteps(ns)).toEqual([
      { step: 'step-0-weight-20', router: 'gateway', next: { 'checkout-stable': 80, 'checkout-canary': 20 } },
      { step: 'step-2-weight-60', router: 'gateway', next: { 'checkout-stable': 40, 'checkout-canary': 60 } },
      { step: 'promote-traffic', router: 'gateway', next: { 'checkout-stable': 100, 'checkout-canary': 0 } },
    ]);
    expect(deploymentOf(h.cluster, ns, 'checkout')).toMatchObject({ image: CANARY_IMAGE, replicas: 4 });
    expect(deploymentOf(h.cluster, ns, 'checkout-canary').replicas).toBe(0);
  });

  test('replica ratio: the canary share is its share of the pods, and the stable takes every pod back at the end', async () => {
    const ns = `ratio-${++n}`;
    await h.cluster.apply(meshObjects(ns));
    const config = {
      routing: { replicaRatio: {} },
      workloads: WORKLOADS,
      templates: TEMPLATES,
      steps: [{ setWeight: 25 }, gate('checkout'), { setWeight: 50 }, { pause: { duration: '1m' } }],
    };
    const run = await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config }, { runId: 'ratio-1' });
    expect(run.error).toBeUndefined();
    expect(run.outputs).toMatchObject({ result: 'promoted', weight: 0 });
    expect(trafficSteps(ns)).toEqual([
      { step: 'step-0-weight-25', router: 'replica-ratio', next: { checkout: 75, 'checkout-canary': 25 } },
      { step: 'step-2-weight-50', router: 'replica-ratio', next: { checkout: 50, 'checkout-canary': 50 } },
      { step: 'promote-traffic', router: 'replica-ratio', next: { checkout: 100, 'checkout-canary': 0 } },
    ]);
    expect(deploymentOf(h.cluster, ns, 'checkout')).toMatchObject({ image: CANARY_IMAGE, replicas: 4 });
    expect(deploymentOf(h.cluster, ns, 'checkout-canary')).toMatchObject({ image: CANARY_IMAGE, replicas: 0 });
  });

  describe('Argo Rollout (the controller moves the traffic; our steps map onto its steps)', () => {
    const rollout = (ns: string) => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'checkout', namespace: ns },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'checkout' } },
        template: { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'app', image: STABLE_IMAGE }] } },
        strategy: {
          canary: { steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }] },
        },
      },
    });
    const healthy = async (ns: string) => {
      for (let i = 0; i < 500; i++) {
        const ro = h.cluster.get('argoproj.io/v1alpha1', 'Rollout', ns, 'checkout');
        if (ro?.status?.phase === 'Healthy') return ro;
        await sleep(10);
      }
      throw new Error('the Rollout did not become Healthy');
    };
    const argoConfig = (service: string, service25 = service) => ({
      routing: { argo: { rollout: 'checkout' } },
      templates: TEMPLATES,
      steps: [{ setWeight: 10 }, gate(service), { setWeight: 25 }, { pause: { duration: '1m' } }, gate(service25), { setWeight: 50 }],
    });

    test('set image, promote step by step through its setWeight steps, then promote --full to Healthy', async () => {
      const ns = `argo-${++n}`;
      await h.cluster.apply(rollout(ns));
      await healthy(ns);
      const run = await runCanaryFlow(
        h,
        { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: argoConfig('checkout') },
        { runId: 'argo-1' },
      );
      expect(run.error).toBeUndefined();
      expect(run.outputs).toMatchObject({ result: 'promoted', weight: 0 });
      const ro = await healthy(ns);
      expect(ro.spec.template.spec.containers[0].image).toBe(CANARY_IMAGE);
      expect(ro.status.stableRS).toBe(ro.status.currentPodHash);
      const entries = (journal(h.cluster, ns) as unknown as Entry[]).map((e) =>
        `${e.step.split('#')[0]} ${e.change.kind} ${e.change.next.weight ?? ''}`.trim(),
      );
      expect(entries).toEqual([
        'canary-image image',
        'step-0-weight-10 argo 10',
        'step-2-weight-25 argo 25',
        'step-5-weight-50 argo 50',
        'promote-full argo 100',
      ]);
      expect(run.reporter.summaries.join('\n')).toContain('bar [0, 10, 10, 25, 25, 25, 50, 100]');
    });

    test('a failing gate aborts the Rollout: the controller sends all traffic back to stable', async () => {
      const ns = `argo-${++n}`;
      await h.cluster.apply(rollout(ns));
      await healthy(ns);
      const run = await runCanaryFlow(
        h,
        { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: argoConfig('checkout', 'payments') },
        { runId: 'argo-2', clock: scaledClock(T0 + 10 * 60) },
      );
      expect(run.error?.message).toMatch(
        /^Canary aborted: analysis error-rate at step 5 \(25%\) Failed: metric error-rate Failed with values \[0\.08\]/,
      );
      const ro = h.cluster.get('argoproj.io/v1alpha1', 'Rollout', ns, 'checkout');
      expect(ro.status.abort).toBe(true);
      // A basic canary (no trafficRouting): Argo reports no status.canary.weights; traffic follows the pods,
      // so "all traffic back to stable" is the canary ReplicaSet at 0 and the stable one at full size.
      expect(ro.status.canary?.weights).toBeUndefined();
      const replicasOf = (hash: string) =>
        h.cluster.list('apps/v1', 'ReplicaSet', ns).find((rs) => rs.metadata.labels['rollouts-pod-template-hash'] === hash)?.spec.replicas;
      expect(replicasOf(ro.status.currentPodHash)).toBe(0);
      expect(replicasOf(ro.status.stableRS)).toBe(4);
      expect(canaryRecord(h.cluster, ns)).toMatchObject({ state: 'aborted' });
    });

    test('a config whose weights the Rollout does not have is refused before anything is written', async () => {
      const ns = `argo-${++n}`;
      await h.cluster.apply(rollout(ns));
      await healthy(ns);
      const before = h.cluster.get('argoproj.io/v1alpha1', 'Rollout', ns, 'checkout').metadata.resourceVersion;
      const config = { ...argoConfig('checkout'), steps: [{ setWeight: 10 }, { setWeight: 30 }] };
      await expect(
        runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config }, { runId: 'argo-3' }),
      ).rejects.toThrow(
        /does not match Rollout argo-\d+\/checkout \(its steps: setWeight 10, pause \{\}, setWeight 25, pause \{\}, setWeight 50, pause \{\}\):\n {2}- steps.1.setWeight \(30\): the Rollout has no step setting 30/,
      );
      expect(h.cluster.get('argoproj.io/v1alpha1', 'Rollout', ns, 'checkout').metadata.resourceVersion).toBe(before);
      expect(h.cluster.get('v1', 'ConfigMap', ns, 'pd-state-checkout')).toBeUndefined();
    });
  });
});

describe('weights owned by a GitOps controller', () => {
  test('a canary over a VirtualService applied server-side by argocd-controller warns, naming the manager, and still completes', async () => {
    const ns = `gitops-${++n}`;
    await h.cluster.apply(meshObjects(ns));
    // What Argo CD (ServerSideApply=true) sends: an apply with force, so it owns .spec.http (an atomic list in Istio's CRD).
    const vs = meshObjects(ns).find((o) => (o as { kind: string }).kind === 'VirtualService')!;
    const applied = await request(
      h.cluster,
      'PATCH',
      `/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices/checkout?fieldManager=argocd-controller&force=true`,
      {
        body: JSON.stringify(vs),
        contentType: 'application/apply-patch+yaml',
      },
    );
    expect(applied.status, applied.text).toBeLessThan(300);
    const config = { routing: ISTIO_ROUTING, workloads: WORKLOADS, templates: TEMPLATES, steps: [{ setWeight: 20 }, { setWeight: 60 }] };
    const run = await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config }, { runId: 'gitops-1' });
    expect(run.error).toBeUndefined();
    expect(run.outputs).toMatchObject({ result: 'promoted', weight: 0 });
    const warnings = run.reporter.entries.filter((e) => e.level === 'warn').map((e) => e.message);
    expect(warnings.filter((w) => w.includes('argocd-controller'))).toEqual([
      `VirtualService ${ns}/checkout: .spec.http (which we change to move traffic) is owned by field manager "argocd-controller" (server-side apply). ` +
        'We change it anyway, but "argocd-controller" will put its own value back on its next sync unless it is told to ignore this field: see "GitOps (Argo CD, Flux)" in the README.',
    ]);
    expect(
      h.cluster.get('networking.istio.io/v1', 'VirtualService', ns, 'checkout').spec.http[0].route.map((r: { weight: number }) => r.weight),
    ).toEqual([100, 0]);
  });
});

describe('Argo Rollout with trafficRouting: what the controller keeps running after the end', () => {
  // Argo keeps the previous stable ReplicaSet for scaleDownDelaySeconds (default 30 s) after a
  // promotion when traffic routing is used (argo-rollouts rollout/canary.go, scaleDownDelaySeconds docs).
  test('a promoted canary names the previous stable ReplicaSet and its deadline in the log and the summary', async () => {
    const ns = `argo-delay-${++n}`;
    await h.cluster.apply([
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'checkout', namespace: ns },
        spec: {
          hosts: ['checkout'],
          http: [
            {
              name: 'primary',
              route: [
                { destination: { host: 'checkout-stable' }, weight: 100 },
                { destination: { host: 'checkout-canary' }, weight: 0 },
              ],
            },
          ],
        },
      },
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'checkout', namespace: ns },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'checkout' } },
          template: { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'app', image: STABLE_IMAGE }] } },
          strategy: {
            canary: {
              canaryService: 'checkout-canary',
              stableService: 'checkout-stable',
              trafficRouting: { istio: { virtualService: { name: 'checkout', routes: ['primary'] } } },
              steps: [{ setWeight: 50 }, { pause: {} }],
            },
          },
        },
      },
    ]);
    let stableHash: string | undefined;
    for (let i = 0; i < 500 && !stableHash; i++) {
      const ro = h.cluster.get('argoproj.io/v1alpha1', 'Rollout', ns, 'checkout');
      if (ro?.status?.phase === 'Healthy') stableHash = ro.status.stableRS;
      else await sleep(10);
    }
    const config = { routing: { argo: { rollout: 'checkout' } }, templates: TEMPLATES, steps: [{ setWeight: 50 }] };
    const run = await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config }, { runId: 'argo-delay-1' });
    expect(run.error).toBeUndefined();
    expect(run.outputs).toMatchObject({ result: 'promoted' });
    const old = h.cluster.get('apps/v1', 'ReplicaSet', ns, `checkout-${stableHash}`);
    const deadline = old.metadata.annotations['scale-down-deadline'];
    expect(old.spec.replicas).toBe(2);
    const line = `ReplicaSet ${ns}/checkout-${stableHash} (previous stable) keeps 2 pods until ${deadline} (scaleDownDelaySeconds)`;
    expect(run.reporter.entries.filter((e) => e.message === line).map((e) => e.level)).toEqual(['info']);
    const summary = run.reporter.summaries.join('\n');
    expect(summary).toContain('### Still running');
    expect(summary).toContain(`- ${line}`);
    // After the headline, not before it.
    expect(summary.indexOf('### Still running')).toBeGreaterThan(summary.indexOf('## '));
    // action: status says so too while the deadline has not passed.
    const status = await runCanaryFlow(h, { namespace: ns, service: 'checkout', action: 'status', config }, { runId: 'argo-delay-2' });
    expect(status.outputs).toMatchObject({ result: 'promoted' });
    expect(status.reporter.entries.map((e) => e.message)).toContain(line);
    expect(status.reporter.summaries.join('\n')).toContain(`#### Still running\n\n- ${line}`);
  });
});
