/**
 * A switch (or a switch back) says where traffic is only after reading it back: the router's live
 * weights must be the ones the run claims, and the color taking the traffic must have ready pods.
 * Each difference names the object, the field, the value expected and the value found.
 */
import type { KubeClient } from '../kube/client.js';
import { deploymentRef, readDeployment, type DeploymentName } from '../kube/deployment.js';
import { describeRef } from '../kube/object-ref.js';
import { readyPodsOf } from '../kube/ready-pods.js';
import type { TrafficRouter } from '../kube/routers/router.js';
import type { Weights } from '../kube/weights.js';
import { COLORS, type Color, type Colors } from './colors.js';

export interface Claim {
  /** The weights the run says are live. */
  weights: Weights;
  /** The color taking all traffic. */
  color: Color;
}

/** The differences between the claim and the cluster; empty when the claim holds. */
export async function verifyClaim(client: KubeClient, router: TrafficRouter, colors: Colors, claim: Claim): Promise<string[]> {
  const differences: string[] = [];
  const live = await router.read();
  for (const color of COLORS) {
    const destination = colors.destination[color];
    const expected = claim.weights[destination];
    const actual = live[destination];
    if (expected !== actual) {
      differences.push(
        `${router.describe()}: weight of ${destination} (${color}): expected ${expected ?? 'absent'}, actual ${actual ?? 'absent'}`,
      );
    }
  }
  const workload: DeploymentName = colors.workload[claim.color];
  const ready = readyPodsOf(await readDeployment(client, workload));
  if (ready < 1)
    differences.push(
      `${describeRef(deploymentRef(workload))} (${claim.color}, taking all traffic): status.readyReplicas: expected at least 1, actual ${ready}`,
    );
  return differences;
}
