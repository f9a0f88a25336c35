/**
 * Blue-green without a mesh (ServiceSelectorRouter): the Service's selector label points at one
 * color. Weights are 0/100 only: everything goes to the color the selector names, and a switch is
 * one guarded patch of that label. Gradual steps need a mesh router (Istio or the Gateway API).
 */
import type { V1Service } from '@kubernetes/client-node';
import type { KubeClient } from '../client.js';
import { KubeObjectError } from '../errors.js';
import { guardedPatch } from '../guarded-patch.js';
import { JSON_PATCH, pointer, type JsonPatchOp } from '../json-patch.js';
import { warnForeignOwners } from '../field-owners.js';
import { describeRef, type ObjectRef } from '../object-ref.js';
import type { TrafficRouter, WriteOptions } from './router.js';
import { checkWeights, formatWeights, type Destinations, type Weights } from '../weights.js';

export interface ServiceSelectorRouterOptions {
  namespace: string;
  /** The Service whose selector picks the live color. */
  name: string;
  /** The selector label that tells the colors apart, e.g. `color` or `version`. */
  label: string;
  /** The label's two values, e.g. `blue` and `green`. */
  destinations: Destinations;
}

/** One Service's selector label, switched between two colors. */
export class ServiceSelectorRouter implements TrafficRouter {
  readonly ref: ObjectRef;
  readonly destinations: Destinations;

  constructor(
    private readonly client: KubeClient,
    private readonly options: ServiceSelectorRouterOptions,
  ) {
    this.ref = { kind: 'Service', namespace: options.namespace, name: options.name };
    this.destinations = options.destinations;
    if (options.destinations[0] === options.destinations[1]) {
      throw new RangeError(`${describeRef(this.ref)}: the two selector values must differ, both are ${options.destinations[0]}`);
    }
  }

  describe(): string {
    return `${describeRef(this.ref)} selector ${this.options.label}=${this.destinations.join('|')} (all-or-nothing switch)`;
  }

  async read(): Promise<Weights> {
    return this.weightsOf(await this.get());
  }

  async write(target: Weights, options: WriteOptions = {}): Promise<Weights> {
    checkWeights(target, this.destinations, describeRef(this.ref));
    const live = this.destinations.find((d) => target[d] === 100);
    if (live === undefined) {
      throw new RangeError(
        `${describeRef(this.ref)} routes by its selector, so one color takes all traffic: weights can only be 0 or 100 (asked ${formatWeights(target)}); use a mesh router (istio or gateway) for gradual steps`,
      );
    }
    if (options.dryRun) {
      await this.read();
      return target;
    }
    const result = await guardedPatch<V1Service>({
      ref: this.ref,
      read: () => this.get(),
      resourceVersionOf: (svc) => svc.metadata?.resourceVersion,
      plan: (svc) => {
        this.weightsOf(svc); // the selector must name one of the two colors now
        if (svc.spec!.selector![this.options.label] === live) return [];
        const ops: JsonPatchOp[] = [{ op: 'replace', path: pointer('spec', 'selector', this.options.label), value: live }];
        warnForeignOwners(this.client, this.ref, svc, ops);
        return ops;
      },
      send: (ops) =>
        this.client.call('patch', this.ref, () =>
          this.client.core.patchNamespacedService({ name: this.options.name, namespace: this.options.namespace, body: ops }, JSON_PATCH),
        ),
    });
    return this.weightsOf(result.object);
  }

  private get(): Promise<V1Service> {
    return this.client.call('get', this.ref, () =>
      this.client.core.readNamespacedService({ name: this.options.name, namespace: this.options.namespace }),
    );
  }

  private weightsOf(svc: V1Service): Weights {
    const value = svc.spec?.selector?.[this.options.label];
    if (value === undefined) {
      throw new KubeObjectError(
        this.ref,
        `its selector has no label ${this.options.label} (selector: ${JSON.stringify(svc.spec?.selector ?? {})})`,
      );
    }
    const [a, b] = this.destinations;
    if (value === a) return { [a]: 100, [b]: 0 };
    if (value === b) return { [a]: 0, [b]: 100 };
    throw new KubeObjectError(this.ref, `its selector ${this.options.label}=${value} is neither ${a} nor ${b}`);
  }
}
