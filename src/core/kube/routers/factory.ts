/**
 * The router factory: a RouterSpec (a router as plain data, what the journal records) in, a
 * TrafficRouter out; and the spec to record for a router, with the route identity it fixed.
 */
import type { KubeClient } from '../client.js';
import { ArgoRolloutRouter, type ArgoRolloutRouterOptions } from './argo-rollout.js';
import { HttpRouteRouter, type HttpRouteRouterOptions } from './gateway-httproute.js';
import { IstioVirtualServiceRouter, type IstioRouterOptions } from './istio-virtual-service.js';
import { ReplicaRatioRouter, type ReplicaRatioRouterOptions } from './replica-ratio.js';
import { ServiceSelectorRouter, type ServiceSelectorRouterOptions } from './service-selector.js';
import type { RoutePin } from './route-pin.js';
import type { JournalEntry } from '../journal.js';
import type { TrafficRouter } from './router.js';

/**
 * A traffic router as plain data. Every traffic change is journaled with its RouterSpec, so a
 * later run (rollback, a resumed canary, the post step of a cancelled one) rebuilds exactly the
 * router that made the change. For Istio and the Gateway API that includes the route's identity
 * (`pin`, its name or its destinations), fixed at the start of the run: never a position, which a
 * route inserted in front would shift. Entries recorded before `pin` existed hold only `route` or
 * `rule` and are still undone by them (or by the rollback's `route-rule`).
 */
export type RouterSpec =
  | ({ type: 'istio' } & IstioRouterOptions)
  | ({ type: 'gateway' } & HttpRouteRouterOptions)
  | ({ type: 'service' } & ServiceSelectorRouterOptions)
  | ({ type: 'replica-ratio' } & ReplicaRatioRouterOptions)
  | ({ type: 'argo' } & ArgoRolloutRouterOptions);

export function createRouter(client: KubeClient, spec: RouterSpec): TrafficRouter {
  switch (spec.type) {
    case 'istio':
      return new IstioVirtualServiceRouter(client, spec);
    case 'gateway':
      return new HttpRouteRouter(client, spec);
    case 'service':
      return new ServiceSelectorRouter(client, spec);
    case 'replica-ratio':
      return new ReplicaRatioRouter(client, spec);
    case 'argo':
      return new ArgoRolloutRouter(client, spec);
  }
}

/** The spec to journal: as given, with the route identity the router fixed at its first read. */
export function recordedSpec(spec: RouterSpec, router: TrafficRouter): RouterSpec {
  const pin = router.pinned?.();
  return pin && (spec.type === 'istio' || spec.type === 'gateway') ? { ...spec, pin } : spec;
}

/**
 * The spec with the route identity an earlier attempt of this run recorded (`entries` are the
 * journal's), so a re-run of the same run id keeps the route it started on: a route inserted in
 * front in between does not move it.
 */
export function withRecordedPin(spec: RouterSpec, entries: readonly JournalEntry[], runId: string, strategy: string): RouterSpec {
  if (spec.type !== 'istio' && spec.type !== 'gateway') return spec;
  const recorded = entries.findLast(
    (e) => e.runId === runId && e.strategy === strategy && e.change.kind === 'traffic' && sameObject(e.change.router, spec),
  );
  const pin = recorded?.change.kind === 'traffic' ? pinOf(recorded.change.router) : undefined;
  return pin ? { ...spec, pin } : spec;
}

/**
 * The rollback's `route-rule`: the recorded Istio or Gateway API traffic changes of `entries`, to
 * be undone on that route (its name or index) instead of the one recorded. Other entries as they are.
 */
export function withRouteRule(entries: JournalEntry[], rule: string | undefined): JournalEntry[] {
  if (rule === undefined) return entries;
  return entries.map((entry) => {
    const { change } = entry;
    if (change.kind !== 'traffic' || (change.router.type !== 'istio' && change.router.type !== 'gateway')) return entry;
    const { pin: _recorded, ...router } = change.router;
    const chosen: RouterSpec = router.type === 'istio' ? { ...router, route: rule } : { ...router, rule };
    return { ...entry, change: { ...change, router: chosen } };
  });
}

function pinOf(spec: RouterSpec): RoutePin | undefined {
  return spec.type === 'istio' || spec.type === 'gateway' ? spec.pin : undefined;
}

function sameObject(a: RouterSpec, b: RouterSpec): boolean {
  if ((a.type !== 'istio' && a.type !== 'gateway') || a.type !== b.type) return false;
  return a.name === b.name && a.namespace === b.namespace && JSON.stringify(a.destinations) === JSON.stringify(b.destinations);
}
