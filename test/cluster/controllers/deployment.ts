/**
 * Deployment controller (simplified rolling update, faithful status):
 *  - a template change creates ReplicaSet `<deploy>-<hash>` (or adopts an old one
 *    with the same template, giving it the next revision: a rollback),
 *  - the new ReplicaSet goes to full scale; once its pods are all available the
 *    old ReplicaSets go to 0,
 *  - status and the Progressing / Available conditions move as on a real cluster,
 *    including ProgressDeadlineExceeded for a rollout whose pods never turn Ready.
 */
import type { KubeObject, Store } from '../store.js';
import { deepEqual } from '../store.js';
import { labelSelectorObjectMatcher } from '../selectors.js';
import {
  DEPLOYMENT,
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

export interface DeploymentControllerOptions {
  /** Overrides spec.progressDeadlineSeconds (ms). */
  progressDeadlineMs?: number | undefined;
}

function maxUnavailable(d: KubeObject): number {
  const replicas = d.spec?.replicas ?? 1;
  if (d.spec?.strategy?.type === 'Recreate') return replicas;
  const v = d.spec?.strategy?.rollingUpdate?.maxUnavailable ?? '25%';
  if (typeof v === 'number') return Math.min(v, replicas);
  const pct = Number(String(v).replace('%', ''));
  return Math.min(replicas, Math.floor((replicas * pct) / 100));
}

export class DeploymentController {
  private readonly queue: WorkQueue;
  private readonly unsubscribe: () => void;
  /** When the current rollout last made progress, by deployment uid. */
  private readonly lastProgress = new Map<string, { hash: string; at: number; available: number }>();

  constructor(private readonly store: Store, private readonly opts: DeploymentControllerOptions = {}) {
    this.queue = new WorkQueue((key) => this.reconcile(key));
    this.unsubscribe = store.subscribe((e) => {
      if (e.type_ === DEPLOYMENT) {
        if (e.type === 'DELETED') this.lastProgress.delete(e.object.metadata.uid);
        else this.queue.add(nsName(e.object));
      } else if (e.type_ === REPLICA_SET) {
        const owner = controllerOf(e.object);
        if (owner?.kind === 'Deployment') this.queue.add(`${e.object.metadata.namespace}/${owner.name}`);
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

  private reconcile(key: string): void {
    const [ns, name] = splitKey(key);
    let d = this.store.peek(DEPLOYMENT, ns, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const selector = labelSelectorObjectMatcher(d.spec?.selector);
    const owned = this.store.list(REPLICA_SET, ns).filter((rs) => isControlledBy(rs, d!) && selector(rs.metadata.labels));
    const maxRevision = owned.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    let newRS = owned.find((rs) => templatesEqual(rs.spec?.template, d!.spec?.template));
    const paused = d.spec?.paused === true;
    let createdNew = false;

    if (!paused) {
      if (!newRS) {
        newRS = this.createReplicaSet(d, maxRevision + 1);
        createdNew = true;
      } else if (revisionOf(newRS) < maxRevision) {
        // Rolling back to an old template: that ReplicaSet becomes the newest revision.
        newRS = this.updateReplicaSet(newRS, (rs) => {
          rs.metadata.annotations = { ...(rs.metadata.annotations ?? {}), [REVISION_ANNOTATION]: String(maxRevision + 1) };
        });
      }
      const desired = d.spec?.replicas ?? 1;
      if ((newRS.spec?.replicas ?? 0) !== desired) {
        newRS = this.updateReplicaSet(newRS, (rs) => {
          rs.spec.replicas = desired;
          rs.metadata.annotations = { ...(rs.metadata.annotations ?? {}), 'deployment.kubernetes.io/desired-replicas': String(desired) };
        });
      }
      const newAvailable = newRS.status?.availableReplicas ?? 0;
      const newCurrent = newRS.status?.replicas ?? 0;
      if (newAvailable >= desired && newCurrent === desired) {
        for (const rs of owned) {
          if (rs.metadata.uid !== newRS.metadata.uid && (rs.spec?.replicas ?? 0) !== 0) {
            this.updateReplicaSet(rs, (x) => {
              x.spec.replicas = 0;
            });
          }
        }
      }
      this.cleanupHistory(d, newRS);
      const revision = String(revisionOf(newRS));
      if (d.metadata.annotations?.[REVISION_ANNOTATION] !== revision) {
        const next = structuredClone(d);
        next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [REVISION_ANNOTATION]: revision };
        d = this.store.update(DEPLOYMENT, next);
      }
    }
    this.updateStatus(d, newRS, createdNew);
  }

  private createReplicaSet(d: KubeObject, revision: number): KubeObject {
    const hash = templateHash(d.spec.template);
    const template = structuredClone(d.spec.template);
    template.metadata = { ...(template.metadata ?? {}) };
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const selector = structuredClone(d.spec.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const replicas = d.spec?.replicas ?? 1;
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations: {
          [REVISION_ANNOTATION]: String(revision),
          'deployment.kubernetes.io/desired-replicas': String(replicas),
          'deployment.kubernetes.io/max-replicas': String(replicas + 1),
        },
        ownerReferences: [controllerRef(d)],
      },
      spec: { replicas, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    return this.store.create(REPLICA_SET, rs);
  }

  private updateReplicaSet(rs: KubeObject, mutate: (rs: KubeObject) => void): KubeObject {
    const next = structuredClone(rs);
    mutate(next);
    return this.store.update(REPLICA_SET, next);
  }

  /** Delete the oldest scaled-down ReplicaSets beyond spec.revisionHistoryLimit. */
  private cleanupHistory(d: KubeObject, newRS: KubeObject): void {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const old = this.store
      .list(REPLICA_SET, d.metadata.namespace)
      .filter((rs) => isControlledBy(rs, d) && rs.metadata.uid !== newRS.metadata.uid)
      .filter((rs) => (rs.spec?.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of old.slice(0, Math.max(0, old.length - limit))) {
      this.store.delete(REPLICA_SET, rs.metadata.namespace, rs.metadata.name);
    }
  }

  private updateStatus(d: KubeObject, newRS: KubeObject | undefined, createdNew: boolean): void {
    const all = this.store.list(REPLICA_SET, d.metadata.namespace).filter((rs) => isControlledBy(rs, d));
    const desired = d.spec?.replicas ?? 1;
    const sum = (f: (rs: KubeObject) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const replicas = sum((rs) => rs.status?.replicas ?? 0);
    const ready = sum((rs) => rs.status?.readyReplicas ?? 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const totalSpec = sum((rs) => rs.spec?.replicas ?? 0);
    const updated = newRS?.status?.replicas ?? 0;
    const newAvailable = newRS?.status?.availableReplicas ?? 0;
    const uid = d.metadata.uid as string;
    const hash = newRS ? templateHash(newRS.spec?.template) : '';
    const now = Date.now();

    let conditions: Condition[] = structuredClone(d.status?.conditions ?? []);
    const minAvailable = desired - maxUnavailable(d);
    conditions = setCondition(
      conditions,
      available >= minAvailable
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
    );

    const complete = !!newRS && updated === desired && newAvailable === desired && replicas === desired && available === desired;
    const progress = this.lastProgress.get(uid);
    const rolloutChanged = !progress || progress.hash !== hash;
    if (rolloutChanged) {
      this.lastProgress.set(uid, { hash, at: now, available: newAvailable });
    } else if (newAvailable !== progress.available) {
      progress.available = newAvailable;
      progress.at = now;
    }
    const since = this.lastProgress.get(uid)!.at;
    const rsName = newRS?.metadata.name ?? '';
    const previous = conditions.find((c) => c.type === 'Progressing');
    const old = d.status ?? {};
    const progressMade =
      updated > (old.updatedReplicas ?? 0) ||
      ready > (old.readyReplicas ?? 0) ||
      available > (old.availableReplicas ?? 0) ||
      replicas - updated < (old.replicas ?? 0) - (old.updatedReplicas ?? 0);

    if (d.spec?.paused) {
      conditions = setCondition(conditions, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' });
    } else if (complete) {
      conditions = setCondition(conditions, {
        type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.`,
      });
    } else if (previous?.reason === 'ProgressDeadlineExceeded' && !rolloutChanged) {
      // A timed-out rollout stays failed until the template changes or it completes.
    } else if (now - since >= this.deadlineMs(d)) {
      conditions = setCondition(conditions, {
        type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.`,
      });
    } else {
      if (createdNew) {
        conditions = setCondition(conditions, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${rsName}"` });
      } else if (!previous || previous.status !== 'True' || previous.reason === 'NewReplicaSetAvailable' || progressMade) {
        conditions = setCondition(conditions, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` });
      }
      this.queue.addAfter(nsName(d), since + this.deadlineMs(d) - now + 1);
    }
    conditions.sort((a, b) => (a.type === 'Available' ? -1 : b.type === 'Available' ? 1 : 0));

    const status = omitZero({
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, totalSpec - available),
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
