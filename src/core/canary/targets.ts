/**
 * What the canary walk moves, whatever the router: the canary workload, the traffic split and the
 * stable workload. Two kinds:
 *
 *  - DeploymentCanary (routing istio, gateway, replicaRatio): two Deployments. We set the canary's
 *    image, scale it up, move the router's weights step by step, then give the stable Deployment
 *    the image, send all traffic back to it and scale the canary to 0.
 *  - ArgoCanary (routing argo): an Argo Rollout, whose controller moves the traffic. Our steps are
 *    mapped onto the Rollout's own: each of our `setWeight: N` promotes the Rollout to its step that
 *    sets N, which must be followed by an indefinite `pause: {}` so the controller waits there
 *    while we hold and analyse; our pauses and analyses are ours. Promotion is `promote --full`,
 *    an abort is `abort` (the Rollout keeps the new template, as `kubectl argo rollouts abort` does).
 *
 * Every write goes through `session.change`, so it is journaled before it is made, skipped when
 * this run (and this canary) already made it, and only planned in a dry run. Journal step names
 * carry the canary's id: a later canary started by the same run id is a new set of steps.
 */
import type { DeliverySession } from '../delivery/session.js';
import { createRouter, recordedSpec, type RouterSpec } from '../kube/routers/factory.js';
import { ArgoRollout, argoRolloutStatus, describeScaleDown } from '../kube/argo-rollout.js';
import { readyPodsOf, requireReadyPods } from '../kube/ready-pods.js';
import { ReplicaRatioRouter } from '../kube/routers/replica-ratio.js';
import type { KubeClient } from '../kube/client.js';
import { findContainer, readDeployment, scaleDeployment, setDeploymentImage, waitForDeploymentRollout } from '../kube/deployment.js';
import type { ObjectRef } from '../kube/object-ref.js';
import type { Change } from '../kube/journal.js';
import type { TrafficRouter } from '../kube/routers/router.js';
import { formatWeights, sameWeights, splitWeights, type Weights } from '../kube/weights.js';
import { InputError } from '../config/input-error.js';
import type { CanaryConfig } from './config.js';

export interface CanaryTarget {
  readonly router: TrafficRouter;
  readonly routerSpec: RouterSpec;
  /** The object the run acts on for messages: the canary Deployment, or the Rollout. */
  readonly workloadRef: ObjectRef;
  /** Reads and checks the live objects against the config (no writes); returns the stable image and the resolved container. */
  inspect(container: string | undefined): Promise<{ stableImage: string; canaryImage: string; container: string; canaryWeight: number }>;
  canaryWeight(weights: Weights): number;
  /** Deploys the canary with `image` and waits until it is ready, before any traffic moves. */
  deployCanary(run: TargetRun, image: string): Promise<void>;
  /** Sets the canary weight of step `index`; returns the weight now live (approximate for replica ratio). */
  setWeight(run: TargetRun, index: number, weight: number): Promise<number>;
  /** Stable gets the image and rolls out, traffic back to 100% stable, canary scaled to 0. */
  promote(run: TargetRun, image: string): Promise<void>;
  /** Traffic back to 100% stable, canary scaled to 0. */
  abort(run: TargetRun): Promise<void>;
  /**
   * Reads the objects back after a promote (stable runs `image`, all traffic on stable, canary at 0)
   * or an abort (all traffic on stable, canary at 0): the differences, in words; empty when they match.
   */
  verify(end: 'promoted' | 'aborted', image: string): Promise<string[]>;
  /**
   * After a verified end: what still runs though no traffic goes to it, in words (an Argo Rollout's
   * previous stable kept for scaleDownDelaySeconds, an aborted canary for abortScaleDownDelaySeconds).
   */
  leftRunning?(): Promise<string[]>;
}

/** What a target needs from the run: the session, the canary's id for step names, and the rollout wait. */
export interface TargetRun {
  session: DeliverySession;
  canaryId: string;
  container: string;
  rolloutTimeoutMs: number;
}

export function createTarget(client: KubeClient, config: CanaryConfig, namespace: string, rolloutTimeoutMs: number): CanaryTarget {
  if (config.routing.argo) return new ArgoCanary(client, namespace, config, rolloutTimeoutMs);
  return new DeploymentCanary(client, namespace, config);
}

const stepName = (run: TargetRun, name: string) => `${name}#${run.canaryId}`;

export function routerSpecOf(config: CanaryConfig, namespace: string, rolloutTimeoutMs: number): RouterSpec {
  const { routing, workloads } = config;
  if (routing.istio) {
    const r = routing.istio;
    return {
      type: 'istio',
      namespace,
      name: r.virtualService,
      ...(r.route !== undefined ? { route: r.route } : {}),
      destinations: [r.stableSubset, r.canarySubset],
      by: 'subset',
      ...(r.destinationRule ? { destinationRule: r.destinationRule } : {}),
      ...(r.apiVersion ? { apiVersion: r.apiVersion } : {}),
    };
  }
  if (routing.gateway) {
    const r = routing.gateway;
    return {
      type: 'gateway',
      namespace,
      name: r.httpRoute,
      ...(r.rule !== undefined ? { rule: r.rule } : {}),
      destinations: [r.stableBackend, r.canaryBackend],
    };
  }
  if (routing.replicaRatio) {
    return {
      type: 'replica-ratio',
      namespace,
      stable: workloads!.stable,
      canary: workloads!.canary,
      ...(routing.replicaRatio.totalReplicas ? { totalReplicas: routing.replicaRatio.totalReplicas } : {}),
    };
  }
  return { type: 'argo', namespace, name: routing.argo!.rollout, settleTimeoutMs: rolloutTimeoutMs };
}

class DeploymentCanary implements CanaryTarget {
  /** Fixed on its route by its first read; a canary started by an earlier run takes the route that run recorded. */
  router: TrafficRouter;
  readonly workloadRef: ObjectRef;
  private readonly spec: RouterSpec;
  private routeAdopted = false;
  private readonly stable: { namespace: string; name: string };
  private readonly canary: { namespace: string; name: string };
  /** The container the run sets (empty: the first), for the read-back after a promote. */
  private containerName: string | undefined;

  constructor(
    private readonly client: KubeClient,
    namespace: string,
    private readonly config: CanaryConfig,
  ) {
    this.spec = routerSpecOf(config, namespace, 0);
    this.router = createRouter(client, this.spec);
    this.stable = { namespace, name: config.workloads!.stable };
    this.canary = { namespace, name: config.workloads!.canary };
    this.workloadRef = { kind: 'Deployment', ...this.canary };
  }

  /** The spec the journal records: with the route's identity. */
  get routerSpec(): RouterSpec {
    return recordedSpec(this.spec, this.router);
  }

  canaryWeight(weights: Weights): number {
    return weights[this.router.destinations[1]] ?? 0;
  }

  /**
   * Before this run's first traffic write: when this canary (started by this run or an earlier
   * one) recorded its route's identity, use that route, not the one this run's first read found,
   * so a route inserted in front since the canary started does not move it.
   */
  private async adoptRecordedRoute(run: TargetRun): Promise<void> {
    if (this.routeAdopted) return;
    const entries = await run.session.journal.entries();
    const recorded = entries.findLast(
      (e) => e.step.endsWith(`#${run.canaryId}`) && e.change.kind === 'traffic' && 'pin' in e.change.router && e.change.router.pin,
    );
    const pin = recorded?.change.kind === 'traffic' && 'pin' in recorded.change.router ? recorded.change.router.pin : undefined;
    if (pin && (this.spec.type === 'istio' || this.spec.type === 'gateway')) this.router = createRouter(this.client, { ...this.spec, pin });
    this.routeAdopted = true;
  }

  async inspect(container: string | undefined) {
    const [stable, canary] = await Promise.all([readDeployment(this.client, this.stable), readDeployment(this.client, this.canary)]);
    const stableContainer = findContainer({ kind: 'Deployment', ...this.stable }, stable.spec?.template, container);
    const canaryContainer = findContainer(this.workloadRef, canary.spec?.template, stableContainer.name);
    const weights = await this.router.read();
    return {
      stableImage: stableContainer.image,
      canaryImage: canaryContainer.image,
      container: stableContainer.name,
      canaryWeight: this.canaryWeight(weights),
    };
  }

  async deployCanary(run: TargetRun, image: string): Promise<void> {
    const { session } = run;
    const live = await readDeployment(this.client, this.canary);
    const current = findContainer(this.workloadRef, live.spec?.template, run.container);
    const imageChange: Change = { kind: 'image', container: current.name, previous: { image: current.image }, next: { image } };
    const setImage = (replicas?: number) => setDeploymentImage(this.client, { ...this.canary, image, container: current.name, replicas });
    // Replica ratio brings the canary's pods with the first weight.
    const replicas = this.config.routing.replicaRatio
      ? undefined
      : (this.config.workloads!.canaryReplicas ?? Math.max(1, (await readDeployment(this.client, this.stable)).spec?.replicas ?? 1));
    const liveReplicas = live.spec?.replicas ?? 1;
    if (replicas !== undefined && liveReplicas !== replicas && current.image !== image && !session.dryRun) {
      // Image and replicas in one write, each journaled: the canary's pods come up as a rollout of
      // the new template, so a canary that never becomes ready fails at its progress deadline
      // instead of waiting out rollout-timeout (a bare scale-up of a finished Deployment is not a rollout).
      const scaleChange: Change = { kind: 'scale', previous: { replicas: liveReplicas }, next: { replicas } };
      await session.change(stepName(run, 'canary-image'), this.workloadRef, imageChange, () =>
        session.change(stepName(run, 'canary-scale-up'), this.workloadRef, scaleChange, () => setImage(replicas)),
      );
    } else {
      await session.change(stepName(run, 'canary-image'), this.workloadRef, imageChange, () => setImage());
      if (replicas !== undefined) await this.scale(run, 'canary-scale-up', this.canary, replicas);
    }
    if (!session.dryRun) await this.waitReady(run, this.canary);
  }

  async setWeight(run: TargetRun, index: number, weight: number): Promise<number> {
    await this.adoptRecordedRoute(run);
    const next = splitWeights(this.router.destinations, weight);
    const previous = await this.router.read();
    // Replica ratio brings the canary's pods with the weight (and waits for them below).
    if (weight > 0 && !this.config.routing.replicaRatio && !run.session.dryRun)
      await requireReadyPods(this.client, this.canary, `${weight}% of traffic`);
    const done = await run.session.change(
      stepName(run, `step-${index}-weight-${weight}`),
      this.router.ref,
      await this.trafficChange(previous, next),
      () => this.router.write(next),
    );
    if (run.session.dryRun) return weight;
    // Replica ratio moves traffic by moving pods: the step holds only once they are ready.
    if (this.config.routing.replicaRatio) await this.waitReady(run, this.canary);
    return this.canaryWeight(done.result ?? (await this.router.read()));
  }

  async promote(run: TargetRun, image: string): Promise<void> {
    const { session } = run;
    this.containerName = run.container;
    const live = await readDeployment(this.client, this.stable);
    const current = findContainer({ kind: 'Deployment', ...this.stable }, live.spec?.template, run.container);
    await session.change(
      stepName(run, 'promote-stable-image'),
      { kind: 'Deployment', ...this.stable },
      { kind: 'image', container: current.name, previous: { image: current.image }, next: { image } },
      () => setDeploymentImage(this.client, { ...this.stable, image, container: current.name }),
    );
    if (!session.dryRun) await this.waitReady(run, this.stable);
    await this.trafficToStable(run, 'promote-traffic');
    if (!session.dryRun && this.config.routing.replicaRatio) await this.waitReady(run, this.stable);
    await this.scale(run, 'promote-canary-scale-down', this.canary, 0);
  }

  async abort(run: TargetRun): Promise<void> {
    await this.trafficToStable(run, 'abort-traffic');
    await this.scale(run, 'abort-canary-scale-down', this.canary, 0);
  }

  private async trafficToStable(run: TargetRun, step: string): Promise<void> {
    await this.adoptRecordedRoute(run);
    const next = splitWeights(this.router.destinations, 0);
    const previous = await this.router.read();
    if (sameWeights(previous, next)) {
      await settleLeftEntry(run, step, (change) => change.kind === 'traffic' && sameWeights(change.next, next));
      return;
    }
    await run.session.change(stepName(run, step), this.router.ref, await this.trafficChange(previous, next), () => this.router.write(next));
  }

  /** A traffic change as journaled; a replica ratio also records the pod counts it found, which an undo puts back exactly. */
  private async trafficChange(previous: Weights, next: Weights): Promise<Change> {
    const pods = this.router instanceof ReplicaRatioRouter ? { previous: await this.router.pods() } : undefined;
    return { kind: 'traffic', router: this.routerSpec, previous, next, ...(pods ? { pods } : {}) };
  }

  async verify(end: 'promoted' | 'aborted', image: string): Promise<string[]> {
    const differences: string[] = [];
    const weights = await this.router.read();
    const expected = splitWeights(this.router.destinations, 0);
    if (!sameWeights(weights, expected))
      differences.push(`${this.router.describe()} routes ${formatWeights(weights)}, expected ${formatWeights(expected)}`);
    const [stable, canary] = await Promise.all([readDeployment(this.client, this.stable), readDeployment(this.client, this.canary)]);
    if ((canary.spec?.replicas ?? 1) !== 0)
      differences.push(`Deployment ${this.canary.namespace}/${this.canary.name} has ${canary.spec?.replicas ?? 1} replicas, expected 0`);
    if (readyPodsOf(stable) === 0)
      differences.push(`Deployment ${this.stable.namespace}/${this.stable.name} has 0 ready pods, and it takes all traffic`);
    if (end === 'promoted') {
      const running = findContainer({ kind: 'Deployment', ...this.stable }, stable.spec?.template, this.containerName).image;
      if (running !== image) differences.push(`Deployment ${this.stable.namespace}/${this.stable.name} runs ${running}, expected ${image}`);
    }
    return differences;
  }

  private async scale(run: TargetRun, step: string, d: { namespace: string; name: string }, replicas: number): Promise<void> {
    const live = await readDeployment(this.client, d);
    const previous = live.spec?.replicas ?? 1;
    if (previous === replicas) {
      await settleLeftEntry(run, step, (change) => change.kind === 'scale' && change.next.replicas === replicas);
      return;
    }
    await run.session.change(
      stepName(run, step),
      { kind: 'Deployment', ...d },
      { kind: 'scale', previous: { replicas: previous }, next: { replicas } },
      () => scaleDeployment(this.client, { ...d, replicas }),
    );
  }

  private async waitReady(run: TargetRun, d: { namespace: string; name: string }): Promise<void> {
    await waitForDeploymentRollout(this.client, d, {
      timeoutMs: run.rolloutTimeoutMs,
      signal: run.session.signal,
      onProgress: (message) => run.session.reporter.debug(`${d.namespace}/${d.name}: ${message}`),
    });
  }
}

class ArgoCanary implements CanaryTarget {
  readonly router: TrafficRouter;
  readonly routerSpec: RouterSpec;
  readonly workloadRef: ObjectRef;
  private readonly rollout: ArgoRollout;

  constructor(
    client: KubeClient,
    namespace: string,
    private readonly config: CanaryConfig,
    private readonly rolloutTimeoutMs: number,
  ) {
    this.routerSpec = routerSpecOf(config, namespace, rolloutTimeoutMs);
    this.router = createRouter(client, this.routerSpec);
    this.rollout = new ArgoRollout(client, namespace, config.routing.argo!.rollout);
    this.workloadRef = this.rollout.ref;
  }

  canaryWeight(weights: Weights): number {
    return weights.canary ?? 0;
  }

  async inspect(container: string | undefined) {
    const ro = await this.rollout.get();
    const found = findContainer(this.workloadRef, ro.spec?.template, container);
    this.checkSteps(ro.spec?.strategy?.canary?.steps);
    const weights = await this.router.read();
    return { stableImage: found.image, canaryImage: found.image, container: found.name, canaryWeight: this.canaryWeight(weights) };
  }

  /** Each of our setWeight steps needs a Rollout step setting that weight, followed by `pause: {}`. */
  private checkSteps(steps: unknown): void {
    const theirs: { setWeight?: unknown; pause?: { duration?: unknown } }[] = Array.isArray(steps) ? steps : [];
    const listed = theirs
      .map((s) =>
        s.setWeight !== undefined
          ? `setWeight ${s.setWeight}`
          : s.pause !== undefined
            ? s.pause?.duration !== undefined
              ? `pause ${s.pause.duration}`
              : 'pause {}'
            : 'other',
      )
      .join(', ');
    const problems: string[] = [];
    this.config.steps.forEach((step, i) => {
      if (step.kind !== 'setWeight') return;
      const at = theirs.findIndex((s) => Number(s.setWeight) === step.weight);
      if (at < 0) problems.push(`steps.${i}.setWeight (${step.weight}): the Rollout has no step setting ${step.weight}`);
      else if (!(theirs[at + 1]?.pause !== undefined && theirs[at + 1]?.pause?.duration === undefined) && step.weight !== 100) {
        problems.push(
          `steps.${i}.setWeight (${step.weight}): the Rollout's setWeight ${step.weight} (its step ${at}) must be followed by pause: {} so the controller waits while this action holds and analyses`,
        );
      }
    });
    if (problems.length) {
      throw new InputError(
        `config ${this.config.source} does not match ${this.workloadRef.kind} ${this.workloadRef.namespace}/${this.workloadRef.name} (its steps: ${listed || 'none'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
  }

  async deployCanary(run: TargetRun, image: string): Promise<void> {
    const { session } = run;
    const ro = await this.rollout.get();
    const current = findContainer(this.workloadRef, ro.spec?.template, run.container);
    await session.change(
      stepName(run, 'canary-image'),
      this.workloadRef,
      { kind: 'image', container: current.name, previous: { image: current.image }, next: { image } },
      () => this.rollout.setImage(image, current.name),
    );
    if (session.dryRun) return;
    // The controller brings up the canary and stops at the Rollout's first pause.
    await this.rollout.waitFor('paused', {
      timeoutMs: this.rolloutTimeoutMs,
      signal: session.signal,
      onProgress: (m) => session.reporter.debug(`${this.workloadRef.name}: ${m}`),
    });
  }

  async setWeight(run: TargetRun, index: number, weight: number): Promise<number> {
    const before = await this.rollout.status();
    const done = await run.session.change(
      stepName(run, `step-${index}-weight-${weight}`),
      this.workloadRef,
      { kind: 'argo', action: 'promote', previous: { stepIndex: before.stepIndex, weight: before.actualWeight }, next: { weight } },
      () => this.router.write(splitWeights(this.router.destinations, weight)),
    );
    if (run.session.dryRun) return weight;
    return this.canaryWeight(done.result ?? (await this.router.read()));
  }

  async promote(run: TargetRun): Promise<void> {
    const before = await this.rollout.status();
    await run.session.change(
      stepName(run, 'promote-full'),
      this.workloadRef,
      {
        kind: 'argo',
        action: 'promote-full',
        previous: { stepIndex: before.stepIndex, weight: before.actualWeight },
        next: { weight: 100 },
      },
      () => this.router.write(splitWeights(this.router.destinations, 100)),
    );
  }

  async verify(end: 'promoted' | 'aborted', image: string): Promise<string[]> {
    const differences: string[] = [];
    const ro = await this.rollout.get();
    const status = argoRolloutStatus(ro);
    const ref = `${this.workloadRef.kind} ${this.workloadRef.namespace}/${this.workloadRef.name}`;
    if (end === 'promoted') {
      const running = findContainer(this.workloadRef, ro.spec?.template, undefined).image;
      if (running !== image) differences.push(`${ref} specifies ${running}, expected ${image}`);
      if (status.currentPodHash !== status.stableRS)
        differences.push(
          `${ref}: its stable ReplicaSet (${status.stableRS ?? 'none'}) is not the one running ${image} (${status.currentPodHash ?? 'none'})`,
        );
    } else if (!status.aborted && status.currentPodHash !== status.stableRS) {
      differences.push(`${ref} is neither aborted nor back on its stable ReplicaSet (phase ${status.phase})`);
    }
    if (status.actualWeight !== 0 && !(end === 'promoted' && status.currentPodHash === status.stableRS))
      differences.push(`${ref} sends ${status.actualWeight}% to the canary, expected 0%`);
    return differences;
  }

  async leftRunning(): Promise<string[]> {
    return (await this.rollout.scaleDowns()).map((s) => describeScaleDown(this.workloadRef.namespace, s));
  }

  async abort(run: TargetRun): Promise<void> {
    const before = await this.rollout.status();
    // Nothing to abort: already aborted, or no canary (the stable ReplicaSet runs the template).
    if (before.aborted || before.currentPodHash === before.stableRS) return;
    await run.session.change(
      stepName(run, 'abort'),
      this.workloadRef,
      { kind: 'argo', action: 'abort', previous: { stepIndex: before.stepIndex, weight: before.actualWeight }, next: { weight: 0 } },
      () => this.router.write(splitWeights(this.router.destinations, 0)),
    );
  }
}

/**
 * A step found already done on the cluster, so not written again: if this run recorded it as
 * planned (its process was killed between the write and the journal's mark), the write is there,
 * so mark the entry applied. Skipping it silently would leave a planned entry that is never settled
 * (and never trimmed from the journal).
 */
async function settleLeftEntry(run: TargetRun, step: string, done: (change: Change) => boolean): Promise<void> {
  if (run.session.dryRun) return;
  const id = `${run.session.runId}/${stepName(run, step)}`;
  const left = (await run.session.journal.entries()).find((e) => e.id === id && e.status === 'planned');
  if (left && done(left.change)) await run.session.journal.markApplied(id);
}
