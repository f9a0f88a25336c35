import type { KubeClient } from '../client.js';
import { HTTP_ROUTE, customRef, getCustomObject, jsonPatchCustomObject, type KubeObject } from '../custom-resources.js';
import { KubeObjectError } from '../errors.js';
import { guardedPatch } from '../guarded-patch.js';
import { pointer } from '../json-patch.js';
import { weightOps } from './weight-ops.js';
import { warnForeignOwners } from '../field-owners.js';
import { describePin, findPinned, listRoutes, pinOf, type RoutePin, type RouteView } from './route-pin.js';
import { describeRef, type ObjectRef } from '../object-ref.js';
import type { TrafficRouter, WriteOptions } from '../traffic-router.js';
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

/**
 * Gateway API HTTPRoute: the weights of the two backendRefs of one rule. Gateway API weights are
 * proportions (a missing weight is 1); this router reads them as percentages and writes percentages.
 */
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
    const rule = this.pin
      ? 'name' in this.pin
        ? `rule ${describePin(this.pin)}`
        : 'unnamed rule'
      : this.options.rule === undefined
        ? 'the first rule holding both'
        : `rule ${JSON.stringify(this.options.rule)}`;
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
    const rules: unknown = route.spec?.rules;
    if (!Array.isArray(rules) || rules.length === 0) throw new KubeObjectError(this.ref, 'has no rules (spec.rules is empty)');
    const index = this.pin ? this.findPinned(rules, this.pin) : this.select(rules);
    const rule = rules[index];
    const label = rule.name ? `rule "${rule.name}"` : `rule #${index}`;
    const refs: BackendRef[] = Array.isArray(rule.backendRefs) ? rule.backendRefs : [];
    const listed = refs.map((r) => r.name ?? '?').join(', ');
    if (refs.length !== 2) {
      throw new KubeObjectError(
        this.ref,
        `${label} has ${refs.length} backendRef${refs.length === 1 ? '' : 's'} (${listed || 'none'}); expected exactly two: ${this.destinations.join(' and ')}`,
      );
    }
    const refIndex = this.destinations.map((d) => refs.findIndex((r) => r.name === d)) as [number, number];
    const missing = this.destinations.filter((_, i) => refIndex[i]! < 0);
    if (missing.length) throw new KubeObjectError(this.ref, `${label} has no backendRef ${missing.join(' or ')}; its backendRefs are ${listed}`);
    const raw = refIndex.map((i) => refs[i]!.weight) as [number | undefined, number | undefined];
    this.pin ??= pinOf(viewOf(rule));
    return { index, label, refIndex, raw };
  }

  /** The rule `rule` names (or its index); by default the first with both backendRefs, else the first. */
  private select(rules: unknown[]): number {
    const wanted = this.options.rule;
    const named = (r: unknown) => (r as { name?: string } | undefined)?.name;
    if (wanted === undefined) return Math.max(0, rules.findIndex((r) => this.destinations.every((d) => viewOf(r).destinations.includes(d))));
    const index =
      typeof wanted === 'number' ? wanted : /^\d+$/.test(wanted) && !rules.some((r) => named(r) === wanted) ? Number(wanted) : rules.findIndex((r) => named(r) === wanted);
    if (index < 0 || !rules[index]) {
      const names = rules.map((r, i) => (named(r) ? `"${named(r)}"` : `#${i}`)).join(', ');
      throw new KubeObjectError(this.ref, `has no rule ${JSON.stringify(wanted)}; its rules are ${names}`);
    }
    return index;
  }

  private findPinned(rules: unknown[], pin: RoutePin): number {
    const views = rules.map(viewOf);
    const found = findPinned(views, pin);
    if (typeof found === 'number') return found;
    throw new KubeObjectError(
      this.ref,
      `the rule recorded at the start of the run, ${describePin(pin)}, cannot be found: ${found}. Its rules now are ${listRoutes(views)}. Give route-rule (the rule's name or index) to say which rule to use`,
    );
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
