/**
 * What each delivery action needs from the API server, built from its plan: the session's lock
 * and journal, the router it writes through, and the workloads it changes. The parts come from
 * kube/permissions.ts, where each names the calls it stands for. The preflight asks for these.
 */
import type { DeploymentName } from '../kube/deployment.js';
import {
  argoPermissions,
  CANARY_RECORD,
  dedupe,
  DEPLOYMENT_READ_BACK,
  DEPLOYMENT_ROLLOUT,
  DEPLOYMENT_SCALE,
  DEPLOYMENT_UNDO,
  gatewayPermissions,
  inNamespace,
  istioPermissions,
  JOURNAL,
  LOCK,
  type NeededPermission,
  replicaRatioPermissions,
  servicePermissions,
} from '../kube/permissions.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { type JournalEntry, Journal } from '../kube/journal.js';
import type { RouterSpec } from '../kube/routers/factory.js';

export function routerPermissions(spec: RouterSpec): NeededPermission[] {
  switch (spec.type) {
    case 'istio':
      return istioPermissions(spec);
    case 'gateway':
      return gatewayPermissions(spec);
    case 'service':
      return servicePermissions(spec);
    case 'replica-ratio':
      return replicaRatioPermissions(spec);
    case 'argo':
      return argoPermissions(spec);
  }
}

/** The lock (Lease) and the journal (ConfigMap) of every delivery run. */
export function sessionPermissions(namespace: string, service: string): NeededPermission[] {
  return [...inNamespace(namespace, `pd-lock-${service}`, LOCK), ...inNamespace(namespace, `pd-state-${service}`, JOURNAL)];
}

/** A Deployment whose image is set and rolled out, and which is scaled. */
export function workloadPermissions(d: DeploymentName): NeededPermission[] {
  return inNamespace(d.namespace, d.name, [...DEPLOYMENT_ROLLOUT, ...DEPLOYMENT_SCALE]);
}

/** blue-green: the router, both colors' Deployments (image, rollout, scale). */
export function blueGreenPermissions(o: {
  namespace: string;
  service: string;
  router: RouterSpec;
  workloads: DeploymentName[];
}): NeededPermission[] {
  return dedupe([
    ...sessionPermissions(o.namespace, o.service),
    ...routerPermissions(o.router),
    ...o.workloads.flatMap(workloadPermissions),
  ]);
}

/** canary: the router, the canary's record, and the two Deployments or the Argo Rollout. */
export function canaryPermissions(o: {
  namespace: string;
  service: string;
  router: RouterSpec;
  workloads: DeploymentName[];
}): NeededPermission[] {
  return dedupe([
    ...sessionPermissions(o.namespace, o.service),
    ...inNamespace(o.namespace, `pd-canary-${o.service}`, CANARY_RECORD),
    ...routerPermissions(o.router),
    ...o.workloads.flatMap(workloadPermissions),
  ]);
}

/** rolling: the Deployment (image, rollout, pods' reasons) and its ReplicaSets, to read the rollout back. */
export function rollingPermissions(o: { namespace: string; service: string; deployment: DeploymentName }): NeededPermission[] {
  return dedupe([
    ...sessionPermissions(o.namespace, o.service),
    ...inNamespace(o.deployment.namespace, o.deployment.name, [...DEPLOYMENT_ROLLOUT, ...DEPLOYMENT_READ_BACK]),
  ]);
}

/**
 * rollback, from its plan: the lock always; the journal when the plan reads or journals through it
 * (not mode migration, which only compensates the database); what undoing each planned entry takes
 * (its router or workload); reads of the traffic it leaves (mode workload checks it is as before);
 * the canary's record only when the release undone is a canary (it is settled); and for
 * `to-revision` the Deployment's revisions.
 */
export function rollbackPermissions(o: {
  namespace: string;
  service: string;
  journal: boolean;
  entries: readonly JournalEntry[];
  /** Entries whose objects are only read (traffic left by mode workload). */
  reads?: readonly JournalEntry[];
  canaryRecord?: boolean;
  revisionOf?: DeploymentName;
}): NeededPermission[] {
  const needed = [...inNamespace(o.namespace, `pd-lock-${o.service}`, LOCK)];
  if (o.journal) needed.push(...inNamespace(o.namespace, `pd-state-${o.service}`, JOURNAL));
  if (o.canaryRecord) needed.push(...inNamespace(o.namespace, `pd-canary-${o.service}`, CANARY_RECORD));
  for (const { change, object } of o.entries) {
    const d = { namespace: object.namespace, name: object.name };
    if (change.kind === 'traffic') needed.push(...routerPermissions(change.router));
    else if (change.kind === 'image')
      needed.push(...(object.kind === 'Rollout' ? argoPermissions(d) : inNamespace(d.namespace, d.name, DEPLOYMENT_ROLLOUT)));
    else if (change.kind === 'scale') needed.push(...workloadPermissions(d));
    else if (change.kind === 'undo') needed.push(...inNamespace(d.namespace, d.name, [...DEPLOYMENT_ROLLOUT, ...DEPLOYMENT_UNDO]));
    else if (change.kind === 'argo') needed.push(...argoPermissions(d));
  }
  for (const { change } of o.reads ?? [])
    if (change.kind === 'traffic') needed.push(...routerPermissions(change.router).filter((p) => p.verb === 'get'));
  if (o.revisionOf) needed.push(...inNamespace(o.revisionOf.namespace, o.revisionOf.name, [...DEPLOYMENT_ROLLOUT, ...DEPLOYMENT_UNDO]));
  return dedupe(needed);
}

/** The live journal's entries; undefined when unreadable (403): the preflight reports `get configmaps` with the rest. */
export async function journalForPreflight(
  client: KubeClient,
  o: { namespace: string; service: string },
): Promise<JournalEntry[] | undefined> {
  try {
    return await new Journal(client, { namespace: o.namespace, service: o.service }).entries();
  } catch (error) {
    if (!(error instanceof KubeApiError && error.status === 403)) throw error;
    return undefined;
  }
}
