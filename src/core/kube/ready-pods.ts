/**
 * No weight goes to a destination without ready pods: the check every flow makes before it sends
 * traffic (more than 0%) to a Deployment: a blue-green color, a canary, a backend.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { deploymentRef, readDeployment, type DeploymentName } from './deployment.js';
import { describeRef } from './object-ref.js';

/** Ready pods of a Deployment as its status reports them (0 when it has no status yet). */
export function readyPodsOf(dep: V1Deployment): number {
  return dep.status?.readyReplicas ?? 0;
}

/**
 * Throws, naming the Deployment and what it has, unless it has at least `min` ready pods.
 * `what` says what the traffic would be (e.g. "30% of traffic"), for the message.
 */
export async function requireReadyPods(client: KubeClient, d: DeploymentName, what: string, min = 1): Promise<V1Deployment> {
  const dep = await readDeployment(client, d);
  const ready = readyPodsOf(dep);
  if (ready < min) {
    throw new Error(
      `${describeRef(deploymentRef(d))} has ${ready} ready pod${ready === 1 ? '' : 's'} (${dep.spec?.replicas ?? 0} wanted), and ${what} would go to it: not sending traffic where no pod is ready (at least ${min} needed)`,
    );
  }
  return dep;
}
