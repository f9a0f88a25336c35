/**
 * ReplicaSet controller: keeps `spec.replicas` Pods for each ReplicaSet and
 * reports replicas / readyReplicas / availableReplicas / observedGeneration.
 */
import type { KubeObject, Store } from '../store.js';
import { deepEqual } from '../store.js';
import { POD, REPLICA_SET, WorkQueue, controllerOf, controllerRef, isControlledBy, nsName, omitZero, randomSuffix, splitKey } from './common.js';

export function isPodReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

/**
 * podutil.IsPodAvailable: Ready, and Ready for at least minReadySeconds (by the
 * condition's lastTransitionTime, whole seconds as the kubelet writes it).
 * Returns the ms until it will be available when it is Ready but not yet.
 */
export function podAvailability(pod: KubeObject, minReadySeconds: number, now = Date.now()): { available: boolean; inMs?: number } {
  const ready = (pod.status?.conditions ?? []).find((c: any) => c.type === 'Ready' && c.status === 'True');
  if (!ready) return { available: false };
  if (!minReadySeconds) return { available: true };
  const at = Date.parse(ready.lastTransitionTime ?? '') + minReadySeconds * 1000;
  return Number.isFinite(at) && at < now ? { available: true } : { available: false, inMs: Number.isFinite(at) ? at - now + 1 : minReadySeconds * 1000 };
}

export class ReplicaSetController {
  private readonly queue: WorkQueue;
  private readonly unsubscribe: () => void;

  constructor(private readonly store: Store) {
    this.queue = new WorkQueue((key) => this.reconcile(key));
    this.unsubscribe = store.subscribe((e) => {
      if (e.type_ === REPLICA_SET) this.queue.add(nsName(e.object));
      else if (e.type_ === POD) {
        const owner = controllerOf(e.object);
        if (owner?.kind === 'ReplicaSet') this.queue.add(`${e.object.metadata.namespace}/${owner.name}`);
      }
    });
    for (const rs of store.list(REPLICA_SET)) this.queue.add(nsName(rs));
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  private reconcile(key: string): void {
    const [ns, name] = splitKey(key);
    const rs = this.store.peek(REPLICA_SET, ns, name);
    if (!rs) return;
    let pods = this.store.list(POD, ns).filter((p) => isControlledBy(p, rs));
    const desired = rs.spec?.replicas ?? 1;
    if (pods.length < desired) {
      for (let i = pods.length; i < desired; i++) this.createPod(rs);
    } else if (pods.length > desired) {
      // Delete unready pods first, then the newest, as the real controller prefers.
      const victims = [...pods]
        .sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)) || Number(b.metadata.resourceVersion) - Number(a.metadata.resourceVersion))
        .slice(0, pods.length - desired);
      for (const pod of victims) this.store.delete(POD, ns, pod.metadata.name);
    }
    const current = this.store.peek(REPLICA_SET, ns, name);
    if (!current) return;
    pods = this.store.list(POD, ns).filter((p) => isControlledBy(p, current));
    const ready = pods.filter(isPodReady).length;
    const availability = pods.map((p) => podAvailability(p, current.spec?.minReadySeconds ?? 0));
    const available = availability.filter((a) => a.available).length;
    const soonest = Math.min(...availability.map((a) => a.inMs ?? Infinity));
    if (Number.isFinite(soonest)) this.queue.addAfter(key, soonest);
    const status = omitZero(
      {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        readyReplicas: ready,
        availableReplicas: available,
        observedGeneration: current.metadata.generation,
      },
      ['replicas'],
    );
    if (!deepEqual(status, current.status)) {
      const next = structuredClone(current);
      next.status = status;
      this.store.update(REPLICA_SET, next, { subresource: 'status' });
    }
  }

  private createPod(rs: KubeObject): void {
    const template = rs.spec?.template ?? {};
    const meta = template.metadata ?? {};
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${rs.metadata.name}-${randomSuffix(5)}`,
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: { ...(meta.labels ?? {}) },
        ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
        ownerReferences: [controllerRef(rs)],
      },
      spec: { ...structuredClone(template.spec ?? {}), nodeName: 'test-cluster-node' },
    };
    this.store.create(POD, pod);
  }
}
