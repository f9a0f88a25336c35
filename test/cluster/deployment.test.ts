/**
 * The simulated Deployment controller against the real one's rules
 * (kubernetes/kubernetes v1.32, pkg/controller/deployment): rolling-update pacing
 * (rolling.go, util/deployment_util.go NewRSNewReplicas / ResolveFenceposts),
 * Recreate (recreate.go), minReadySeconds (podutil.IsPodAvailable), ReplicaSet
 * bookkeeping (SetNewReplicaSetAnnotations, cleanupDeployment) and what
 * `kubectl rollout undo` does with it (kubectl/pkg/polymorphichelpers/rollback.go).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment, startKubectlHarness, waitFor, type KubectlHarness } from './helpers.js';

let h: KubectlHarness;

beforeAll(async () => {
  h = await startKubectlHarness({ podReadyDelayMs: 15, progressDeadlineMs: 2000 });
});

afterAll(async () => {
  await h?.close();
});

const getDeployment = (name: string) => h.cluster.get('apps/v1', 'Deployment', 'default', name);
const replicaSetsOf = (name: string) =>
  h.cluster
    .list('apps/v1', 'ReplicaSet', 'default')
    .filter((rs) => rs.metadata.ownerReferences?.some((o: any) => o.name === name && o.kind === 'Deployment'));

function isReady(pod: any): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

async function rolledOut(name: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () => {
      const d = getDeployment(name);
      const s = d?.status ?? {};
      const replicas = d?.spec?.replicas ?? 1;
      return (
        s.observedGeneration === d?.metadata.generation &&
        (s.updatedReplicas ?? 0) === replicas &&
        (s.replicas ?? 0) === replicas &&
        (s.availableReplicas ?? 0) === replicas
      );
    },
    timeoutMs,
    `deployment ${name} rolled out`,
  );
}

/** Pods of the Deployment (by app label) counted on every change: the most that ever ran and the fewest Ready. */
function trackPods(app: string): { stop(): { maxPods: number; minReady: number; sawNewBeforeOldGone: boolean } } {
  const pods = new Map<string, any>();
  for (const p of h.cluster.list('v1', 'Pod', 'default')) if (p.metadata.labels?.app === app) pods.set(p.metadata.name, p);
  let maxPods = pods.size;
  let minReady = [...pods.values()].filter(isReady).length;
  const oldHash = new Set([...pods.values()].map((p) => p.metadata.labels['pod-template-hash']));
  let sawNewBeforeOldGone = false;
  const off = h.cluster.onChange((e) => {
    if (e.kind !== 'Pod' || e.object.metadata.labels?.app !== app) return;
    if (e.type === 'DELETED') pods.delete(e.object.metadata.name);
    else pods.set(e.object.metadata.name, e.object);
    const all = [...pods.values()];
    maxPods = Math.max(maxPods, all.length);
    minReady = Math.min(minReady, all.filter(isReady).length);
    const hashes = new Set(all.map((p) => p.metadata.labels['pod-template-hash']));
    if ([...hashes].some((x) => !oldHash.has(x)) && [...hashes].some((x) => oldHash.has(x))) sawNewBeforeOldGone = true;
  });
  return {
    stop() {
      off();
      return { maxPods, minReady, sawNewBeforeOldGone };
    },
  };
}

async function rollWith(name: string, replicas: number, strategy: object | undefined, extra: Record<string, unknown> = {}) {
  const d = deployment(name, `${name}:1`, replicas);
  if (strategy) d.spec.strategy = strategy;
  Object.assign(d.spec, extra);
  await h.cluster.apply(d);
  await rolledOut(name);
  const tracker = trackPods(name);
  const r = await h.kubectl(['set', 'image', `deployment/${name}`, `app=${name}:2`]);
  expect(r.stderr).toBe('');
  await rolledOut(name);
  return tracker.stop();
}

describe('RollingUpdate pacing', () => {
  it('maxSurge 0 and maxUnavailable 1 with 4 replicas: never more than 4 pods, never fewer than 3 Ready', async () => {
    const seen = await rollWith('surge0', 4, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
    expect(seen.maxPods).toBe(4);
    expect(seen.minReady).toBe(3);
  });

  it('the 25%/25% default on 10 replicas: surge rounds up to 3, unavailable rounds down to 2', async () => {
    // ResolveFenceposts: GetScaledValueFromIntOrPercent(maxSurge, replicas, true) / (maxUnavailable, replicas, false)
    const seen = await rollWith('default10', 10, undefined);
    expect(seen.maxPods).toBe(13);
    expect(seen.minReady).toBe(8);
    const d = getDeployment('default10');
    expect(d.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
  });

  it('maxSurge 30% and maxUnavailable 0 with 3 replicas: one extra pod at a time, all 3 Ready throughout', async () => {
    const seen = await rollWith('pct', 3, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '30%', maxUnavailable: 0 } });
    expect(seen.maxPods).toBe(4);
    expect(seen.minReady).toBe(3);
    const rs = replicaSetsOf('pct').find((x) => x.spec.replicas === 3)!;
    expect(rs.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
  });

  it('refuses maxSurge and maxUnavailable both 0, as apps validation does', async () => {
    const d = deployment('zero', 'zero:1', 2);
    d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } };
    const r = await h.kubectl(['apply', '-f', '-'], { input: JSON.stringify(d) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0');
    expect(getDeployment('zero')).toBeUndefined();
  });

  it('Recreate: every old pod is gone before the first new one is created', async () => {
    const seen = await rollWith('recreate', 3, { type: 'Recreate' });
    expect(seen.sawNewBeforeOldGone).toBe(false);
    expect(seen.minReady).toBe(0);
    expect(seen.maxPods).toBe(3);
  });
});

describe('minReadySeconds', () => {
  it('a pod counts as available only once Ready for minReadySeconds', async () => {
    const d = deployment('minready', 'minready:1', 1);
    Object.assign(d.spec, { minReadySeconds: 2 });
    await h.cluster.apply(d);
    const readyAt = await waitFor(
      () => {
        const rs = replicaSetsOf('minready')[0];
        return (rs?.status?.readyReplicas ?? 0) === 1 && Date.now();
      },
      5000,
      'pod ready',
    );
    expect(getDeployment('minready').status.availableReplicas ?? 0).toBe(0);
    await waitFor(() => (getDeployment('minready').status.availableReplicas ?? 0) === 1, 5000, 'available');
    // The Ready condition's lastTransitionTime has whole seconds, so "at least 2s" can come early by < 1s.
    expect(Date.now() - readyAt).toBeGreaterThan(1000);
    const rs = replicaSetsOf('minready')[0];
    expect(rs.spec.minReadySeconds).toBe(2);
  });
});

describe('ReplicaSet bookkeeping and kubectl rollout undo', () => {
  it('copies annotations, numbers revisions, keeps revision-history, names pods by an FNV pod-template-hash', async () => {
    const d = deployment('book', 'book:1', 2);
    d.metadata.annotations = { 'example.com/release': 'r1' };
    await h.cluster.apply(d);
    await rolledOut('book');
    let [rs1] = replicaSetsOf('book');
    const hash1 = rs1.metadata.labels['pod-template-hash'];
    // rand.SafeEncodeString(fmt.Sprint(fnv32a)): up to 10 characters of the safe alphabet.
    expect(hash1).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(rs1.metadata.name).toBe(`book-${hash1}`);
    expect(rs1.spec.selector.matchLabels).toEqual({ app: 'book', 'pod-template-hash': hash1 });
    expect(rs1.metadata.annotations).toEqual({
      'example.com/release': 'r1',
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '2',
      'deployment.kubernetes.io/max-replicas': '3',
    });

    // A new template and a new annotation value: revision 2 carries r2.
    await h.kubectl(['annotate', 'deployment/book', 'example.com/release=r2', '--overwrite']);
    await h.kubectl(['set', 'image', 'deployment/book', 'app=book:2']);
    await rolledOut('book');
    const rs2 = replicaSetsOf('book').find((x) => x.metadata.name !== rs1.metadata.name)!;
    expect(rs2.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    expect(rs2.metadata.annotations['example.com/release']).toBe('r2');
    // The annotation change was copied to the ReplicaSet that was new at the time, too (copyDeploymentAnnotationsToReplicaSet).
    rs1 = replicaSetsOf('book').find((x) => x.metadata.name === rs1.metadata.name)!;
    expect(rs1.spec.replicas).toBe(0);

    // kubectl rollout undo: the template and annotations of revision 1 come back; its ReplicaSet becomes revision 3.
    const undo = await h.kubectl(['rollout', 'undo', 'deployment/book']);
    expect(undo.stdout).toContain('deployment.apps/book rolled back');
    await rolledOut('book');
    const live = getDeployment('book');
    expect(live.spec.template.spec.containers[0].image).toBe('book:1');
    expect(live.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    rs1 = replicaSetsOf('book').find((x) => x.metadata.name === rs1.metadata.name)!;
    expect(rs1.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(rs1.metadata.annotations['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(live.metadata.annotations['example.com/release']).toBe(rs1.metadata.annotations['example.com/release']);

    const history = await h.kubectl(['rollout', 'history', 'deployment/book']);
    expect(history.stdout).toMatch(/^2\s/m);
    expect(history.stdout).toMatch(/^3\s/m);
    expect(history.stdout).not.toMatch(/^1\s/m);
  });

  it('keeps revisionHistoryLimit old ReplicaSets and deletes the oldest', async () => {
    const d = deployment('limit', 'limit:1', 1);
    Object.assign(d.spec, { revisionHistoryLimit: 2 });
    await h.cluster.apply(d);
    await rolledOut('limit');
    for (const v of [2, 3, 4, 5]) {
      await h.kubectl(['set', 'image', 'deployment/limit', `app=limit:${v}`]);
      await rolledOut('limit');
    }
    await waitFor(() => replicaSetsOf('limit').length === 3, 5000, 'history cleaned up');
    const revisions = replicaSetsOf('limit')
      .map((rs) => Number(rs.metadata.annotations['deployment.kubernetes.io/revision']))
      .sort();
    expect(revisions).toEqual([3, 4, 5]);
  });

  it('scaling up a finished Deployment is not a rollout: no ProgressDeadlineExceeded however long its pods fail', async () => {
    // progress.go syncRolloutStatus: isCompleteDeployment (replicas == updatedReplicas and the condition is
    // NewReplicaSetAvailable) skips progress estimation; sync.go handles a scaling event without it.
    const d = deployment('scaleup', 'scaleup:fail-rollout', 0);
    await h.cluster.apply(d);
    await waitFor(
      () => getDeployment('scaleup')?.status?.conditions?.some((c: any) => c.reason === 'NewReplicaSetAvailable'),
      5000,
      'finished at 0',
    );
    const r = await h.kubectl(['scale', 'deployment/scaleup', '--replicas=2']);
    expect(r.code).toBe(0);
    await new Promise((done) => setTimeout(done, 2300)); // past this cluster's 2 s deadline
    const live = getDeployment('scaleup');
    expect(live.status).toMatchObject({ replicas: 2, updatedReplicas: 2 });
    expect(live.status.availableReplicas ?? 0).toBe(0);
    expect(live.status.conditions.find((c: any) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
    });
  });

  it('the progress deadline defaults to 600 seconds', async () => {
    const d = deployment('deadline', 'deadline:1', 1);
    await h.cluster.apply(d);
    expect(getDeployment('deadline').spec.progressDeadlineSeconds).toBe(600);
  });
});
