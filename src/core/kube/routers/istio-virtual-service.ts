/**
 * The Istio router (IstioVirtualServiceRouter): the weights of the two destinations of one HTTP
 * route of a VirtualService, two hosts (blue-green) or two subsets of one host (canary). The route
 * is found by route-lookup.ts, then by the identity the run fixed for it (route-pin.ts); with
 * subsets, the DestinationRule is checked once to define both for that host.
 */
import type { KubeClient } from '../client.js';
import {
  DESTINATION_RULE,
  VIRTUAL_SERVICE,
  atVersion,
  customRef,
  getCustomObject,
  jsonPatchCustomObject,
  type KubeObject,
} from '../custom-resources.js';
import { KubeObjectError, isNotFound } from '../errors.js';
import { guardedPatch } from '../guarded-patch.js';
import { pointer } from '../json-patch.js';
import { weightOps } from './weight-ops.js';
import { warnForeignOwners } from '../field-owners.js';
import { describeChoice, expectTwo, lookupRoute, type RouteList } from './route-lookup.js';
import { pinOf, type RoutePin, type RouteView } from './route-pin.js';
import { describeRef, type ObjectRef } from '../object-ref.js';
import type { TrafficRouter, WriteOptions } from './router.js';
import { checkWeights, type Destinations, type Weights } from '../weights.js';

export interface IstioRouterOptions {
  namespace: string;
  /** The VirtualService. */
  name: string;
  /**
   * Which entry of spec.http: its `name`, or its index. Default: the first that routes to both
   * destinations (else the first). Only read until `pin` is known.
   */
  route?: string | number;
  /**
   * The route's identity as fixed at the start of the run (see route-pin.ts): once set, the route
   * is found by it, never by position. Without it (a new run, or a journal entry written before
   * identities were recorded) the first read fixes it from `route`.
   */
  pin?: RoutePin;
  /**
   * The two destinations: two hosts (blue-green across Services or namespaces, e.g.
   * `checkout-blue.shop-blue.svc.cluster.local`) or two subsets of one host (canary `stable`/`canary`).
   */
  destinations: Destinations;
  /** Whether destinations name hosts or subsets. Default: whichever the route's destinations match. */
  by?: 'host' | 'subset';
  /** With subsets: the DestinationRule that defines them. Default: the one named like the VirtualService. */
  destinationRule?: string;
  /** e.g. `networking.istio.io/v1beta1` for meshes older than Istio 1.22. Default v1. */
  apiVersion?: string;
}

interface RouteEntry {
  destination?: { host?: string; subset?: string };
  weight?: number;
}

interface LocatedRoute {
  index: number;
  label: string;
  by: 'host' | 'subset';
  /** For each destination (in `destinations` order), its index in the route's `route` list. */
  entryIndex: [number, number];
  weights: Weights;
}

/** An Istio VirtualService HTTP route splitting traffic between two hosts or two subsets of a host. */
export class IstioVirtualServiceRouter implements TrafficRouter {
  readonly ref: ObjectRef;
  readonly destinations: Destinations;
  private readonly kind;
  private subsetsChecked = false;
  private pin: RoutePin | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: IstioRouterOptions,
  ) {
    this.kind = atVersion(VIRTUAL_SERVICE, options.apiVersion);
    this.ref = customRef(this.kind, options.namespace, options.name);
    this.destinations = options.destinations;
    this.pin = options.pin;
    if (options.destinations[0] === options.destinations[1]) {
      throw new RangeError(`${describeRef(this.ref)}: the two destinations must differ, both are ${options.destinations[0]}`);
    }
  }

  pinned(): RoutePin | undefined {
    return this.pin;
  }

  describe(): string {
    const route = describeChoice('HTTP route', this.options.route, this.pin);
    const what = this.options.by === 'subset' ? 'subsets' : this.options.by === 'host' ? 'hosts' : 'destinations';
    return `${describeRef(this.ref)} ${route}: ${what} ${this.destinations.join(' and ')}`;
  }

  async read(): Promise<Weights> {
    return this.locate(await this.getChecked()).weights;
  }

  async write(target: Weights, options: WriteOptions = {}): Promise<Weights> {
    checkWeights(target, this.destinations, describeRef(this.ref));
    if (options.dryRun) {
      await this.read();
      return target;
    }
    const result = await guardedPatch<KubeObject>({
      ref: this.ref,
      read: () => this.getChecked(),
      resourceVersionOf: (vs) => vs.metadata.resourceVersion,
      plan: (vs) => {
        const located = this.locate(vs);
        const ops = weightOps(this.destinations, target, (i) => {
          const entry = located.entryIndex[i]!;
          return {
            live: (vs.spec.http[located.index].route[entry] as RouteEntry).weight,
            path: pointer('spec', 'http', located.index, 'route', entry, 'weight'),
          };
        });
        warnForeignOwners(this.client, this.ref, vs, ops);
        return ops;
      },
      send: (ops) => jsonPatchCustomObject(this.client, this.kind, this.options.namespace, this.options.name, ops),
    });
    return this.locate(result.object).weights;
  }

  /** The VirtualService, checked to route as configured (and its DestinationRule to define the subsets). */
  private async getChecked(): Promise<KubeObject> {
    const vs = await this.get();
    await this.checkSubsets(vs, this.locate(vs));
    return vs;
  }

  private get(): Promise<KubeObject> {
    return getCustomObject(this.client, this.kind, this.options.namespace, this.options.name);
  }

  /**
   * Finds the HTTP route and its two destinations; throws KubeObjectError naming what is wrong.
   * The first success fixes the route's identity: every later call finds it by that.
   */
  private locate(vs: KubeObject): LocatedRoute {
    const { index, route, label } = lookupRoute(this.routeList(), vs.spec?.http, this.options.route, this.pin);
    const entries: RouteEntry[] = Array.isArray(route.route) ? route.route : [];
    const listed = entries.map((e) => `${e.destination?.host ?? '?'}${e.destination?.subset ? ` subset ${e.destination.subset}` : ''}`);
    expectTwo(this.ref, label, 'destination', listed, this.destinations);
    const by = this.options.by ?? this.inferBy(entries);
    const key = (e: RouteEntry) => (by === 'host' ? e.destination?.host : e.destination?.subset);
    const entryIndex = this.destinations.map((d) => entries.findIndex((e) => key(e) === d)) as [number, number];
    const missing = this.destinations.filter((_, i) => entryIndex[i]! < 0);
    if (missing.length) {
      throw new KubeObjectError(
        this.ref,
        `${label} has no destination ${by} ${missing.join(' or ')}; its destinations are ${listed.join(', ')}`,
      );
    }
    if (by === 'subset' && entries[0]!.destination?.host !== entries[1]!.destination?.host) {
      throw new KubeObjectError(
        this.ref,
        `${label}: subsets ${this.destinations.join(' and ')} must be of one host; they are of ${listed.join(', ')}`,
      );
    }
    const weights: Record<string, number> = {};
    for (const [i, d] of this.destinations.entries()) weights[d] = entries[entryIndex[i]!]!.weight ?? 0;
    const sum = Object.values(weights).reduce((s, w) => s + w, 0);
    if (sum !== 100) throw new KubeObjectError(this.ref, `${label}: weights sum to ${sum}, not 100 (${listed.join(', ')})`);
    this.pin ??= pinOf(viewOf(route));
    return { index, label, by, entryIndex, weights };
  }

  /** The VirtualService's HTTP routes as route-lookup.ts reads them. */
  private routeList(): RouteList {
    return { ref: this.ref, noun: 'HTTP route', short: 'route', path: 'spec.http', viewOf, holdsBoth: (route) => this.holdsBoth(route) };
  }

  private holdsBoth(route: unknown): boolean {
    const entries: RouteEntry[] = Array.isArray((route as { route?: unknown })?.route) ? (route as { route: RouteEntry[] }).route : [];
    const by = this.options.by ?? this.inferBy(entries);
    return this.destinations.every((d) => entries.some((e) => (by === 'host' ? e.destination?.host : e.destination?.subset) === d));
  }

  private inferBy(entries: RouteEntry[]): 'host' | 'subset' {
    const matches = (by: 'host' | 'subset') =>
      this.destinations.every((d) => entries.some((e) => (by === 'host' ? e.destination?.host : e.destination?.subset) === d));
    if (matches('subset')) return 'subset';
    return 'host';
  }

  /** With subsets, the DestinationRule must define both (checked once per router). */
  private async checkSubsets(vs: KubeObject, located: LocatedRoute): Promise<void> {
    if (located.by !== 'subset' || this.subsetsChecked) return;
    const drKind = atVersion(DESTINATION_RULE, this.options.apiVersion);
    const drName = this.options.destinationRule ?? this.options.name;
    const drRef = customRef(drKind, this.options.namespace, drName);
    const host: string = vs.spec.http[located.index].route[located.entryIndex[0]].destination.host;
    let dr: KubeObject;
    try {
      dr = await getCustomObject(this.client, drKind, this.options.namespace, drName);
    } catch (error) {
      if (isNotFound(error)) {
        throw new KubeObjectError(
          drRef,
          `not found; ${located.label} of ${describeRef(this.ref)} routes to subsets ${this.destinations.join(' and ')} of ${host}, which a DestinationRule must define`,
        );
      }
      throw error;
    }
    const drHost: string = dr.spec?.host ?? '';
    if (!sameHost(drHost, host, this.options.namespace)) {
      throw new KubeObjectError(
        drRef,
        `is for host ${drHost || '(none)'}, but ${located.label} of ${describeRef(this.ref)} routes to ${host}`,
      );
    }
    const subsets: string[] = Array.isArray(dr.spec?.subsets) ? dr.spec.subsets.map((s: { name?: string }) => s?.name) : [];
    const missing = this.destinations.filter((d) => !subsets.includes(d));
    if (missing.length) {
      throw new KubeObjectError(
        drRef,
        `defines no subset ${missing.join(' or ')} (it defines ${subsets.join(', ') || 'none'}), used by ${located.label} of ${describeRef(this.ref)}`,
      );
    }
    this.subsetsChecked = true;
  }
}

/** An HTTP route as route-pin sees it: each destination as `host` or `host/subset`. */
function viewOf(route: unknown): RouteView {
  const r = (route ?? {}) as { name?: string; match?: unknown; route?: RouteEntry[] };
  const entries = Array.isArray(r.route) ? r.route : [];
  return {
    ...(r.name ? { name: r.name } : {}),
    destinations: entries.map((e) => `${e.destination?.host ?? '?'}${e.destination?.subset ? `/${e.destination.subset}` : ''}`),
    ...(r.match === undefined ? {} : { match: r.match }),
  };
}

/** `checkout`, `checkout.shop` and `checkout.shop.svc.cluster.local` are one host seen from namespace shop. */
function sameHost(a: string, b: string, namespace: string): boolean {
  const full = (h: string) => {
    const parts = h.split('.');
    if (parts.length === 1) return `${h}.${namespace}.svc.cluster.local`;
    if (parts.length === 2) return `${h}.svc.cluster.local`;
    return h;
  };
  return full(a) === full(b);
}
