/**
 * A switch (or a switch back) says where traffic is only after reading it back: the router's live
 * weights must be the ones the run claims, and the colour taking the traffic must have ready pods.
 * Each difference names the object, the field, the value expected and the value found.
 */
import type { KubeClient } from '../kube/client.js';
import { deploymentRef, readDeployment, type DeploymentName } from '../kube/deployment.js';
import { describeRef } from '../kube/object-ref.js';
import { readyPodsOf } from '../kube/ready-pods.js';
import type { TrafficRouter } from '../kube/traffic-router.js';
import type { Weights } from '../kube/weights.js';
import { COLOURS, type Colour, type Colours } from './colours.js';

export interface Claim {
  /** The weights the run says are live. */
  weights: Weights;
  /** The colour taking all traffic. */
  colour: Colour;
}

/** The differences between the claim and the cluster; empty when the claim holds. */
export async function verifyClaim(client: KubeClient, router: TrafficRouter, colours: Colours, claim: Claim): Promise<string[]> {
  const differences: string[] = [];
  const live = await router.read();
  for (const colour of COLOURS) {
    const destination = colours.destination[colour];
    const expected = claim.weights[destination];
    const actual = live[destination];
    if (expected !== actual) {
      differences.push(`${router.describe()}: weight of ${destination} (${colour}): expected ${expected ?? 'absent'}, actual ${actual ?? 'absent'}`);
    }
  }
  const workload: DeploymentName = colours.workload[claim.colour];
  const ready = readyPodsOf(await readDeployment(client, workload));
  if (ready < 1) differences.push(`${describeRef(deploymentRef(workload))} (${claim.colour}, taking all traffic): status.readyReplicas: expected at least 1, actual ${ready}`);
  return differences;
}
