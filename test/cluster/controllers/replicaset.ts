/**
 * ReplicaSet controller: keeps `spec.replicas` Pods for each ReplicaSet and
 * reports replicas / readyReplicas / availableReplicas / observedGeneration.
 *
 * A ResourceQuota with `spec.hard.pods` (or `count/pods`) in the namespace is
 * enforced as the quota admission plugin does: a pod beyond it is refused with
 * `pods "<name>" is forbidden: exceeded quota: <quota>, requested: pods=1, used:
 * pods=N, limited: pods=N`, and the ReplicaSet gets the ReplicaFailure condition
 * (reason FailedCreate, that message) as replica_set.go calculateStatus sets it.
 */
import type { KubeObject, Store } from '../store.js';
import { deepEqual } from '../store.js';
import {
  POD,
  REPLICA_SET,
  WorkQueue,
  setCondition,
  typeOf,
  controllerOf,
  controllerRef,
  isControlledBy,
  nsName,
  omitZero,
  randomSuffix,
  splitKey,
} from './common.js';

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
  return Number.isFinite(at) && at < now
    ? { available: true }
    : { available: false, inMs: Number.isFinite(at) ? at - now + 1 : minReadySeconds * 1000 };
}

const RESOURCE_QUOTA = typeOf('ResourceQuota');

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
        if (e.type === 'DELETED') this.retryRefused(e.object.metadata.namespace);
      } else if (e.type_ === RESOURCE_QUOTA) this.retryRefused(e.object.metadata.namespace);
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
    let failure: string | undefined;
    if (pods.length < desired) {
      for (let i = pods.length; i < desired && !failure; i++) failure = this.createPod(rs);
    } else if (pods.length > desired) {
      // Delete unready pods first, then the newest, as the real controller prefers.
      const victims = [...pods]
        .sort(
          (a, b) =>
            Number(isPodReady(a)) - Number(isPodReady(b)) || Number(b.metadata.resourceVersion) - Number(a.metadata.resourceVersion),
        )
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
    let conditions: any[] = structuredClone(current.status?.conditions ?? []);
    if (failure) {
      this.refused.add(key);
      if (!conditions.some((c) => c.type === 'ReplicaFailure')) {
        conditions = setCondition(conditions, { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: failure }, false);
      }
    } else {
      this.refused.delete(key);
      conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    }
    const status = omitZero(
      {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        readyReplicas: ready,
        availableReplicas: available,
        observedGeneration: current.metadata.generation,
        conditions: conditions.length > 0 ? conditions : undefined,
      },
      ['replicas'],
    );
    if (!deepEqual(status, current.status)) {
      const next = structuredClone(current);
      next.status = status;
      this.store.update(REPLICA_SET, next, { subresource: 'status' });
    }
  }

  /** ReplicaSets refused a pod by a quota: tried again when pods go away or a quota changes. */
  private readonly refused = new Set<string>();

  private retryRefused(namespace: string | undefined): void {
    for (const key of this.refused) if (key.startsWith(`${namespace ?? ''}/`)) this.queue.add(key);
  }

  /** The quota admission check for one more pod: the refusal message, or undefined. */
  private quotaRefusal(namespace: string, podName: string): string | undefined {
    for (const quota of this.store.list(RESOURCE_QUOTA, namespace)) {
      const hard = quota.spec?.hard?.pods ?? quota.spec?.hard?.['count/pods'];
      if (hard === undefined) continue;
      const limit = Number(hard);
      const used = this.store.list(POD, namespace).filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length;
      if (used + 1 > limit) {
        return `pods "${podName}" is forbidden: exceeded quota: ${quota.metadata.name}, requested: pods=1, used: pods=${used}, limited: pods=${limit}`;
      }
    }
    return undefined;
  }

  /** Creates one pod; returns the refusal message when a quota forbids it. */
  private createPod(rs: KubeObject): string | undefined {
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
    const refusal = this.quotaRefusal(rs.metadata.namespace ?? 'default', pod.metadata.name);
    if (refusal) return refusal;
    this.store.create(POD, pod);
    return undefined;
  }
}
