/**
 * An Argo Rollouts Rollout, driven as `kubectl argo rollouts` does (ArgoRollout): set image, promote
 * (--full), abort, retry, undo, status. For teams that run the controller; the controller moves the
 * traffic. argoRolloutStatus reads where a Rollout stands from its spec and status; a
 * DelayedScaleDown is a ReplicaSet the controller keeps running after a promotion or an abort
 * (describeScaleDown says until when).
 */
import type { V1ReplicaSet } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import {
  ARGO_ROLLOUT,
  customRef,
  getCustomObject,
  jsonPatchCustomObject,
  mergePatchCustomObject,
  mergePatchCustomStatus,
  type KubeObject,
} from './custom-resources.js';
import {
  describeNotReadyPods,
  findContainer,
  RolloutFailedError,
  type ImageChange,
  type UndoResult,
  type WaitOptions,
} from './deployment.js';
import { KubeObjectError, isConflict } from './errors.js';
import { guardedPatch } from './guarded-patch.js';
import { pointer } from './json-patch.js';
import type { ObjectRef } from './object-ref.js';
import { watchUntil } from './watch-until.js';

export const ROLLOUT_REVISION_ANNOTATION = 'rollout.argoproj.io/revision';
const ROLLOUT_HASH_LABEL = 'rollouts-pod-template-hash';
/** Argo's annotation on a ReplicaSet it keeps up for a while (v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey). */
export const SCALE_DOWN_DEADLINE_ANNOTATION = 'scale-down-deadline';

/**
 * A ReplicaSet the controller keeps running although the Rollout no longer routes to it: the
 * previous stable one after a promotion (`scaleDownDelaySeconds`, default 30 s with trafficRouting)
 * or the canary after an abort (`abortScaleDownDelaySeconds`, default 30 s; 0 keeps it up).
 */
export interface DelayedScaleDown {
  replicaSet: string;
  role: 'previous stable' | 'aborted canary';
  replicas: number;
  /** When the controller scales it to 0 (RFC 3339); undefined when it never will by itself. */
  deadline: string | undefined;
}

/** `ReplicaSet shop/web-6d4f (previous stable) keeps 4 pods until 2026-12-02T07:30:12Z (scaleDownDelaySeconds)` */
export function describeScaleDown(namespace: string, s: DelayedScaleDown): string {
  const field = s.role === 'previous stable' ? 'scaleDownDelaySeconds' : 'abortScaleDownDelaySeconds';
  const pods = `${s.replicas} pod${s.replicas === 1 ? '' : 's'}`;
  return s.deadline
    ? `ReplicaSet ${namespace}/${s.replicaSet} (${s.role}) keeps ${pods} until ${s.deadline} (${field})`
    : `ReplicaSet ${namespace}/${s.replicaSet} (${s.role}) keeps ${pods} with no deadline (${field}: 0): retry the rollout or scale it down by hand`;
}

/** What `kubectl argo rollouts get/status` shows of a Rollout. */
export interface ArgoRolloutStatus {
  /** Healthy, Progressing, Paused or Degraded (status.phase). */
  phase: string;
  message: string;
  /** The controller has seen the latest spec (status.observedGeneration == metadata.generation). */
  observed: boolean;
  aborted: boolean;
  /** Paused by the user (spec.paused) or at a pause step (status.pauseConditions). */
  paused: boolean;
  /** status.currentStepIndex; undefined without steps. */
  stepIndex: number | undefined;
  stepCount: number;
  /** The weight the current step sets (Argo's GetCurrentSetWeight): 0 when aborted, 100 past the last step. */
  setWeight: number;
  /** The canary weight the controller reports as applied (status.canary.weights), else setWeight. */
  actualWeight: number;
  stableRS: string | undefined;
  currentPodHash: string | undefined;
  revision: number | undefined;
  /** The setWeight of each step (undefined for other steps), for choosing where to promote to. */
  stepWeights: (number | undefined)[];
  /** ReplicaSets still up after a promotion or an abort (filled by waitFor; see scaleDowns()). */
  scaleDowns?: DelayedScaleDown[];
}

export function argoRolloutStatus(ro: KubeObject): ArgoRolloutStatus {
  const steps: { setWeight?: number }[] = ro.spec?.strategy?.canary?.steps ?? [];
  const status = ro.status ?? {};
  const aborted = status.abort === true;
  const stepIndex: number | undefined = steps.length > 0 ? (status.currentStepIndex ?? 0) : undefined;
  let setWeight = 100;
  if (aborted) setWeight = 0;
  else if (stepIndex !== undefined && stepIndex < steps.length) {
    setWeight = 0;
    for (let i = stepIndex; i >= 0; i--) {
      const w = steps[i]?.setWeight;
      if (w !== undefined) {
        setWeight = Number(w);
        break;
      }
    }
  }
  const reported = status.canary?.weights?.canary?.weight;
  const revision: string | undefined = (ro.metadata.annotations as Record<string, string> | undefined)?.[ROLLOUT_REVISION_ANNOTATION];
  return {
    phase: status.phase ?? 'Progressing',
    message: status.message ?? '',
    observed: String(status.observedGeneration ?? '') === String(ro.metadata.generation ?? ''),
    aborted,
    paused: ro.spec?.paused === true || (Array.isArray(status.pauseConditions) && status.pauseConditions.length > 0),
    stepIndex,
    stepCount: steps.length,
    setWeight,
    actualWeight: typeof reported === 'number' ? reported : setWeight,
    stableRS: status.stableRS,
    currentPodHash: status.currentPodHash,
    revision: revision && /^\d+$/.test(revision) ? Number(revision) : undefined,
    stepWeights: steps.map((s) => (s?.setWeight === undefined ? undefined : Number(s.setWeight))),
  };
}

/** One Rollout, by namespace and name, and what `kubectl argo rollouts` does to it. */
export class ArgoRollout {
  readonly ref: ObjectRef;

  constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
    readonly name: string,
  ) {
    this.ref = customRef(ARGO_ROLLOUT, namespace, name);
  }

  get(): Promise<KubeObject> {
    return getCustomObject(this.client, ARGO_ROLLOUT, this.namespace, this.name);
  }

  async status(): Promise<ArgoRolloutStatus> {
    return argoRolloutStatus(await this.get());
  }

  /**
   * The ReplicaSets the controller keeps up although no traffic goes to them (see DelayedScaleDown),
   * listed by the Rollout's selector and owner reference. A healthy Rollout may still run its
   * previous version for scaleDownDelaySeconds; an aborted one its canary.
   */
  async scaleDowns(rollout?: KubeObject): Promise<DelayedScaleDown[]> {
    const ro = rollout ?? (await this.get());
    const s = argoRolloutStatus(ro);
    const matchLabels: Record<string, string> = ro.spec?.selector?.matchLabels ?? {};
    const labelSelector =
      Object.entries(matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || undefined;
    const list = await this.client.call(
      'list',
      { kind: 'ReplicaSet', namespace: this.namespace, name: `(owned by Rollout ${this.name})` },
      () => this.client.apps.listNamespacedReplicaSet({ namespace: this.namespace, labelSelector }),
    );
    const out: DelayedScaleDown[] = [];
    for (const rs of list.items) {
      if (!rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === ro.metadata.uid)) continue;
      const replicas = rs.spec?.replicas ?? 0;
      const hash = rs.metadata.labels?.[ROLLOUT_HASH_LABEL];
      if (replicas === 0 || !hash || hash === s.stableRS) continue;
      const deadline = rs.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION];
      if (s.aborted && hash === s.currentPodHash) out.push({ replicaSet: rs.metadata.name!, role: 'aborted canary', replicas, deadline });
      else if (hash !== s.currentPodHash && deadline)
        out.push({ replicaSet: rs.metadata.name!, role: 'previous stable', replicas, deadline });
    }
    return out;
  }

  /** `kubectl argo rollouts set image`: one container's image (named or first), guarded by resourceVersion. */
  async setImage(image: string, container?: string): Promise<ImageChange> {
    let change: ImageChange | undefined;
    await guardedPatch<KubeObject>({
      ref: this.ref,
      read: () => this.get(),
      resourceVersionOf: (ro) => ro.metadata.resourceVersion,
      plan: (ro) => {
        const found = findContainer(this.ref, ro.spec?.template, container);
        change = {
          container: found.name,
          previousImage: found.image,
          image,
          previousRevision: argoRolloutStatus(ro).revision,
          changed: found.image !== image,
        };
        return change.changed
          ? [{ op: 'replace', path: pointer('spec', 'template', 'spec', 'containers', found.index, 'image'), value: image }]
          : [];
      },
      send: (ops) => jsonPatchCustomObject(this.client, ARGO_ROLLOUT, this.namespace, this.name, ops),
    });
    return change!;
  }

  /**
   * `kubectl argo rollouts promote [--full]`. Decided on one read and sent with its resourceVersion;
   * after a conflict it is re-decided only if the Rollout still stands where it stood (so a promote
   * whose answer was lost is not applied twice). Returns the status it decided on.
   */
  async promote(options: { full?: boolean } = {}): Promise<ArgoRolloutStatus> {
    const first = await this.get();
    const seen = argoRolloutStatus(first);
    let ro = first;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const now = argoRolloutStatus(ro);
      if (attempt > 1 && (now.stepIndex !== seen.stepIndex || now.paused !== seen.paused || now.currentPodHash !== seen.currentPodHash))
        return seen;
      try {
        await this.sendPromote(ro, options.full === true);
        return seen;
      } catch (error) {
        if (!isConflict(error)) throw error;
        ro = await this.get();
      }
    }
    throw new KubeObjectError(this.ref, 'promote gave up: the Rollout changed under each of 5 attempts');
  }

  private async sendPromote(ro: KubeObject, full: boolean): Promise<void> {
    const resourceVersion = ro.metadata.resourceVersion;
    const status = ro.status ?? {};
    if (full) {
      if (status.currentPodHash !== status.stableRS) await this.patchStatus({ promoteFull: true }, resourceVersion);
      return;
    }
    const steps: unknown[] = ro.spec?.strategy?.canary?.steps ?? [];
    let statusPatch: Record<string, unknown> | undefined;
    if (Array.isArray(status.pauseConditions) && status.pauseConditions.length > 0) statusPatch = { pauseConditions: null };
    else if (ro.spec?.strategy?.canary && steps.length > 0) {
      const index: number = status.currentStepIndex ?? 0;
      statusPatch = { pauseConditions: null, currentStepIndex: index < steps.length ? index + 1 : index };
    }
    if (statusPatch) await this.patchStatus(statusPatch, resourceVersion);
    if (ro.spec?.paused) {
      await mergePatchCustomObject(this.client, ARGO_ROLLOUT, this.namespace, this.name, { spec: { paused: false } });
    }
  }

  /** Promote to the first step ahead that sets `weight` (skipping the steps between), as `promote` with a chosen step. */
  async promoteToWeight(weight: number): Promise<ArgoRolloutStatus> {
    const ro = await this.get();
    const now = argoRolloutStatus(ro);
    if (now.stepIndex === undefined)
      throw new KubeObjectError(this.ref, `has no canary steps, so it cannot be set to ${weight}%; promote it fully or abort it`);
    if (weight < now.setWeight) {
      throw new KubeObjectError(this.ref, `is at ${now.setWeight}%: Argo Rollouts only lowers a canary's weight by aborting (0%)`);
    }
    if (weight === now.setWeight) return now;
    const target = now.stepWeights.findIndex((w, i) => i > now.stepIndex! && w === weight);
    if (target < 0) {
      const ahead = now.stepWeights.filter((w, i): w is number => i > now.stepIndex! && w !== undefined);
      throw new KubeObjectError(
        this.ref,
        `has no step ahead that sets ${weight}% (steps ahead set ${ahead.join(', ') || 'nothing'}; 100 promotes fully, 0 aborts)`,
      );
    }
    await this.patchStatus({ pauseConditions: null, currentStepIndex: target }, ro.metadata.resourceVersion);
    return now;
  }

  /** `kubectl argo rollouts abort`: back to the stable ReplicaSet; spec.template still names the new version. */
  async abort(): Promise<void> {
    await this.patchStatus({ abort: true });
  }

  /** `kubectl argo rollouts retry rollout`: leave the aborted state and try the new version again. */
  async retry(): Promise<void> {
    await this.patchStatus({ abort: false });
  }

  /** `kubectl argo rollouts undo [--to-revision]`: the pod template of an older ReplicaSet, minus its hash label. */
  async undo(toRevision?: number): Promise<UndoResult> {
    let result: UndoResult | undefined;
    let replicaSets: V1ReplicaSet[] = [];
    await guardedPatch<KubeObject>({
      ref: this.ref,
      read: async () => {
        const ro = await this.get();
        // Only the Rollout's ReplicaSets (its selector), not every ReplicaSet in the namespace.
        const matchLabels: Record<string, string> = ro.spec?.selector?.matchLabels ?? {};
        const labelSelector =
          Object.entries(matchLabels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',') || undefined;
        const list = await this.client.call(
          'list',
          { kind: 'ReplicaSet', namespace: this.namespace, name: `(owned by Rollout ${this.name})` },
          () => this.client.apps.listNamespacedReplicaSet({ namespace: this.namespace, labelSelector }),
        );
        replicaSets = list.items.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === ro.metadata.uid));
        return ro;
      },
      resourceVersionOf: (ro) => ro.metadata.resourceVersion,
      plan: (ro) => {
        const revisions = replicaSets
          .map((rs) => ({ rs, revision: Number(rs.metadata?.annotations?.[ROLLOUT_REVISION_ANNOTATION] ?? NaN) }))
          .filter((x) => Number.isInteger(x.revision))
          .sort((a, b) => b.revision - a.revision);
        const target = toRevision === undefined ? revisions[1] : revisions.find((x) => x.revision === toRevision);
        if (!target) {
          const known = revisions.map((x) => x.revision).join(', ') || 'none';
          throw new KubeObjectError(
            this.ref,
            toRevision === undefined
              ? `has no previous revision to roll back to (revisions ${known})`
              : `has no revision ${toRevision} in its history (revisions ${known})`,
          );
        }
        const template = JSON.parse(JSON.stringify(target.rs.spec?.template ?? {}));
        delete template.metadata?.labels?.[ROLLOUT_HASH_LABEL];
        const images = Object.fromEntries(
          (template.spec?.containers ?? []).map((c: { name: string; image?: string }) => [c.name, c.image ?? '']),
        );
        // The API server does not default a custom resource, so the Rollout's template never equals a
        // ReplicaSet's (defaulted) one field for field. The controller's word is: the ReplicaSet it
        // matched to the current template is status.currentPodHash, once it has seen this spec.
        const s = argoRolloutStatus(ro);
        const skipped =
          s.observed && s.currentPodHash !== undefined && target.rs.metadata?.labels?.[ROLLOUT_HASH_LABEL] === s.currentPodHash;
        result = { toRevision: target.revision, images, skipped };
        return skipped ? [] : [{ op: 'replace', path: pointer('spec', 'template'), value: template }];
      },
      send: (ops) => jsonPatchCustomObject(this.client, ARGO_ROLLOUT, this.namespace, this.name, ops),
    });
    return result!;
  }

  /**
   * Waits for the controller: `healthy` (fully promoted) or `paused` (at a pause step). Degraded or
   * aborted fails with RolloutFailedError carrying the controller's message.
   */
  async waitFor(until: 'healthy' | 'paused', options: WaitOptions): Promise<ArgoRolloutStatus> {
    try {
      const status = await this.watch(until, options);
      if (until !== 'healthy') return status;
      // Healthy while the previous version still runs for scaleDownDelaySeconds: say so.
      const scaleDowns = await this.scaleDowns();
      for (const s of scaleDowns) options.onProgress?.(describeScaleDown(this.namespace, s));
      return { ...status, scaleDowns };
    } catch (error) {
      // A stuck canary: say why its pods are not available (ImagePullBackOff on pod x).
      if (error instanceof RolloutFailedError && error.reason === 'ProgressDeadlineExceeded') {
        const why = await this.describeCanaryPods();
        if (why) throw new RolloutFailedError(this.ref, error.reason, `${error.detail} (${why})`);
      }
      throw error;
    }
  }

  private async describeCanaryPods(): Promise<string | undefined> {
    try {
      const ro = await this.get();
      const hash: string | undefined = ro.status?.currentPodHash;
      if (!hash) return undefined;
      return await describeNotReadyPods(this.client, this.namespace, {
        ...(ro.spec?.selector?.matchLabels ?? {}),
        [ROLLOUT_HASH_LABEL]: hash,
      });
    } catch {
      return undefined;
    }
  }

  private watch(until: 'healthy' | 'paused', options: WaitOptions): Promise<ArgoRolloutStatus> {
    return watchUntil<KubeObject, ArgoRolloutStatus>({
      client: this.client,
      ref: this.ref,
      collectionPath: `/apis/${ARGO_ROLLOUT.group}/${ARGO_ROLLOUT.version}/namespaces/${encodeURIComponent(this.namespace)}/${ARGO_ROLLOUT.plural}`,
      read: () => this.get(),
      resourceVersionOf: (ro) => ro.metadata.resourceVersion,
      decide: (ro) => {
        const s = argoRolloutStatus(ro);
        if (!s.observed) return { done: false, progress: 'waiting for the controller to observe the new spec' };
        if (s.phase === 'Degraded' || s.aborted) {
          // status.message is "<reason>: <message>" (RolloutAborted, ProgressDeadlineExceeded, InvalidSpec).
          const [reason, ...rest] = (s.message || 'Degraded').split(': ');
          throw new RolloutFailedError(this.ref, reason ?? 'Degraded', rest.join(': ') || s.message);
        }
        if (until === 'healthy' && s.phase === 'Healthy') return { done: true, value: s };
        if (until === 'paused' && s.phase === 'Paused') return { done: true, value: s };
        const step = s.stepIndex === undefined ? '' : `, step ${s.stepIndex}/${s.stepCount}`;
        return { done: false, progress: `${s.phase}${s.message ? ` (${s.message})` : ''}${step}, weight ${s.actualWeight}%` };
      },
      ...options,
    });
  }

  private patchStatus(patch: Record<string, unknown>, resourceVersion?: string): Promise<KubeObject> {
    const body = resourceVersion ? { metadata: { resourceVersion }, status: patch } : { status: patch };
    return mergePatchCustomStatus(this.client, ARGO_ROLLOUT, this.namespace, this.name, body);
  }
}
