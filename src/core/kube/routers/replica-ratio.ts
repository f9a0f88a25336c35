/**
 * Canary without a mesh (ReplicaRatioRouter): the Service spreads requests over the pods of both
 * Deployments, so the canary's share is approximated by its share of the pods. Weights are keyed by
 * Deployment name; the achieved split is what `write` returns. The Deployment that grows is scaled
 * before the one that shrinks, so serving capacity never dips.
 */
import type { KubeClient } from '../client.js';
import { readDeployment, scaleDeployment } from '../deployment.js';
import { KubeObjectError } from '../errors.js';
import type { ObjectRef } from '../object-ref.js';
import type { TrafficRouter, WriteOptions } from './router.js';
import { checkWeights, formatWeights, type Destinations, type Weights } from '../weights.js';

export interface ReplicaRatioRouterOptions {
  namespace: string;
  /** The stable Deployment. */
  stable: string;
  /** The canary Deployment (same Service selector, so traffic splits by pod count). */
  canary: string;
  /** Pods to share out. Default: the two Deployments' replicas now (at least 1). */
  totalReplicas?: number;
}

/**
 * Two Deployments behind one Service, split by their replicas. Of two or more pods, a weight below
 * 100 leaves stable one and a weight above 0 gives the canary one.
 */
export class ReplicaRatioRouter implements TrafficRouter {
  readonly ref: ObjectRef;
  readonly destinations: Destinations;
  private lastAsked: Weights | undefined;
  private lastAchieved: Weights | undefined;
  private lastPods: [number, number] | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: ReplicaRatioRouterOptions,
  ) {
    this.ref = { kind: 'Deployment', namespace: options.namespace, name: options.canary };
    this.destinations = [options.stable, options.canary];
    if (options.stable === options.canary)
      throw new RangeError(`replica ratio: stable and canary must be two Deployments, both are ${options.stable}`);
  }

  describe(): string {
    const base = `replica ratio of Deployments ${this.options.namespace}/${this.options.stable} (stable) and ${this.options.namespace}/${this.options.canary} (canary), approximate`;
    if (!this.lastAchieved || !this.lastPods) return base;
    const [s, c] = this.lastPods;
    const asked = this.lastAsked ? `asked ${formatWeights(this.lastAsked)}, ` : '';
    return `${base}: ${asked}achieved ${formatWeights(this.lastAchieved)} with ${c} of ${s + c} pods on the canary`;
  }

  async read(): Promise<Weights> {
    const [s, c] = await this.replicas();
    return this.achieved(s, c);
  }

  async write(target: Weights, options: WriteOptions = {}): Promise<Weights> {
    checkWeights(target, this.destinations, `replica ratio ${this.options.namespace}/${this.options.stable}+${this.options.canary}`);
    const [s, c] = await this.replicas();
    const total = this.options.totalReplicas ?? Math.max(1, s + c);
    const canaryWeight = target[this.options.canary]!;
    let canaryPods = Math.round((total * canaryWeight) / 100);
    if (canaryWeight > 0 && canaryPods === 0) canaryPods = 1;
    if (canaryWeight < 100 && canaryPods === total) canaryPods = total - 1;
    const stablePods = Math.max(0, total - canaryPods);
    this.lastAsked = target;
    if (options.dryRun) return this.achieved(stablePods, canaryPods);
    return this.scaleTo(stablePods, canaryPods, c);
  }

  /** The replica counts behind the weights, by Deployment name: what an undo puts back exactly. */
  async pods(): Promise<Record<string, number>> {
    const [s, c] = await this.replicas();
    return { [this.options.stable]: s, [this.options.canary]: c };
  }

  /** Puts recorded replica counts back (scaling up before down, so serving capacity never dips); returns the weights they give. */
  async restorePods(pods: Record<string, number>): Promise<Weights> {
    const [s, c] = await this.replicas();
    return this.scaleTo(pods[this.options.stable] ?? s, pods[this.options.canary] ?? c, c);
  }

  /** Scales both Deployments, the one growing first, so serving capacity never dips; returns the weights the pods give. */
  private async scaleTo(stable: number, canary: number, canaryNow: number): Promise<Weights> {
    const order =
      canary >= canaryNow
        ? ([
            [this.options.canary, canary],
            [this.options.stable, stable],
          ] as const)
        : ([
            [this.options.stable, stable],
            [this.options.canary, canary],
          ] as const);
    for (const [name, replicas] of order) await scaleDeployment(this.client, { namespace: this.options.namespace, name, replicas });
    return this.achieved(stable, canary);
  }

  private async replicas(): Promise<[number, number]> {
    const [stable, canary] = await Promise.all(
      [this.options.stable, this.options.canary].map((name) => readDeployment(this.client, { namespace: this.options.namespace, name })),
    );
    return [stable!.spec?.replicas ?? 1, canary!.spec?.replicas ?? 1];
  }

  private achieved(stablePods: number, canaryPods: number): Weights {
    const total = stablePods + canaryPods;
    if (total === 0) {
      throw new KubeObjectError(this.ref, `and ${this.options.stable} both have 0 replicas: no pod takes traffic`);
    }
    const canary = Math.round((canaryPods * 100) / total);
    this.lastPods = [stablePods, canaryPods];
    this.lastAchieved = { [this.options.stable]: 100 - canary, [this.options.canary]: canary };
    return this.lastAchieved;
  }
}
