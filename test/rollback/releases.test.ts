import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ArgoRollout } from '../../src/core/kube/argo-rollout.js';
import { ServiceLock } from '../../src/core/kube/lease-lock.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import type { PrometheusServer } from '../support/prometheus.js';
import {
  canaryRecord,
  deploymentObject,
  deploymentOf,
  istioWeights,
  journal,
  meshObjects,
  runCanaryFlow,
  CANARY_IMAGE,
  STABLE_IMAGE,
  type Harness,
} from '../canary/harness.js';
import { clientFor, rollBack } from './harness.js';

/**
 * Rollback undoes releases, not runs (issue 19): each scenario is a sequence a real release goes
 * through (start, promote, abort, a run that fails before writing), driven through the canary and
 * rollback flows against the test cluster, and each ends by reading the objects back. Before
 * releases, each of these exited 0 `rolled-back` (or `nothing-to-do`) with traffic left on the
 * version being undone, or reverted a release nobody asked it to touch.
 */

let cluster: TestCluster;
let h: Harness;

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 5, progressDeadlineMs: 3000 });
  // No step here runs an analysis: the canary flow never queries this address.
  h = { cluster, client: clientFor(cluster), prom: { url: 'http://127.0.0.1:9' } as PrometheusServer, stop: async () => undefined };
});
afterAll(async () => {
  await cluster?.stop();
});

const service = 'checkout';
/** 20% then hold; 50% then hold; 80%. */
const pausing = (steps: object[] = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: {} }, { setWeight: 80 }]) => ({
  routing: { istio: { virtualService: 'checkout', route: 'primary' } },
  workloads: { stable: 'checkout', canary: 'checkout-canary' },
  steps,
});

function canary(namespace: string, runId: string, raw: Record<string, string | object | undefined>) {
  return runCanaryFlow(h, { namespace, service, kubeconfig: cluster.kubeconfig, config: pausing(), ...raw }, { runId });
}

async function setUp(namespace: string): Promise<void> {
  await cluster.apply(meshObjects(namespace));
}

describe('a canary release made by several runs is undone as one', () => {
  test('start pauses at 20%, a later run promotes to 50% and pauses: rollback puts traffic 100/0 and the canary back to 0, and says so truthfully', async () => {
    const ns = 'rel-two-runs';
    await setUp(ns);
    expect((await canary(ns, 'run-start', { image: CANARY_IMAGE })).outputs).toMatchObject({ result: 'paused', weight: 20 });
    expect((await canary(ns, 'run-promote', { action: 'promote' })).outputs).toMatchObject({ result: 'paused', weight: 50 });
    expect(istioWeights(cluster, ns)).toEqual([50, 50]);

    const run = await rollBack(cluster, { namespace: ns, service }, { reason: '2.0 is bad' });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('rolled-back');
    // Before: only run-promote was undone, leaving 80/20 with the canary at 4 replicas.
    expect(istioWeights(cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(cluster, ns, 'checkout-canary')).toMatchObject({ replicas: 0, image: STABLE_IMAGE });
    expect(deploymentOf(cluster, ns, 'checkout')).toMatchObject({ replicas: 4, image: STABLE_IMAGE });
    expect(run.log).toContain('Release run-start (canary; runs run-start, run-promote)');
    expect(canaryRecord(cluster, ns)).toMatchObject({ state: 'rolled-back', release: 'run-start' });
    expect(journal(cluster, ns).every((e) => e.status === 'compensated')).toBe(true);

    const again = await rollBack(cluster, { namespace: ns, service });
    expect(again.failure).toBeUndefined();
    expect(again.outputs.result).toBe('nothing-to-do');
    expect(again.log).toContain('every change of release run-start (canary) is already undone');
  });

  test('start, then promote full, then rollback because 2.0 is bad: stable runs 1.0 again, traffic stays on stable, the canary is not revived', async () => {
    const ns = 'rel-promoted';
    await setUp(ns);
    await canary(ns, 'run-start', { image: CANARY_IMAGE });
    expect((await canary(ns, 'run-full', { action: 'promote', full: 'true' })).outputs).toMatchObject({ result: 'promoted' });
    expect(deploymentOf(cluster, ns, 'checkout').image).toBe(CANARY_IMAGE);

    const run = await rollBack(cluster, { namespace: ns, service });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('rolled-back');
    // Before: traffic went back to 80/20 onto the 2.0 canary, scaled up again.
    expect(istioWeights(cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(cluster, ns, 'checkout')).toMatchObject({ image: STABLE_IMAGE, replicas: 4, ready: 4 });
    expect(deploymentOf(cluster, ns, 'checkout-canary').replicas).toBe(0);
    expect(run.actions.map((a) => a.object)).not.toContain('VirtualService rel-promoted/checkout');
    expect(canaryRecord(cluster, ns)).toMatchObject({ state: 'rolled-back' });
  });

  test('a canary aborted by hand, then rollback: traffic stays 100/0 and the canary pods are not revived', async () => {
    const ns = 'rel-aborted';
    await setUp(ns);
    await canary(ns, 'run-start', { image: CANARY_IMAGE, config: pausing([{ setWeight: 30 }, { pause: {} }]) });
    expect((await canary(ns, 'run-abort', { action: 'abort', config: pausing([{ setWeight: 30 }, { pause: {} }]) })).outputs).toMatchObject(
      { result: 'aborted' },
    );
    expect(istioWeights(cluster, ns)).toEqual([100, 0]);

    const run = await rollBack(cluster, { namespace: ns, service });
    expect(run.failure).toBeUndefined();
    // Before: exit 0 with traffic back to 70/30 onto the aborted canary, its pods revived.
    expect(istioWeights(cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(cluster, ns, 'checkout-canary').replicas).toBe(0);
    expect(run.log).toMatch(/VirtualService rel-aborted\/checkout is already .*as before release run-start: nothing to undo there/);
    expect(run.log).toMatch(/Deployment rel-aborted\/checkout-canary is already 0 replicas, as before release run-start/);
  });

  test('release 1 promoted; release 2 fails before writing anything; the failure() rollback of release 2 touches nothing and exits 0', async () => {
    const ns = 'rel-failed-second';
    await setUp(ns);
    await canary(ns, 'run-rel-1', { image: CANARY_IMAGE, config: pausing([{ setWeight: 50 }]) });
    expect(deploymentOf(cluster, ns, 'checkout').image).toBe(CANARY_IMAGE);
    const journalBefore = journal(cluster, ns);

    // Release 2 loses the lock race: it writes nothing.
    const holder = await ServiceLock.acquire(clientFor(cluster), { namespace: ns, service, holder: 'someone-else' });
    const second = await canary(ns, 'run-rel-2', {
      image: 'registry.example.com/checkout:3.0.0',
      'lock-timeout': '1s',
      config: pausing([{ setWeight: 50 }]),
    });
    await holder.release();
    expect(second.error).toBeDefined();

    const run = await rollBack(cluster, { namespace: ns, service }, { release: 'run-rel-2' });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('nothing-to-do');
    expect(run.log).toContain('run-rel-2 changed nothing');
    // Before: "The last recorded run is rel-1", and release 1 was reverted.
    expect(deploymentOf(cluster, ns, 'checkout').image).toBe(CANARY_IMAGE);
    expect(journal(cluster, ns)).toEqual(journalBefore);
  });

  test('a promote with a config naming another canary Deployment is refused, listing the difference, and changes nothing', async () => {
    const ns = 'rel-other-config';
    await setUp(ns);
    await cluster.apply(deploymentObject(ns, 'checkout-canary-2', 'canary2', 0));
    await canary(ns, 'run-start', { image: CANARY_IMAGE, config: pausing([{ setWeight: 30 }, { pause: {} }, { setWeight: 60 }]) });
    const other = {
      ...pausing([{ setWeight: 30 }, { pause: {} }, { setWeight: 60 }]),
      workloads: { stable: 'checkout', canary: 'checkout-canary-2' },
    };
    const promote = await canary(ns, 'run-promote', { action: 'promote', config: other });
    expect(promote.outputs.result).toBe('failed');
    expect(promote.error!.message).toMatch(
      /names other objects than it was started with:\n {2}- workloads: started with \{"stable":"checkout","canary":"checkout-canary"\}/,
    );
    // Before: exit 0 promoted, the real VirtualService left 70/30 while its canary was scaled to 0.
    expect(istioWeights(cluster, ns)).toEqual([70, 30]);
    expect(deploymentOf(cluster, ns, 'checkout-canary').replicas).toBe(4);
  });

  test('promote refuses when the stable image was changed by hand since the start; with force it promotes and says so', async () => {
    const ns = 'rel-hotfix';
    await setUp(ns);
    const steps = pausing([{ setWeight: 30 }, { pause: {} }, { setWeight: 60 }]);
    await canary(ns, 'run-start', { image: CANARY_IMAGE, config: steps });
    const stable = cluster.get('apps/v1', 'Deployment', ns, 'checkout');
    stable.spec.template.spec.containers[0].image = 'registry.example.com/checkout:1.0.1-hotfix';
    await cluster.apply(stable);
    const refused = await canary(ns, 'run-promote', { action: 'promote', config: steps });
    expect(refused.error!.message).toContain(
      'the stable workload runs registry.example.com/checkout:1.0.1-hotfix now, not registry.example.com/checkout:1.0.0 as when the canary started',
    );
    expect(deploymentOf(cluster, ns, 'checkout').image).toBe('registry.example.com/checkout:1.0.1-hotfix');
    const forced = await canary(ns, 'run-promote-2', { action: 'promote', config: steps, force: 'true' });
    expect(forced.outputs.result).toBe('promoted');
    expect(forced.reporter.messages('warn').join('\n')).toContain(
      'force: the stable workload runs registry.example.com/checkout:1.0.1-hotfix now',
    );
  });

  test('mode workload refuses while traffic still goes to the canary it would scale down', async () => {
    const ns = 'rel-workload';
    await setUp(ns);
    await canary(ns, 'run-start', { image: CANARY_IMAGE, config: pausing([{ setWeight: 30 }, { pause: {} }]) });
    const run = await rollBack(cluster, { namespace: ns, service }, { mode: 'workload' });
    expect(run.outputs.result).toBe('failed');
    expect(run.failure!.message).toMatch(
      /mode workload leaves traffic alone, and VirtualService rel-workload\/checkout still routes canary 30%, stable 70%, not canary 0%, stable 100% as before release run-start/,
    );
    expect(run.failure!.message).toMatch(/Nothing was changed\.$/);
    // Before: exit 0, the canary scaled to 0 while 30% of traffic still went to it.
    expect(deploymentOf(cluster, ns, 'checkout-canary').replicas).toBe(4);
    expect(istioWeights(cluster, ns)).toEqual([70, 30]);
  });

  test('a traffic weight changed by someone else since the release is not overwritten without force', async () => {
    const ns = 'rel-drift';
    await setUp(ns);
    await canary(ns, 'run-start', { image: CANARY_IMAGE, config: pausing([{ setWeight: 30 }, { pause: {} }]) });
    const vs = cluster.get('networking.istio.io/v1', 'VirtualService', ns, 'checkout');
    vs.spec.http[0].route[0].weight = 90;
    vs.spec.http[0].route[1].weight = 10;
    await cluster.apply(vs);
    const refused = await rollBack(cluster, { namespace: ns, service });
    expect(refused.outputs.result).toBe('failed');
    expect(refused.failure!.message).toContain(
      'is canary 10%, stable 90%, but release run-start left it canary 30%, stable 70% (and it was canary 0%, stable 100% before): someone changed it since',
    );
    expect(istioWeights(cluster, ns)).toEqual([90, 10]);
    const forced = await rollBack(cluster, { namespace: ns, service }, { force: 'true' });
    expect(forced.outputs.result).toBe('rolled-back');
    expect(istioWeights(cluster, ns)).toEqual([100, 0]);
  });
});

describe('long canaries keep what an undo needs', () => {
  for (const count of [60, 200]) {
    test(`a ${count}-step canary paused near the end rolls back to 100/0 with the canary at 0 (the journal compacts, never drops the open release)`, async () => {
      const ns = `rel-long-${count}`;
      await setUp(ns);
      const steps: object[] = [];
      for (let i = 1; i < count; i++) steps.push({ setWeight: Math.min(90, Math.ceil((i * 90) / count)) });
      steps.push({ pause: {} });
      const started = await canary(ns, 'run-long', { image: CANARY_IMAGE, config: pausing(steps) });
      expect(started.outputs).toMatchObject({ result: 'paused' });
      expect(journal(cluster, ns).length).toBeLessThanOrEqual(50);
      // Before: the journal dropped the oldest entries of the open run, and the rollback left 90/10 with the canary running.
      const run = await rollBack(cluster, { namespace: ns, service });
      expect(run.failure).toBeUndefined();
      expect(istioWeights(cluster, ns)).toEqual([100, 0]);
      expect(deploymentOf(cluster, ns, 'checkout-canary').replicas).toBe(0);
    }, 240_000);
  }
});

describe('replica ratio', () => {
  test('with totalReplicas 10 and stable starting at 4, rollback puts stable back to 4 pods, not 10', async () => {
    const ns = 'rel-ratio';
    await cluster.apply([deploymentObject(ns, 'checkout', 'stable', 4), deploymentObject(ns, 'checkout-canary', 'canary', 0)]);
    const config = {
      routing: { replicaRatio: { totalReplicas: 10 } },
      workloads: { stable: 'checkout', canary: 'checkout-canary' },
      steps: [{ setWeight: 30 }, { pause: {} }],
    };
    expect((await canary(ns, 'run-start', { image: CANARY_IMAGE, config })).outputs).toMatchObject({ result: 'paused', weight: 30 });
    expect([deploymentOf(cluster, ns, 'checkout').replicas, deploymentOf(cluster, ns, 'checkout-canary').replicas]).toEqual([7, 3]);
    const run = await rollBack(cluster, { namespace: ns, service });
    expect(run.failure).toBeUndefined();
    expect([deploymentOf(cluster, ns, 'checkout').replicas, deploymentOf(cluster, ns, 'checkout-canary').replicas]).toEqual([4, 0]);
  });
});

describe('Argo Rollouts', () => {
  test('a Rollout promoted fully by a later run: rollback puts the old image back and it becomes stable again, healthy', async () => {
    const ns = 'rel-argo';
    await cluster.apply({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'checkout', namespace: ns },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'checkout' } },
        template: { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'app', image: STABLE_IMAGE }] } },
        strategy: { canary: { steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }] } },
      },
    });
    const rollout = new ArgoRollout(clientFor(cluster), ns, 'checkout');
    await rollout.waitFor('healthy', { timeoutMs: 20_000 });
    const config = { routing: { argo: { rollout: 'checkout' } }, steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }] };
    expect((await canary(ns, 'run-start', { image: CANARY_IMAGE, config })).outputs).toMatchObject({ result: 'paused' });
    expect((await canary(ns, 'run-full', { action: 'promote', full: 'true', config })).outputs).toMatchObject({ result: 'promoted' });
    expect(await rollout.status()).toMatchObject({ phase: 'Healthy' });

    const run = await rollBack(cluster, { namespace: ns, service });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('rolled-back');
    // Before: "100% -> 0% (aborted)" with the Rollout still on 2.0, its stable ReplicaSet running it.
    const ro = await rollout.get();
    expect(ro.spec.template.spec.containers[0].image).toBe(STABLE_IMAGE);
    expect(await rollout.status()).toMatchObject({ phase: 'Healthy', aborted: false });
    const status = await rollout.status();
    expect(status.currentPodHash).toBe(status.stableRS);
  });
});
