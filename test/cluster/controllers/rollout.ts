/**
 * Argo Rollouts canary controller (argoproj.io/v1alpha1 Rollout), simplified
 * but with Argo's field names:
 *  - a template change gets a new ReplicaSet `<rollout>-<hash>` (label
 *    `rollouts-pod-template-hash`), status.currentPodHash, currentStepIndex 0;
 *  - steps: `setWeight` records status.canary.weights and scales the canary,
 *    `pause: {}` stops (phase Paused, pauseCondition CanaryPauseStep,
 *    controllerPause) until status.pauseConditions is cleared (what
 *    `kubectl argo rollouts promote` does), `pause: {duration}` waits;
 *  - `status.abort: true` aborts (phase Degraded, canary weight 0, message
 *    "RolloutAborted: ..."), `status.promoteFull: true` skips the remaining steps;
 *  - after the last step the canary becomes stable (stableRS = currentPodHash, phase Healthy);
 *  - with trafficRouting.istio the referenced VirtualService route weights follow,
 *    and status.canary.weights is reported (only with trafficRouting, as Argo's
 *    reconcileTrafficRouting does); without it (basic canary) the stable
 *    ReplicaSet is scaled down as the canary grows (replicas - canary pods);
 *  - the Rollout's template is not defaulted by the API server (a CRD): it is
 *    compared with ReplicaSet templates after defaulting a copy, as Argo's
 *    replicasetutil.PodTemplateEqualIgnoreHash does;
 *  - no progress for spec.progressDeadlineSeconds (600) while Progressing
 *    (not paused) turns the Rollout Degraded with a Progressing condition
 *    ProgressDeadlineExceeded (argo-rollouts utils/conditions RolloutTimedOut,
 *    CalculateRolloutPhase: "ProgressDeadlineExceeded: ReplicaSet "x" has timed out progressing.");
 *  - with trafficRouting, the old stable ReplicaSet is kept for `scaleDownDelaySeconds` (default 30)
 *    after a promotion, and an aborted canary ReplicaSet for `abortScaleDownDelaySeconds` (default
 *    30; 0 keeps it up indefinitely), with the annotation `scale-down-deadline` (RFC 3339) until
 *    scaled to 0 (rollout/canary.go scaleDownOldReplicaSetsForCanary, rollout/replicaset.go
 *    addScaleDownDelay / isReplicaSetReferenced, utils/defaults GetScaleDownDelaySecondsOrDefault,
 *    GetAbortScaleDownDelaySecondsOrDefault; docs features/scaledown-aborted-rs). The phase is
 *    Healthy meanwhile (rolloututil.CalculateRolloutPhase checks old replicas pending termination
 *    only for the basic canary). Without trafficRouting both happen at once.
 */
import { createHash } from 'node:crypto';
import type { KubeObject, Store } from '../store.js';
import { deepEqual, nowTimestamp } from '../store.js';
import { labelSelectorToString } from '../selectors.js';
import { RESOURCE_TYPES } from '../resources.js';
import { defaultPodTemplate } from '../defaults.js';
import {
  REPLICA_SET,
  ROLLOUT,
  WorkQueue,
  controllerOf,
  controllerRef,
  isControlledBy,
  nsName,
  setCondition,
  splitKey,
  templateHash,
  templatesEqual,
  type Condition,
} from './common.js';

const HASH_LABEL = 'rollouts-pod-template-hash';
/** v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey */
export const SCALE_DOWN_DEADLINE = 'scale-down-deadline';
const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30;
const REVISION = 'rollout.argoproj.io/revision';
const VIRTUAL_SERVICE = RESOURCE_TYPES.find((t) => t.kind === 'VirtualService')!;

/** Argo durations: a number of seconds or a Go duration string ("30s", "1m", "500ms", "1h"). */
export function parseDurationMs(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value * 1000;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let matched = '';
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched += m[0];
  }
  return matched === text && text !== '' ? total : undefined;
}

function stepsHash(steps: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(steps ?? []))
    .digest('hex')
    .slice(0, 10);
}

export interface RolloutControllerOptions {
  /** Overrides spec.progressDeadlineSeconds (ms). */
  progressDeadlineMs?: number | undefined;
}

export class RolloutController {
  private readonly queue: WorkQueue;
  private readonly unsubscribe: () => void;
  /** When the current pause step began (ms), by `${uid}/${hash}/${stepIndex}`. */
  private readonly pauseStarted = new Map<string, number>();
  /** The last progress seen (what changed, when), by Rollout uid. */
  private readonly progress = new Map<string, { key: string; at: number }>();

  constructor(
    private readonly store: Store,
    private readonly opts: RolloutControllerOptions = {},
  ) {
    this.queue = new WorkQueue((key) => this.reconcile(key));
    this.unsubscribe = store.subscribe((e) => {
      if (e.type_ === ROLLOUT && e.type === 'DELETED') this.progress.delete(e.object.metadata.uid);
      else if (e.type_ === ROLLOUT) this.queue.add(nsName(e.object));
      else if (e.type_ === REPLICA_SET) {
        const owner = controllerOf(e.object);
        if (owner?.kind === 'Rollout') this.queue.add(`${e.object.metadata.namespace}/${owner.name}`);
      }
    });
    for (const ro of store.list(ROLLOUT)) this.queue.add(nsName(ro));
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  private reconcile(key: string): void {
    const [ns, name] = splitKey(key);
    let ro = this.store.peek(ROLLOUT, ns, name);
    if (!ro?.spec?.template) return;
    const replicas: number = ro.spec.replicas ?? 1;
    const steps: any[] = ro.spec.strategy?.canary?.steps ?? [];
    const status: any = structuredClone(ro.status ?? {});
    const owned = this.store.list(REPLICA_SET, ns).filter((rs) => isControlledBy(rs, ro!));
    const maxRevision = owned.reduce((m, rs) => Math.max(m, Number(rs.metadata.annotations?.[REVISION] ?? 0)), 0);

    const desiredTemplate = defaultPodTemplate(ro.spec.template);
    let canaryRS = owned.find((rs) => templatesEqual(rs.spec?.template, desiredTemplate));
    if (!canaryRS) canaryRS = this.createReplicaSet(ro, templateHash(ro.spec.template), maxRevision + 1);
    // Argo takes currentPodHash from the ReplicaSet that matches the template (an undo writes
    // back a defaulted template, whose own hash would differ).
    const hash: string = canaryRS.metadata.labels?.[HASH_LABEL] ?? templateHash(ro.spec.template);
    if (Number(canaryRS.metadata.annotations?.[REVISION] ?? 0) < maxRevision && status.currentPodHash !== hash) {
      canaryRS = this.patchRS(
        canaryRS,
        (rs) => (rs.metadata.annotations = { ...(rs.metadata.annotations ?? {}), [REVISION]: String(maxRevision + 1) }),
      );
    }
    const revision = canaryRS.metadata.annotations?.[REVISION];
    if (ro.metadata.annotations?.[REVISION] !== revision) {
      const next = structuredClone(ro);
      next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [REVISION]: revision };
      ro = this.store.update(ROLLOUT, next);
    }

    // A new template (or the first one).
    if (status.currentPodHash !== hash) {
      const firstDeploy = !status.stableRS;
      const backToStable = status.stableRS === hash;
      status.currentPodHash = hash;
      status.currentStepHash = stepsHash(steps);
      status.abort = undefined;
      status.abortedAt = undefined;
      status.pauseConditions = undefined;
      status.controllerPause = undefined;
      status.promoteFull = undefined;
      if (firstDeploy) status.stableRS = hash;
      if (steps.length > 0) status.currentStepIndex = firstDeploy || backToStable ? steps.length : 0;
    }
    const stableHash: string = status.stableRS;
    const stableRS = owned.find((rs) => rs.metadata.labels?.[HASH_LABEL] === stableHash) ?? (stableHash === hash ? canaryRS : undefined);
    const isStableTemplate = stableHash === hash;

    const trafficRouted = !!ro.spec.strategy?.canary?.trafficRouting;
    let weight = 0;
    let phase = 'Progressing';
    let message = '';

    if (status.abort) {
      phase = 'Degraded';
      message = `RolloutAborted: Rollout aborted update to revision ${revision}`;
      status.abortedAt ??= nowTimestamp();
      if (steps.length > 0) status.currentStepIndex = 0;
      status.pauseConditions = undefined;
      status.controllerPause = undefined;
      if (isStableTemplate) this.scale(canaryRS, replicas);
      else if (trafficRouted) {
        canaryRS = this.scaleDownAfter(ro, canaryRS, ro.spec.strategy?.canary?.abortScaleDownDelaySeconds, true);
      } else this.scale(canaryRS, 0);
      if (stableRS && !isStableTemplate) this.scale(stableRS, replicas);
    } else if (ro.spec.paused) {
      phase = 'Paused';
      message = 'manually paused';
      weight = this.currentWeight(steps, status.currentStepIndex);
    } else {
      if (status.promoteFull && steps.length > 0) status.currentStepIndex = steps.length;
      let idx: number = steps.length > 0 ? (status.currentStepIndex ?? 0) : 0;
      let waiting = false;
      while (!waiting && idx < steps.length && !isStableTemplate) {
        const step = steps[idx];
        if (step.setWeight !== undefined) {
          weight = Number(step.setWeight);
          const want = Math.min(replicas, Math.ceil((replicas * weight) / 100));
          canaryRS = this.scale(canaryRS, want);
          // Basic canary (no trafficRouting): the pod ratio is the traffic ratio, so stable shrinks as the canary grows.
          if (!trafficRouted && stableRS && stableRS.metadata.uid !== canaryRS.metadata.uid) this.scale(stableRS, replicas - want);
          if ((canaryRS.status?.availableReplicas ?? 0) >= want && (canaryRS.status?.replicas ?? 0) === want) idx++;
          else waiting = true;
        } else if (step.pause !== undefined) {
          const done = this.pauseStep(ro, hash, idx, step.pause, status);
          if (done) idx++;
          else {
            waiting = true;
            phase = 'Paused';
            message = 'CanaryPauseStep';
          }
        } else {
          idx++; // analysis, experiment, setCanaryScale...: not simulated
        }
      }
      weight = idx < steps.length ? this.currentWeight(steps, idx) : 0;
      if (steps.length > 0) status.currentStepIndex = idx;
      if (idx >= steps.length || isStableTemplate) {
        // Promote: full canary, then it becomes stable.
        canaryRS = this.scale(canaryRS, replicas);
        if ((canaryRS.status?.availableReplicas ?? 0) >= replicas) {
          status.stableRS = hash;
          status.promoteFull = undefined;
          for (const rs of owned) {
            if (rs.metadata.uid === canaryRS.metadata.uid) continue;
            if (trafficRouted) this.scaleDownAfter(ro, rs, ro.spec.strategy?.canary?.scaleDownDelaySeconds);
            else this.scale(rs, 0);
          }
          phase = 'Healthy';
          weight = 0;
        } else {
          weight = isStableTemplate ? 0 : 100;
        }
      } else if (stableRS && stableRS.metadata.uid !== canaryRS.metadata.uid && trafficRouted) {
        this.scale(stableRS, replicas);
      }
    }

    const all = this.store.list(REPLICA_SET, ns).filter((rs) => isControlledBy(rs, ro!));
    const sum = (f: (rs: KubeObject) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const canary = ro.spec.strategy?.canary ?? {};
    const finalStable = status.stableRS as string;
    status.canary = { ...(status.canary ?? {}) };
    if (trafficRouted) {
      status.canary.weights = {
        canary: {
          podTemplateHash: hash,
          weight: finalStable === hash ? 0 : weight,
          ...(canary.canaryService ? { serviceName: canary.canaryService } : {}),
        },
        stable: {
          podTemplateHash: finalStable,
          weight: finalStable === hash ? 100 : 100 - weight,
          ...(canary.stableService ? { serviceName: canary.stableService } : {}),
        },
      };
    } else delete status.canary.weights;

    // Progress deadline: only while Progressing; a pause (or any change) restarts the clock.
    const progressKey = [
      hash,
      status.currentStepIndex,
      canaryRS.status?.replicas ?? 0,
      canaryRS.status?.availableReplicas ?? 0,
      phase === 'Paused',
      !!status.abort,
    ].join('/');
    const seen = this.progress.get(ro.metadata.uid);
    const now = Date.now();
    if (!seen || seen.key !== progressKey || phase !== 'Progressing') this.progress.set(ro.metadata.uid, { key: progressKey, at: now });
    const deadlineMs = this.opts.progressDeadlineMs ?? (ro.spec.progressDeadlineSeconds ?? 600) * 1000;
    let timedOut = false;
    if (phase === 'Progressing') {
      const since = this.progress.get(ro.metadata.uid)!.at;
      if (now - since >= deadlineMs) {
        timedOut = true;
        phase = 'Degraded';
        message = `ProgressDeadlineExceeded: ReplicaSet "${canaryRS.metadata.name}" has timed out progressing.`;
      } else this.queue.addAfter(nsName(ro), since + deadlineMs - now + 1);
    }
    status.replicas = sum((rs) => rs.status?.replicas ?? 0);
    status.updatedReplicas = canaryRS.status?.replicas ?? 0;
    status.readyReplicas = sum((rs) => rs.status?.readyReplicas ?? 0);
    status.availableReplicas = sum((rs) => rs.status?.availableReplicas ?? 0);
    status.HPAReplicas = status.replicas;
    status.selector = labelSelectorToString(ro.spec.selector);
    status.observedGeneration = String(ro.metadata.generation);
    status.phase = phase;
    status.message = message || undefined;
    let conditions: Condition[] = structuredClone(status.conditions ?? []);
    conditions = setCondition(
      conditions,
      status.availableReplicas >= replicas
        ? { type: 'Available', status: 'True', reason: 'AvailableReason', message: 'Rollout has minimum availability' }
        : { type: 'Available', status: 'False', reason: 'AvailableReason', message: 'Rollout does not have minimum availability' },
    );
    const progressing: Condition = timedOut
      ? {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${canaryRS.metadata.name}" has timed out progressing.`,
        }
      : phase === 'Degraded'
        ? { type: 'Progressing', status: 'False', reason: 'RolloutAborted', message }
        : phase === 'Paused'
          ? { type: 'Progressing', status: 'Unknown', reason: 'RolloutPaused', message: 'Rollout is paused' }
          : phase === 'Healthy'
            ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `RolloutCompleted` }
            : {
                type: 'Progressing',
                status: 'True',
                reason: 'ReplicaSetUpdated',
                message: `ReplicaSet "${canaryRS.metadata.name}" is progressing.`,
              };
    conditions = setCondition(conditions, progressing);
    conditions = setCondition(
      conditions,
      phase === 'Paused'
        ? { type: 'Paused', status: 'True', reason: 'RolloutPaused', message: 'Rollout is paused' }
        : { type: 'Paused', status: 'False', reason: 'RolloutResumed', message: 'Rollout is resumed' },
    );
    status.conditions = conditions;
    for (const k of Object.keys(status)) if (status[k] === undefined) delete status[k];

    this.syncVirtualServices(ro, status);
    if (!deepEqual(status, ro.status)) {
      const next = structuredClone(this.store.peek(ROLLOUT, ns, name)!);
      next.status = status;
      this.store.update(ROLLOUT, next, { subresource: 'status' });
    }
  }

  private currentWeight(steps: any[], upTo: number | undefined): number {
    let weight = 0;
    for (let i = 0; i < Math.min(upTo ?? 0, steps.length); i++) if (steps[i].setWeight !== undefined) weight = Number(steps[i].setWeight);
    return weight;
  }

  /** Returns true once the pause step is over. Mutates status.pauseConditions / controllerPause. */
  private pauseStep(ro: KubeObject, hash: string, idx: number, pause: any, status: any): boolean {
    const key = `${ro.metadata.uid}/${hash}/${idx}`;
    const conditions: any[] = status.pauseConditions ?? [];
    const hasCondition = conditions.some((c) => c.reason === 'CanaryPauseStep');
    const durationMs = parseDurationMs(pause?.duration);
    if (!hasCondition && status.controllerPause && this.pauseStarted.has(key)) {
      // The pause condition of this very step was cleared by a promote: the step is done.
      status.controllerPause = undefined;
      this.pauseStarted.delete(key);
      return true;
    }
    if (!hasCondition) {
      if (durationMs === 0) return true;
      status.pauseConditions = [...conditions, { reason: 'CanaryPauseStep', startTime: nowTimestamp() }];
      status.controllerPause = true;
      this.pauseStarted.set(key, Date.now());
    }
    if (durationMs !== undefined) {
      const started = this.pauseStarted.get(key) ?? Date.now();
      this.pauseStarted.set(key, started);
      const left = started + durationMs - Date.now();
      if (left <= 0) {
        status.pauseConditions = (status.pauseConditions ?? []).filter((c: any) => c.reason !== 'CanaryPauseStep');
        if (status.pauseConditions.length === 0) status.pauseConditions = undefined;
        status.controllerPause = undefined;
        this.pauseStarted.delete(key);
        return true;
      }
      this.queue.addAfter(nsName(ro), left + 1);
    }
    return false;
  }

  private createReplicaSet(ro: KubeObject, hash: string, revision: number): KubeObject {
    // The API server defaults the ReplicaSet (a built-in kind) as it stores it.
    const template = defaultPodTemplate(ro.spec.template);
    template.metadata = { ...(template.metadata ?? {}) };
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [HASH_LABEL]: hash };
    const selector = structuredClone(ro.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
    return this.store.create(REPLICA_SET, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${ro.metadata.name}-${hash}`,
        namespace: ro.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations: { [REVISION]: String(revision) },
        ownerReferences: [controllerRef(ro)],
      },
      spec: { replicas: 0, selector, template },
    });
  }

  private patchRS(rs: KubeObject, mutate: (rs: KubeObject) => void): KubeObject {
    const next = structuredClone(rs);
    mutate(next);
    return this.store.update(REPLICA_SET, next);
  }

  private scale(rs: KubeObject, replicas: number): KubeObject {
    const current = this.store.peek(REPLICA_SET, rs.metadata.namespace, rs.metadata.name);
    if (!current) return rs;
    const deadline = current.metadata.annotations?.[SCALE_DOWN_DEADLINE];
    // Scaling a ReplicaSet up again (a new stable, a retried canary) drops its scale-down deadline.
    if (current.spec?.replicas === replicas && !(deadline !== undefined && replicas > 0)) return current;
    return this.patchRS(current, (x) => {
      x.spec.replicas = replicas;
      if (x.metadata.annotations?.[SCALE_DOWN_DEADLINE] !== undefined) {
        delete x.metadata.annotations[SCALE_DOWN_DEADLINE];
        if (Object.keys(x.metadata.annotations).length === 0) delete x.metadata.annotations;
      }
    });
  }

  /**
   * Scale `rs` to 0 once its `scale-down-deadline` passes, setting the deadline (now + delay seconds,
   * default 30) the first time; a delay of 0 from abortScaleDownDelaySeconds keeps it up (Argo:
   * "does not scale down"), from scaleDownDelaySeconds scales down at once.
   */
  private scaleDownAfter(ro: KubeObject, rs: KubeObject, delaySeconds: unknown, keepForeverOnZero = false): KubeObject {
    const current = this.store.peek(REPLICA_SET, rs.metadata.namespace, rs.metadata.name) ?? rs;
    if ((current.spec?.replicas ?? 0) === 0) return current;
    const seconds = typeof delaySeconds === 'number' ? delaySeconds : DEFAULT_SCALE_DOWN_DELAY_SECONDS;
    if (seconds === 0 && keepForeverOnZero) return current;
    const annotated = current.metadata.annotations?.[SCALE_DOWN_DEADLINE];
    const deadline = annotated ? Date.parse(annotated) : Date.now() + seconds * 1000;
    if (Number.isFinite(deadline) && deadline > Date.now()) {
      this.queue.addAfter(nsName(ro), deadline - Date.now() + 1);
      if (annotated) return current;
      return this.patchRS(current, (x) => {
        x.metadata.annotations = {
          ...(x.metadata.annotations ?? {}),
          [SCALE_DOWN_DEADLINE]: new Date(deadline).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        };
      });
    }
    return this.scale(current, 0);
  }

  /** With trafficRouting.istio, keep the VirtualService route weights in step with the canary weight. */
  private syncVirtualServices(ro: KubeObject, status: any): void {
    const canary = ro.spec.strategy?.canary ?? {};
    const istio = canary.trafficRouting?.istio;
    if (!istio || !canary.canaryService || !canary.stableService) return;
    const refs: any[] = istio.virtualServices ?? (istio.virtualService ? [istio.virtualService] : []);
    const weight: number = status.canary?.weights?.canary?.weight ?? 0;
    for (const ref of refs) {
      const vs = this.store.peek(VIRTUAL_SERVICE, ro.metadata.namespace, ref.name);
      if (!vs) continue;
      const next = structuredClone(vs);
      const routeNames: string[] | undefined = ref.routes;
      for (const route of next.spec?.http ?? []) {
        if (routeNames && routeNames.length > 0 && !routeNames.includes(route.name)) continue;
        for (const dest of route.route ?? []) {
          const host = dest.destination?.host;
          if (host === canary.canaryService) dest.weight = weight;
          else if (host === canary.stableService) dest.weight = 100 - weight;
        }
      }
      if (!deepEqual(next, vs)) this.store.update(VIRTUAL_SERVICE, next);
    }
  }
}
