/**
 * The router of an Argo Rollouts canary (ArgoRolloutRouter): the traffic moves through the
 * controller, driven by ArgoRollout: 0 aborts, 100 promotes fully, any other weight promotes to the
 * step ahead that sets it, and `write` waits for the controller to apply it. Weights are keyed
 * `stable` and `canary`.
 */
import { ArgoRollout, type ArgoRolloutStatus } from '../argo-rollout.js';
import type { KubeClient } from '../client.js';
import { describeRef, type ObjectRef } from '../object-ref.js';
import type { TrafficRouter, WriteOptions } from './router.js';
import { checkWeights, type Destinations, type Weights } from '../weights.js';

export interface ArgoRolloutRouterOptions {
  namespace: string;
  /** The Rollout. */
  name: string;
  /** How long `write` waits for the controller to apply a weight. Default 2 minutes. */
  settleTimeoutMs?: number;
}

/** The canary weight of one Rollout, read from its status and written by promoting or aborting it. */
export class ArgoRolloutRouter implements TrafficRouter {
  readonly ref: ObjectRef;
  readonly destinations: Destinations = ['stable', 'canary'];
  readonly rollout: ArgoRollout;

  constructor(
    client: KubeClient,
    private readonly options: ArgoRolloutRouterOptions,
  ) {
    this.rollout = new ArgoRollout(client, options.namespace, options.name);
    this.ref = this.rollout.ref;
  }

  describe(): string {
    return `${describeRef(this.ref)} canary steps (the Argo Rollouts controller moves the traffic)`;
  }

  async read(): Promise<Weights> {
    return weightsOf(await this.rollout.status());
  }

  async write(target: Weights, options: WriteOptions = {}): Promise<Weights> {
    checkWeights(target, this.destinations, describeRef(this.ref));
    const canary = target.canary!;
    const now = await this.rollout.status();
    if (options.dryRun || weightsOf(now).canary === canary) return options.dryRun ? target : weightsOf(now);
    if (canary === 0) await this.rollout.abort();
    else if (canary === 100) await this.rollout.promote({ full: true });
    else await this.rollout.promoteToWeight(canary);
    const settled = await this.rollout
      .waitFor(canary === 100 ? 'healthy' : 'paused', {
        timeoutMs: this.options.settleTimeoutMs ?? 120_000,
      })
      .catch(async (error: unknown) => {
        // An abort ends Degraded by design: that is the 0% we asked for.
        if (canary === 0) return this.rollout.status();
        throw error;
      });
    // Fully promoted, the canary's version has become the stable one and takes all traffic.
    return canary === 100 ? target : weightsOf(settled);
  }
}

/** A fully promoted Rollout sends everything to its (new) stable ReplicaSet: canary 0. */
function weightsOf(s: ArgoRolloutStatus): Weights {
  const canary = s.currentPodHash !== undefined && s.currentPodHash === s.stableRS ? 0 : s.actualWeight;
  return { stable: 100 - canary, canary };
}
