/**
 * A rollout is claimed only after reading it back (readBackRollout): the Deployment's pod template
 * runs the image in the container, the controller has seen that spec (observedGeneration), every
 * replica is updated, ready and available, and no pod of an older ReplicaSet is left. Each
 * difference names the object, the field, the value expected and the value found. When a run
 * cannot claim anything, describeStanding says where the Deployment stands instead.
 *
 * A pod being deleted (deletionTimestamp) is not counted: it is out of its Service's endpoints
 * already, and a real cluster keeps it for its grace period after `kubectl rollout status` is done.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import {
  deploymentRef,
  deploymentRolloutState,
  listOwnedReplicaSets,
  listPodsMatching,
  readDeployment,
  revisionOf,
  rolloutSummary,
  type DeploymentName,
} from './deployment.js';
import { describeRef } from './object-ref.js';

/** What the run says the Deployment runs now. */
export interface RolloutClaim {
  container: string;
  image: string;
}

export interface ReadBack {
  deployment: V1Deployment;
  /** The Deployment's revision as read back. */
  revision: number | undefined;
  /** Empty when the claim holds. */
  differences: string[];
}

const COUNTS = ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'] as const;

export async function readBackRollout(client: KubeClient, d: DeploymentName, claim: RolloutClaim): Promise<ReadBack> {
  const name = describeRef(deploymentRef(d));
  const dep = await readDeployment(client, d);
  const revision = revisionOf(dep);
  const differences: string[] = [];
  const container = dep.spec?.template?.spec?.containers?.find((c) => c.name === claim.container);
  if (!container) differences.push(`${name} has no container ${claim.container}`);
  else if (container.image !== claim.image)
    differences.push(`${name} container ${claim.container} image: expected ${claim.image}, actual ${container.image ?? 'none'}`);
  const generation = dep.metadata?.generation ?? 0;
  const observed = dep.status?.observedGeneration ?? 0;
  if (observed < generation)
    differences.push(
      `${name} status.observedGeneration: expected ${generation}, actual ${observed} (the controller has not seen the spec)`,
    );
  const wanted = dep.spec?.replicas ?? 1;
  for (const count of COUNTS) {
    const actual = dep.status?.[count] ?? 0;
    if (actual !== wanted) differences.push(`${name} status.${count}: expected ${wanted}, actual ${actual}`);
  }

  const replicaSets = await listOwnedReplicaSets(client, dep);
  const current = replicaSets.find((rs) => revision !== undefined && revisionOf(rs) === revision);
  if (!current) {
    differences.push(`${name} has no ReplicaSet of its revision ${revision ?? '(none recorded)'}`);
    return { deployment: dep, revision, differences };
  }
  const older = new Map(replicaSets.filter((rs) => rs !== current).map((rs) => [rs.metadata?.name ?? '', rs]));
  const pods = await listPodsMatching(client, d.namespace, dep.spec?.selector?.matchLabels ?? {});
  const left = pods.flatMap((pod) => {
    if (pod.metadata?.deletionTimestamp) return [];
    const owner = pod.metadata?.ownerReferences?.find((o) => o.controller && o.kind === 'ReplicaSet');
    const rs = owner && older.get(owner.name);
    if (!rs) return [];
    const image = pod.spec?.containers?.find((c) => c.name === claim.container)?.image ?? '?';
    return [`${pod.metadata?.name ?? '?'} (ReplicaSet ${owner.name}, revision ${revisionOf(rs) ?? '?'}, ${image})`];
  });
  if (left.length > 0) {
    const shown = left.slice(0, 5).join(', ');
    differences.push(
      `${name}: ${left.length} pod${left.length === 1 ? '' : 's'} of an older ReplicaSet still running: ${shown}${left.length > 5 ? ', …' : ''}`,
    );
  }
  return { deployment: dep, revision, differences };
}

/**
 * Where a Deployment stands, for a person who has to finish what a run could not: "Deployment
 * shop/checkout: container app is set to registry/app:1.0 (revision 3); rollout failed
 * (ProgressDeadlineExceeded): 1/3 updated, 1 unavailable, 2 old still running".
 */
export function describeStanding(dep: V1Deployment, container: string): string {
  const name = describeRef(deploymentRef({ namespace: dep.metadata?.namespace ?? '', name: dep.metadata?.name ?? '' }));
  const image = dep.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image ?? '(no such container)';
  const state = deploymentRolloutState(dep);
  const rollout =
    state.state === 'done'
      ? 'rolled out'
      : state.state === 'failed'
        ? `rollout failed (${state.reason}): ${rolloutSummary(dep)}`
        : `rollout in progress: ${rolloutSummary(dep)}`;
  return `${name}: container ${container} is set to ${image} (revision ${revisionOf(dep) ?? '?'}); ${rollout}`;
}
