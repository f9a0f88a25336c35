/**
 * Deploys the image to the idle color (a recorded `image` change) and waits for a color to be
 * fully available.
 */
import type { DeliverySession } from '../delivery/session.js';
import {
  deploymentRef,
  findContainer,
  readDeployment,
  revisionOf,
  rolloutProblem,
  setDeploymentImage,
  type DeploymentName,
} from '../kube/deployment.js';
import { describeRef } from '../kube/object-ref.js';

export interface DeployTarget {
  workload: DeploymentName;
  image: string;
  container?: string;
  timeoutMs: number;
}

/** `ok: false` when the new color did not roll out: traffic has not moved, the run stops here. */
export type DeployOutcome = { ok: true; changed: boolean } | { ok: false; reason: string };

/**
 * Sets the image on the idle color's Deployment (recorded as an `image` change, so rollback can
 * put the old one back) and waits until every replica runs it and is available.
 */
export async function deployTarget(session: DeliverySession, target: DeployTarget): Promise<DeployOutcome> {
  const ref = deploymentRef(target.workload);
  const live = await readDeployment(session.client, target.workload);
  const container = findContainer(ref, live.spec?.template, target.container);
  const { applied } = await session.change(
    'image',
    ref,
    {
      kind: 'image',
      container: container.name,
      previous: { image: container.image, revision: revisionOf(live) },
      next: { image: target.image },
    },
    () => setDeploymentImage(session.client, { ...target.workload, image: target.image, container: container.name }),
  );
  if (session.dryRun) return { ok: true, changed: false };
  session.reporter.info(
    container.image === target.image
      ? `${describeRef(ref)} already runs ${target.image}`
      : `${describeRef(ref)}: ${container.name} ${container.image} -> ${target.image}${applied ? '' : ' (set earlier by this run)'}`,
  );
  const notReady = await waitForColor(session, target.workload, target.timeoutMs, `did not finish rolling out ${target.image}`);
  if (notReady) return { ok: false, reason: notReady };
  session.reporter.info(`${describeRef(ref)}: rolled out ${target.image}`);
  return { ok: true, changed: container.image !== target.image };
}

/**
 * Waits until every replica of a color is available; returns why not (a failed rollout, or the
 * rollout-timeout with the last progress seen), or undefined when it is ready. `what` finishes
 * "<Deployment> ... within rollout-timeout".
 */
export async function waitForColor(
  session: DeliverySession,
  d: DeploymentName,
  timeoutMs: number,
  what: string,
): Promise<string | undefined> {
  const name = describeRef(deploymentRef(d));
  const onProgress = (message: string) => session.reporter.info(`${name}: ${message}`);
  const problem = await rolloutProblem(session.client, d, { timeoutMs, signal: session.signal, onProgress, what });
  return problem && `${problem}; traffic was not moved`;
}
