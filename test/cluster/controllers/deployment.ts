/**
 * Deployment controller, following kubernetes/kubernetes pkg/controller/deployment
 * (v1.32): sync.go (getNewReplicaSet, scale, cleanupDeployment, calculateStatus),
 * rolling.go (rolloutRolling, reconcileNewReplicaSet, reconcileOldReplicaSets,
 * cleanupUnhealthyReplicas, scaleDownOldReplicaSetsForRollingUpdate), recreate.go
 * (rolloutRecreate), progress.go (syncRolloutStatus) and util/deployment_util.go
 * (NewRSNewReplicas, SetNewReplicaSetAnnotations, copyDeploymentAnnotationsToReplicaSet,
 * DeploymentComplete, DeploymentProgressing, getReplicaFailures).
 *
 * One reconcile does one step (scale the new ReplicaSet up, or the old ones down)
 * and the ReplicaSet events it causes bring the next, as the real controller
 * re-syncs on informer events. It waits while a ReplicaSet's status is behind
 * its spec (observedGeneration), which the real controller's expectations and
 * informer ordering give it.
 *
 * Simplified: no proportional scaling of several active ReplicaSets on a scale
 * event (the newest takes the difference), no collisionCount (hashes do not collide
 * here), pods are deleted at once (no graceful termination).
 */
import type { KubeObject, Store } from '../store.js';
import { deepEqual, nowTimestamp } from '../store.js';
import { labelSelectorObjectMatcher } from '../selectors.js';
import {
  DEPLOYMENT,
  POD,
  POD_TEMPLATE_HASH,
  REPLICA_SET,
  REVISION_ANNOTATION,
  WorkQueue,
  controllerOf,
  controllerRef,
  isControlledBy,
  nsName,
  omitZero,
  revisionOf,
  setCondition,
  splitKey,
  templateHash,
  templatesEqual,
  type Condition,
} from './common.js';
import { isRollingUpdate, maxSurge, maxUnavailable } from './intstr.js';

export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';

/** annotationsToSkip in deployment_util.go: never copied from the Deployment to its ReplicaSets. */
const ANNOTATIONS_NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

export interface DeploymentControllerOptions {
  /** Overrides spec.progressDeadlineSeconds (ms). */
  progressDeadlineMs?: number | undefined;
}

const specReplicas = (rs: KubeObject | undefined) => rs?.spec?.replicas ?? 0;
const statusOf = (rs: KubeObject | undefined, field: string): number => rs?.status?.[field] ?? 0;
const sum = (rss: KubeObject[], f: (rs: KubeObject) => number) => rss.reduce((n, rs) => n + f(rs), 0);
const byCreation = (a: KubeObject, b: KubeObject) =>
  String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) ||
  a.metadata.name.localeCompare(b.metadata.name);

export class DeploymentController {
  private readonly queue: WorkQueue;
  private readonly unsubscribe: () => void;
  /**
   * When the Progressing condition's lastUpdateTime last moved, in ms (the condition itself
   * has whole seconds, and tests use deadlines under a second), by Deployment uid.
   */
  private readonly lastProgress = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly opts: DeploymentControllerOptions = {},
  ) {
    this.queue = new WorkQueue((key) => this.reconcile(key));
    this.unsubscribe = store.subscribe((e) => {
      if (e.type_ === DEPLOYMENT) {
        if (e.type === 'DELETED') this.lastProgress.delete(e.object.metadata.uid);
        else this.queue.add(nsName(e.object));
      } else if (e.type_ === REPLICA_SET) {
        const owner = controllerOf(e.object);
        if (owner?.kind === 'Deployment') this.queue.add(`${e.object.metadata.namespace}/${owner.name}`);
      } else if (e.type_ === POD && e.type === 'DELETED') {
        // Recreate waits for the old pods to be gone (oldPodsRunning).
        const owner = controllerOf(e.object);
        const rs = owner?.kind === 'ReplicaSet' ? store.peek(REPLICA_SET, e.object.metadata.namespace, owner.name) : undefined;
        const d = rs && controllerOf(rs);
        if (d?.kind === 'Deployment') this.queue.add(`${e.object.metadata.namespace}/${d.name}`);
      }
    });
    for (const d of store.list(DEPLOYMENT)) this.queue.add(nsName(d));
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  private deadlineMs(d: KubeObject): number {
    return this.opts.progressDeadlineMs ?? (d.spec?.progressDeadlineSeconds ?? 600) * 1000;
  }

  private owned(d: KubeObject): KubeObject[] {
    const selector = labelSelectorObjectMatcher(d.spec?.selector);
    return this.store.list(REPLICA_SET, d.metadata.namespace).filter((rs) => isControlledBy(rs, d) && selector(rs.metadata.labels));
  }

  private reconcile(key: string): void {
    const [ns, name] = splitKey(key);
    let d = this.store.peek(DEPLOYMENT, ns, name);
    if (!d || d.metadata.deletionTimestamp) return;
    let all = this.owned(d);
    // Wait for the ReplicaSet controller to catch up with the last scale (its status is what we count).
    if (all.some((rs) => (rs.status?.observedGeneration ?? 0) < (rs.metadata.generation ?? 0))) return;

    const conditions: Condition[] = structuredClone(d.status?.conditions ?? []);
    const existing = all.find((rs) => templatesEqual(rs.spec?.template, d!.spec?.template));
    let newRS = existing;
    const oldRSs = () => all.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);

    if (d.spec?.paused) {
      // sync(): a paused Deployment is only scaled, and its history cleaned up.
      if (newRS) this.syncRevision(d, newRS, oldRSs(), conditions);
      this.cleanupHistory(d, newRS, oldRSs());
      this.updateStatus(d.metadata.namespace!, name, conditions);
      return;
    }

    let acted = false;
    if (isRollingUpdate(d)) {
      if (!newRS) {
        newRS = this.createReplicaSet(d, oldRSs(), conditions);
        all = [...all, newRS];
        acted = true;
      } else {
        [d, newRS] = this.syncRevision(d, newRS, oldRSs(), conditions);
        all = all.map((rs) => (rs.metadata.uid === newRS!.metadata.uid ? newRS! : rs));
      }
      acted = acted || this.reconcileNewReplicaSet(d, newRS, all) || this.reconcileOldReplicaSets(d, newRS, all);
    } else {
      acted = this.rolloutRecreate(d, newRS, all, conditions);
      newRS = this.owned(d).find((rs) => templatesEqual(rs.spec?.template, d!.spec?.template));
    }
    d = this.store.peek(DEPLOYMENT, ns, name)!;
    if (!acted && this.complete(d, this.owned(d), newRS))
      this.cleanupHistory(
        d,
        newRS,
        this.owned(d).filter((rs) => rs.metadata.uid !== newRS?.metadata.uid),
      );
    this.updateStatus(ns, name, conditions);
  }

  /**
   * getNewReplicaSet for an existing ReplicaSet: its revision becomes max(old)+1 if lower
   * (a rollback, recorded in revision-history), it gets the Deployment's annotations
   * and minReadySeconds, and the Deployment gets its revision.
   */
  private syncRevision(d: KubeObject, rs: KubeObject, oldRSs: KubeObject[], conditions: Condition[]): [KubeObject, KubeObject] {
    const newRevision = oldRSs.reduce((m, x) => Math.max(m, revisionOf(x)), 0) + 1;
    const annotations = { ...(rs.metadata.annotations ?? {}) };
    setNewReplicaSetAnnotations(d, annotations, newRevision);
    const minReady = d.spec?.minReadySeconds ?? 0;
    if (!deepEqual(annotations, rs.metadata.annotations ?? {}) || (rs.spec?.minReadySeconds ?? 0) !== minReady) {
      rs = this.updateReplicaSet(rs, (x) => {
        x.metadata.annotations = annotations;
        x.spec.minReadySeconds = minReady;
      });
    }
    if (!conditions.some((c) => c.type === 'Progressing')) {
      conditions.splice(
        0,
        conditions.length,
        ...setCondition(conditions, {
          type: 'Progressing',
          status: 'True',
          reason: 'FoundNewReplicaSet',
          message: `Found new replica set "${rs.metadata.name}"`,
        }),
      );
      this.lastProgress.set(d.metadata.uid, Date.now());
    }
    return [this.setDeploymentRevision(d, rs), rs];
  }

  private setDeploymentRevision(d: KubeObject, rs: KubeObject): KubeObject {
    const revision = rs.metadata.annotations?.[REVISION_ANNOTATION];
    if (revision === undefined || d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return d;
    const next = structuredClone(d);
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [REVISION_ANNOTATION]: revision };
    return this.store.update(DEPLOYMENT, next);
  }

  /** getNewReplicaSet, creating: `<deployment>-<hash>`, sized by NewRSNewReplicas. */
  private createReplicaSet(d: KubeObject, oldRSs: KubeObject[], conditions: Condition[]): KubeObject {
    const hash = templateHash(d.spec.template);
    const template = structuredClone(d.spec.template);
    template.metadata = { ...(template.metadata ?? {}) };
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const selector = structuredClone(d.spec.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const annotations: Record<string, string> = {};
    setNewReplicaSetAnnotations(d, annotations, oldRSs.reduce((m, x) => Math.max(m, revisionOf(x)), 0) + 1);
    Object.assign(annotations, replicasAnnotations(d));
    const replicas = newRSNewReplicas(d, oldRSs, 0);
    const rs = this.store.create(REPLICA_SET, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations,
        ownerReferences: [controllerRef(d)],
      },
      spec: { replicas, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    });
    conditions.splice(
      0,
      conditions.length,
      ...setCondition(conditions, {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetCreated',
        message: `Created new replica set "${rs.metadata.name}"`,
      }),
    );
    this.lastProgress.set(d.metadata.uid, Date.now());
    this.setDeploymentRevision(d, rs);
    return rs;
  }

  /** rolling.go reconcileNewReplicaSet. */
  private reconcileNewReplicaSet(d: KubeObject, newRS: KubeObject, all: KubeObject[]): boolean {
    const desired = d.spec?.replicas ?? 1;
    if (specReplicas(newRS) === desired) return this.scale(d, newRS, desired);
    if (specReplicas(newRS) > desired) return this.scale(d, newRS, desired);
    const old = all.filter((rs) => rs.metadata.uid !== newRS.metadata.uid);
    return this.scale(d, newRS, newRSNewReplicas(d, old, specReplicas(newRS)));
  }

  /** rolling.go reconcileOldReplicaSets: scale down what maxUnavailable allows, unhealthy replicas first. */
  private reconcileOldReplicaSets(d: KubeObject, newRS: KubeObject, all: KubeObject[]): boolean {
    const old = all.filter((rs) => rs.metadata.uid !== newRS.metadata.uid).sort(byCreation);
    if (sum(old, specReplicas) === 0) return false;
    const minAvailable = (d.spec?.replicas ?? 1) - maxUnavailable(d);
    const newUnavailable = specReplicas(newRS) - statusOf(newRS, 'availableReplicas');
    const maxScaledDown = sum(all, specReplicas) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;

    // cleanupUnhealthyReplicas: old replicas that are not available go first, whatever availability says.
    let cleaned = 0;
    const sizes = new Map(old.map((rs) => [rs.metadata.uid, specReplicas(rs)]));
    for (const rs of old) {
      if (cleaned >= maxScaledDown) break;
      const unhealthy = specReplicas(rs) - statusOf(rs, 'availableReplicas');
      if (specReplicas(rs) === 0 || unhealthy <= 0) continue;
      const count = Math.min(maxScaledDown - cleaned, unhealthy);
      sizes.set(rs.metadata.uid, specReplicas(rs) - count);
      cleaned += count;
    }
    // scaleDownOldReplicaSetsForRollingUpdate: then available replicas, down to minAvailable.
    const available = sum(all, (rs) => statusOf(rs, 'availableReplicas'));
    let total = Math.min(available - minAvailable, maxScaledDown - cleaned);
    for (const rs of old) {
      if (total <= 0) break;
      const size = sizes.get(rs.metadata.uid)!;
      if (size === 0) continue;
      const count = Math.min(size, total);
      sizes.set(rs.metadata.uid, size - count);
      total -= count;
    }
    let acted = false;
    for (const rs of old) acted = this.scale(d, rs, sizes.get(rs.metadata.uid)!) || acted;
    return acted;
  }

  /** recreate.go rolloutRecreate: all old ReplicaSets to 0, wait for their pods to go, then the new one at full size. */
  private rolloutRecreate(d: KubeObject, newRS: KubeObject | undefined, all: KubeObject[], conditions: Condition[]): boolean {
    const old = all.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
    let acted = false;
    for (const rs of old) if (specReplicas(rs) !== 0) acted = this.scale(d, rs, 0) || acted;
    if (acted) return true;
    const oldPods = this.store.list(POD, d.metadata.namespace).filter((p) => old.some((rs) => isControlledBy(p, rs)));
    if (oldPods.some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded')) return false;
    if (!newRS) {
      this.createReplicaSet(d, old, conditions);
      return true;
    }
    const [, rs] = this.syncRevision(d, newRS, old, conditions);
    return this.scale(d, rs, d.spec?.replicas ?? 1);
  }

  /** sync.go scaleReplicaSet: replicas and the desired/max-replicas annotations. Returns whether it wrote. */
  private scale(d: KubeObject, rs: KubeObject, replicas: number): boolean {
    const current = this.store.peek(REPLICA_SET, rs.metadata.namespace, rs.metadata.name);
    if (!current) return false;
    const want = replicasAnnotations(d);
    const annotationsStale = Object.entries(want).some(([k, v]) => current.metadata.annotations?.[k] !== v);
    if (specReplicas(current) === replicas && !annotationsStale) return false;
    this.updateReplicaSet(current, (x) => {
      x.spec.replicas = replicas;
      x.metadata.annotations = { ...(x.metadata.annotations ?? {}), ...want };
    });
    return specReplicas(current) !== replicas;
  }

  private updateReplicaSet(rs: KubeObject, mutate: (rs: KubeObject) => void): KubeObject {
    const next = structuredClone(rs);
    mutate(next);
    return this.store.update(REPLICA_SET, next);
  }

  /** util.DeploymentComplete on the ReplicaSets as they stand. */
  private complete(d: KubeObject, all: KubeObject[], newRS: KubeObject | undefined): boolean {
    const desired = d.spec?.replicas ?? 1;
    return (
      !!newRS &&
      statusOf(newRS, 'replicas') === desired &&
      sum(all, (rs) => statusOf(rs, 'replicas')) === desired &&
      sum(all, (rs) => statusOf(rs, 'availableReplicas')) === desired
    );
  }

  /** sync.go cleanupDeployment: delete the oldest scaled-down ReplicaSets beyond spec.revisionHistoryLimit. */
  private cleanupHistory(d: KubeObject, newRS: KubeObject | undefined, oldRSs: KubeObject[]): void {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const cleanable = oldRSs
      .filter((rs) => rs.metadata.uid !== newRS?.metadata.uid)
      .filter((rs) => specReplicas(rs) === 0 && statusOf(rs, 'replicas') === 0 && !rs.metadata.deletionTimestamp)
      .sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of cleanable.slice(0, Math.max(0, cleanable.length - limit))) {
      this.store.delete(REPLICA_SET, rs.metadata.namespace, rs.metadata.name);
    }
  }

  /** sync.go calculateStatus and progress.go syncRolloutStatus. */
  private updateStatus(ns: string, name: string, conditionsIn: Condition[]): void {
    const d = this.store.peek(DEPLOYMENT, ns, name);
    if (!d) return;
    const all = this.owned(d);
    const newRS = all.find((rs) => templatesEqual(rs.spec?.template, d.spec?.template));
    const desired = d.spec?.replicas ?? 1;
    const replicas = sum(all, (rs) => statusOf(rs, 'replicas'));
    const updated = statusOf(newRS, 'replicas');
    const ready = sum(all, (rs) => statusOf(rs, 'readyReplicas'));
    const available = sum(all, (rs) => statusOf(rs, 'availableReplicas'));
    const uid = d.metadata.uid as string;
    const now = Date.now();
    const old = d.status ?? {};

    let conditions = conditionsIn;
    conditions = setCondition(
      conditions,
      available >= desired - maxUnavailable(d)
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
    );

    const rsName = newRS?.metadata.name ?? '';
    const previous = conditions.find((c) => c.type === 'Progressing');
    const complete = !!newRS && updated === desired && replicas === desired && available === desired;
    const progressMade =
      updated > (old.updatedReplicas ?? 0) ||
      ready > (old.readyReplicas ?? 0) ||
      available > (old.availableReplicas ?? 0) ||
      replicas - updated < (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
    if (!this.lastProgress.has(uid)) this.lastProgress.set(uid, now);
    const deadline = this.deadlineMs(d);

    // progress.go: a finished rollout (only the new ReplicaSet has pods) is not estimated again.
    const finished = replicas === updated && previous?.reason === 'NewReplicaSetAvailable';
    if (d.spec?.paused) {
      conditions = setCondition(conditions, {
        type: 'Progressing',
        status: 'Unknown',
        reason: 'DeploymentPaused',
        message: 'Deployment is paused',
      });
    } else if (previous?.reason === 'DeploymentPaused') {
      conditions = setCondition(conditions, {
        type: 'Progressing',
        status: 'Unknown',
        reason: 'DeploymentResumed',
        message: 'Deployment is resumed',
      });
      this.lastProgress.set(uid, now);
      this.queue.addAfter(nsName(d), deadline + 1);
    } else if (finished) {
      this.lastProgress.set(uid, now);
    } else if (complete) {
      conditions = setCondition(conditions, {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
      });
    } else if (progressMade) {
      // progress.go: the same reason with a fresh lastUpdateTime (setCondition would keep the old one).
      const next: Condition = {
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicaSetUpdated',
        message: `ReplicaSet "${rsName}" is progressing.`,
        lastUpdateTime: nowTimestamp(),
      };
      next.lastTransitionTime = previous?.status === 'True' ? previous.lastTransitionTime : next.lastUpdateTime;
      conditions = [...conditions.filter((c) => c.type !== 'Progressing'), next];
      this.lastProgress.set(uid, now);
      this.queue.addAfter(nsName(d), deadline + 1);
    } else if (previous?.reason === 'NewReplicaSetAvailable') {
      // DeploymentTimedOut is false after a successful rollout until a new one makes progress.
      this.lastProgress.set(uid, now);
    } else if (previous?.reason === 'ProgressDeadlineExceeded' || now - this.lastProgress.get(uid)! >= deadline) {
      conditions = setCondition(conditions, {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: `ReplicaSet "${rsName}" has timed out progressing.`,
      });
    } else {
      this.queue.addAfter(nsName(d), this.lastProgress.get(uid)! + deadline - now + 1);
    }

    // getReplicaFailures: the ReplicaSets' ReplicaFailure condition, newest ReplicaSet first.
    const failure = [newRS, ...all.filter((rs) => rs !== newRS)]
      .map((rs) => (rs?.status?.conditions ?? []).find((c: Condition) => c.type === 'ReplicaFailure' && c.status === 'True'))
      .find((c) => c);
    if (failure)
      conditions = setCondition(conditions, { type: 'ReplicaFailure', status: 'True', reason: failure.reason, message: failure.message });
    else conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    const order = ['Available', 'Progressing', 'ReplicaFailure'];
    conditions.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));

    const status = omitZero({
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sum(all, specReplicas) - available),
      conditions,
      collisionCount: d.status?.collisionCount,
    });
    if (!deepEqual(status, d.status)) {
      const next = structuredClone(d);
      next.status = status;
      this.store.update(DEPLOYMENT, next, { subresource: 'status' });
    }
  }
}

/**
 * NewRSNewReplicas for RollingUpdate: grow the new ReplicaSet up to replicas + maxSurge
 * pods in all (counting spec.replicas of every ReplicaSet); Recreate: full size at once.
 */
export function newRSNewReplicas(d: KubeObject, oldRSs: KubeObject[], newReplicas: number): number {
  const desired = d.spec?.replicas ?? 1;
  if (!isRollingUpdate(d)) return desired;
  const current = sum(oldRSs, specReplicas) + newReplicas;
  const maxTotal = desired + maxSurge(d);
  if (current >= maxTotal) return newReplicas;
  return newReplicas + Math.min(maxTotal - current, desired - newReplicas);
}

function replicasAnnotations(d: KubeObject): Record<string, string> {
  const desired = d.spec?.replicas ?? 1;
  return { [DESIRED_REPLICAS_ANNOTATION]: String(desired), [MAX_REPLICAS_ANNOTATION]: String(desired + maxSurge(d)) };
}

/**
 * SetNewReplicaSetAnnotations: copy the Deployment's annotations (but annotationsToSkip),
 * raise the revision if it is lower than newRevision, and then keep the revision it had
 * in revision-history (a rollback to this ReplicaSet).
 */
function setNewReplicaSetAnnotations(d: KubeObject, annotations: Record<string, string>, newRevision: number): void {
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (ANNOTATIONS_NOT_COPIED.has(k) || annotations[k] === v) continue;
    annotations[k] = String(v);
    changed = true;
  }
  const oldRevision = annotations[REVISION_ANNOTATION];
  if (Number(oldRevision ?? 0) < newRevision) {
    annotations[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
  }
  if (oldRevision !== undefined && changed && oldRevision !== annotations[REVISION_ANNOTATION]) {
    const history = annotations[REVISION_HISTORY_ANNOTATION];
    annotations[REVISION_HISTORY_ANNOTATION] = history ? `${history},${oldRevision}` : oldRevision;
  }
}
