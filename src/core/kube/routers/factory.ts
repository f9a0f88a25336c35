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
