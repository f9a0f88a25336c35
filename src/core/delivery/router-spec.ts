import type { KubeClient } from '../kube/client.js';
import { ArgoRolloutRouter, type ArgoRolloutRouterOptions } from '../kube/routers/argo-rollout.js';
import { HttpRouteRouter, type HttpRouteRouterOptions } from '../kube/routers/gateway-httproute.js';
import { IstioVirtualServiceRouter, type IstioRouterOptions } from '../kube/routers/istio-virtual-service.js';
import { ReplicaRatioRouter, type ReplicaRatioRouterOptions } from '../kube/routers/replica-ratio.js';
import { ServiceSelectorRouter, type ServiceSelectorRouterOptions } from '../kube/routers/service-selector.js';
import type { TrafficRouter } from '../kube/traffic-router.js';

/**
 * A traffic router as plain data. Every traffic change is journaled with its RouterSpec, so a
 * later run (rollback, a resumed canary, the post step of a cancelled one) rebuilds exactly the
 * router that made the change.
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
