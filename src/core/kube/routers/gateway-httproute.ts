/**
 * The Gateway API router (HttpRouteRouter): the weights of the two backendRefs of one rule of an
 * HTTPRoute. Gateway API weights are proportions (a missing weight is 1); this router reads them as
 * percentages and writes percentages. The rule is found by route-lookup.ts, then by the identity
 * the run fixed for it (route-pin.ts).
 */
import type { KubeClient } from '../client.js';
import { HTTP_ROUTE, customRef, getCustomObject, jsonPatchCustomObject, type KubeObject } from '../custom-resources.js';
import { KubeObjectError } from '../errors.js';
import { guardedPatch } from '../guarded-patch.js';
import { pointer } from '../json-patch.js';
import { weightOps } from './weight-ops.js';
import { warnForeignOwners } from '../field-owners.js';
import { describeChoice, expectTwo, lookupRoute, type RouteList } from './route-lookup.js';
import { pinOf, type RoutePin, type RouteView } from './route-pin.js';
import { describeRef, type ObjectRef } from '../object-ref.js';
import type { TrafficRouter, WriteOptions } from './router.js';
import { checkWeights, toPercentages, type Destinations, type Weights } from '../weights.js';

export interface HttpRouteRouterOptions {
  namespace: string;
  /** The HTTPRoute. */
  name: string;
  /**
   * Which of spec.rules: its `name` (Gateway API 1.2+), or its index. Default: the first with
   * both backendRefs (else the first). Only read until `pin` is known.
   */
  rule?: string | number;
  /** The rule's identity as fixed at the start of the run (see route-pin.ts): once set, the rule is found by it, never by position. */
  pin?: RoutePin;
  /** The names of the two backendRefs (Services) of that rule. */
  destinations: Destinations;
}

interface BackendRef {
  name?: string;
  namespace?: string;
  weight?: number;
}

interface LocatedRule {
  index: number;
  label: string;
  refIndex: [number, number];
  /** The live weights as the rule has them (Gateway API proportions; a missing weight means 1). */
  raw: [number | undefined, number | undefined];
}

/** One rule of one HTTPRoute, split between two backendRefs (Services). */
export class HttpRouteRouter implements TrafficRouter {
  readonly ref: ObjectRef;
  readonly destinations: Destinations;
  private pin: RoutePin | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: HttpRouteRouterOptions,
  ) {
    this.ref = customRef(HTTP_ROUTE, options.namespace, options.name);
    this.destinations = options.destinations;
    this.pin = options.pin;
    if (options.destinations[0] === options.destinations[1]) {
      throw new RangeError(`${describeRef(this.ref)}: the two backendRefs must differ, both are ${options.destinations[0]}`);
    }
  }

  pinned(): RoutePin | undefined {
    return this.pin;
  }

  describe(): string {
    const rule = describeChoice('rule', this.options.rule, this.pin);
    return `${describeRef(this.ref)} ${rule}: backendRefs ${this.destinations.join(' and ')}`;
  }

  async read(): Promise<Weights> {
    return this.weightsOf(this.locate(await this.get()));
  }

  async write(target: Weights, options: WriteOptions = {}): Promise<Weights> {
    checkWeights(target, this.destinations, describeRef(this.ref));
    if (options.dryRun) {
      await this.read();
      return target;
    }
    const result = await guardedPatch<KubeObject>({
      ref: this.ref,
      read: () => this.get(),
      resourceVersionOf: (route) => route.metadata.resourceVersion,
      plan: (route) => {
        const located = this.locate(route);
        const ops = weightOps(this.destinations, target, (i) => ({
          live: located.raw[i],
          path: pointer('spec', 'rules', located.index, 'backendRefs', located.refIndex[i]!, 'weight'),
        }));
        warnForeignOwners(this.client, this.ref, route, ops);
        return ops;
      },
      send: (ops) => jsonPatchCustomObject(this.client, HTTP_ROUTE, this.options.namespace, this.options.name, ops),
    });
    return this.weightsOf(this.locate(result.object));
  }

  private get(): Promise<KubeObject> {
    return getCustomObject(this.client, HTTP_ROUTE, this.options.namespace, this.options.name);
  }

  /** Finds the rule and its two backendRefs; the first success fixes the rule's identity for every later call. */
  private locate(route: KubeObject): LocatedRule {
    const { index, route: rule, label } = lookupRoute(this.routeList(), route.spec?.rules, this.options.rule, this.pin);
    const refs: BackendRef[] = Array.isArray(rule.backendRefs) ? rule.backendRefs : [];
    const listed = refs.map((r) => r.name ?? '?');
    expectTwo(this.ref, label, 'backendRef', listed, this.destinations);
    const refIndex = this.destinations.map((d) => refs.findIndex((r) => r.name === d)) as [number, number];
    const missing = this.destinations.filter((_, i) => refIndex[i]! < 0);
    if (missing.length)
      throw new KubeObjectError(this.ref, `${label} has no backendRef ${missing.join(' or ')}; its backendRefs are ${listed.join(', ')}`);
    const raw = refIndex.map((i) => refs[i]!.weight) as [number | undefined, number | undefined];
    this.pin ??= pinOf(viewOf(rule));
    return { index, label, refIndex, raw };
  }

  /** The HTTPRoute's rules as route-lookup.ts reads them. */
  private routeList(): RouteList {
    return {
      ref: this.ref,
      noun: 'rule',
      short: 'rule',
      path: 'spec.rules',
      viewOf,
      holdsBoth: (rule) => this.destinations.every((d) => viewOf(rule).destinations.includes(d)),
    };
  }

  private weightsOf(located: LocatedRule): Weights {
    const percentages = toPercentages(located.raw.map((w) => w ?? 1));
    if (!percentages) throw new KubeObjectError(this.ref, `${located.label}: both backendRefs have weight 0, so it routes no traffic`);
    return { [this.destinations[0]]: percentages[0]!, [this.destinations[1]]: percentages[1]! };
  }
}

/** A rule as route-pin sees it: its backendRef names and its matches. */
function viewOf(rule: unknown): RouteView {
  const r = (rule ?? {}) as { name?: string; matches?: unknown; backendRefs?: BackendRef[] };
  return {
    ...(r.name ? { name: r.name } : {}),
    destinations: (Array.isArray(r.backendRefs) ? r.backendRefs : []).map((b) => b.name ?? '?'),
    ...(r.matches === undefined ? {} : { match: r.matches }),
  };
}
