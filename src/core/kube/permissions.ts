/**
 * The Kubernetes permissions each part of the core needs, derived from the calls it makes (the
 * client-node method or watch path is named in each comment). The preflight (preflight.ts) asks
 * the API server for every one before the first write; deploy/rbac/ ships Roles made of exactly
 * these (scripts/rbac-roles.ts writes them; a test checks they are current).
 *
 * A permission names no object: the shipped Roles are templates that cannot know the service's
 * names. The preflight passes the object's name where the request carries one (get, patch,
 * update, and watch: watch-until.ts watches with a `metadata.name` field selector, which the API
 * server authorizes against resourceNames as it does a get), so a Role narrowed with resourceNames
 * passes too. Lists (pods, ReplicaSets) select by label and name no object.
 */
import type { ArgoRolloutRouterOptions } from './routers/argo-rollout.js';
import type { HttpRouteRouterOptions } from './routers/gateway-httproute.js';
import type { IstioRouterOptions } from './routers/istio-virtual-service.js';
import type { ReplicaRatioRouterOptions } from './routers/replica-ratio.js';
import type { ServiceSelectorRouterOptions } from './routers/service-selector.js';

/** An RBAC verb as the authorizer sees it (`scale` is a patch of deployments/scale). */
export type RbacVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export interface Permission {
  verb: RbacVerb;
  /** API group; '' is the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** Why it is needed, for the README table and the preflight's message. */
  why: string;
}

/** A permission in a namespace, on one object when the request names one. */
export interface NeededPermission extends Permission {
  namespace: string;
  name?: string;
}

/** The verbs whose request names the object (a watch through its `metadata.name` field selector). */
const NAMED_VERBS: ReadonlySet<RbacVerb> = new Set(['get', 'patch', 'update', 'watch']);

const need = (namespace: string, name: string | undefined, list: Permission[]): NeededPermission[] =>
  list.map((p) => ({ ...p, namespace, ...(name && NAMED_VERBS.has(p.verb) ? { name } : {}) }));

/** lease-lock.ts: readNamespacedLease, createNamespacedLease, patchNamespacedLease (renew, release, take over). */
export const LOCK: Permission[] = [
  { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', why: 'read the service lock (Lease pd-lock-<service>)' },
  { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', why: 'create the service lock on the first run' },
  { verb: 'patch', group: 'coordination.k8s.io', resource: 'leases', why: 'take, renew and release the service lock' },
];

/** journal.ts: readNamespacedConfigMap, createNamespacedConfigMap, patchNamespacedConfigMap. */
export const JOURNAL: Permission[] = [
  { verb: 'get', group: '', resource: 'configmaps', why: 'read the journal of changes (ConfigMap pd-state-<service>)' },
  { verb: 'create', group: '', resource: 'configmaps', why: 'create the journal on the first run' },
  { verb: 'patch', group: '', resource: 'configmaps', why: 'record each change before it is made' },
];

/** canary-record.ts: readNamespacedConfigMap, createNamespacedConfigMap, replaceNamespacedConfigMap. */
export const CANARY_RECORD: Permission[] = [
  { verb: 'get', group: '', resource: 'configmaps', why: "read the canary's record (ConfigMap pd-canary-<service>)" },
  { verb: 'create', group: '', resource: 'configmaps', why: "create the canary's record" },
  { verb: 'update', group: '', resource: 'configmaps', why: "update the canary's record (step, weight, analysis)" },
];

/** deployment.ts: readDeployment, setDeploymentImage (JSON patch), waitForDeploymentRollout (watch), describeNotReadyPods. */
export const DEPLOYMENT_ROLLOUT: Permission[] = [
  { verb: 'get', group: 'apps', resource: 'deployments', why: 'read the Deployment (image, replicas, rollout status)' },
  { verb: 'patch', group: 'apps', resource: 'deployments', why: "set the Deployment's image" },
  { verb: 'watch', group: 'apps', resource: 'deployments', why: 'wait for the rollout (a watch on the Deployment)' },
  { verb: 'list', group: '', resource: 'pods', why: 'say why pods are not ready when a rollout fails' },
];

/** deployment.ts scaleDeployment: readNamespacedDeploymentScale, patchNamespacedDeploymentScale. */
export const DEPLOYMENT_SCALE: Permission[] = [
  { verb: 'get', group: 'apps', resource: 'deployments', subresource: 'scale', why: 'read the replicas of a Deployment to scale' },
  {
    verb: 'patch',
    group: 'apps',
    resource: 'deployments',
    subresource: 'scale',
    why: 'scale a Deployment (the idle color, the canary, replica ratios)',
  },
];

/** deployment.ts undoDeployment: listNamespacedReplicaSet (the revisions), then a patch of the Deployment's template. */
export const DEPLOYMENT_UNDO: Permission[] = [
  { verb: 'list', group: 'apps', resource: 'replicasets', why: "find the Deployment's earlier revisions (its ReplicaSets)" },
];

/** rolled-out.ts: listOwnedReplicaSets, to read a rollout back (no pod of an older ReplicaSet left). */
export const DEPLOYMENT_READ_BACK: Permission[] = [
  {
    verb: 'list',
    group: 'apps',
    resource: 'replicasets',
    why: "read a rollout back: the Deployment's ReplicaSets (no pod of an older one left)",
  },
];

/**
 * argo-rollout.ts: getCustomObject, jsonPatchCustomObject, mergePatchCustomObject,
 * mergePatchCustomStatus, the watch, listNamespacedReplicaSet.
 */
export const ARGO: Permission[] = [
  { verb: 'get', group: 'argoproj.io', resource: 'rollouts', why: 'read the Argo Rollout (step, weights, health)' },
  { verb: 'patch', group: 'argoproj.io', resource: 'rollouts', why: "set the Rollout's image, pause and resume it" },
  {
    verb: 'patch',
    group: 'argoproj.io',
    resource: 'rollouts',
    subresource: 'status',
    why: 'promote and abort (as kubectl argo rollouts does, on status)',
  },
  { verb: 'watch', group: 'argoproj.io', resource: 'rollouts', why: 'wait for the controller (a watch on the Rollout)' },
  { verb: 'list', group: 'apps', resource: 'replicasets', why: "find the Rollout's stable and canary ReplicaSets" },
];

/** routers/istio-virtual-service.ts: the VirtualService (get, JSON patch) and its DestinationRule (get, to check subsets). */
export function istioPermissions(o: Pick<IstioRouterOptions, 'namespace' | 'name'>): NeededPermission[] {
  return need(o.namespace, o.name, [
    { verb: 'get', group: 'networking.istio.io', resource: 'virtualservices', why: 'read the traffic weights' },
    { verb: 'patch', group: 'networking.istio.io', resource: 'virtualservices', why: 'change the traffic weights' },
  ]).concat(
    need(o.namespace, undefined, [
      { verb: 'get', group: 'networking.istio.io', resource: 'destinationrules', why: 'check the subsets the routes name exist' },
    ]),
  );
}

/** routers/gateway-httproute.ts: the HTTPRoute (get, JSON patch). */
export function gatewayPermissions(o: Pick<HttpRouteRouterOptions, 'namespace' | 'name'>): NeededPermission[] {
  return need(o.namespace, o.name, [
    { verb: 'get', group: 'gateway.networking.k8s.io', resource: 'httproutes', why: 'read the traffic weights' },
    { verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', why: 'change the traffic weights' },
  ]);
}

/** routers/service-selector.ts: readNamespacedService, patchNamespacedService. */
export function servicePermissions(o: Pick<ServiceSelectorRouterOptions, 'namespace' | 'name'>): NeededPermission[] {
  return need(o.namespace, o.name, [
    { verb: 'get', group: '', resource: 'services', why: "read the Service's selector (the live color)" },
    { verb: 'patch', group: '', resource: 'services', why: "switch the Service's selector" },
  ]);
}

/** routers/replica-ratio.ts: readDeployment of both, scaleDeployment of both. */
export function replicaRatioPermissions(o: Pick<ReplicaRatioRouterOptions, 'namespace' | 'stable' | 'canary'>): NeededPermission[] {
  return [o.stable, o.canary].flatMap((name) =>
    need(o.namespace, name, [
      { verb: 'get', group: 'apps', resource: 'deployments', why: 'read the replicas behind the weights' },
      ...DEPLOYMENT_SCALE,
    ]),
  );
}

/** routers/argo-rollout.ts: through ArgoRollout. */
export function argoPermissions(o: Pick<ArgoRolloutRouterOptions, 'namespace' | 'name'>): NeededPermission[] {
  return need(o.namespace, o.name, ARGO);
}

export function inNamespace(namespace: string, name: string | undefined, list: Permission[]): NeededPermission[] {
  return need(namespace, name, list);
}

/** `patch deployments/scale` (the resource as RBAC names it). */
export function resourceName(p: Pick<Permission, 'resource' | 'subresource'>): string {
  return p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
}

/** One permission once (the first reason wins), in a stable order. */
export function dedupe<T extends Permission & { namespace?: string; name?: string }>(list: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const p of list) {
    const key = [p.verb, p.group, resourceName(p), p.namespace ?? '', p.name ?? ''].join('|');
    if (!seen.has(key)) seen.set(key, p);
  }
  return [...seen.values()];
}
