import type { DeliverySession } from '../delivery/session.js';
import { deploymentRef, findContainer, readDeployment, RolloutFailedError, revisionOf, setDeploymentImage, waitForDeploymentRollout, type DeploymentName } from '../kube/deployment.js';
import { describeRef } from '../kube/object-ref.js';
import { WaitTimeoutError } from '../kube/watch-until.js';
import { formatDuration } from '../config/primitives.js';

export interface DeployTarget {
  workload: DeploymentName;
  image: string;
  container?: string;
  timeoutMs: number;
}

/** `ok: false` when the new colour did not roll out: traffic has not moved, the run stops here. */
export type DeployOutcome = { ok: true; changed: boolean } | { ok: false; reason: string };

/**
 * Sets the image on the idle colour's Deployment (recorded as an `image` change, so rollback can
 * put the old one back) and waits until every replica runs it and is available.
 */
export async function deployTarget(session: DeliverySession, target: DeployTarget): Promise<DeployOutcome> {
  const ref = deploymentRef(target.workload);
  const live = await readDeployment(session.client, target.workload);
  const container = findContainer(ref, live.spec?.template, target.container);
  const { applied } = await session.change(
    'image',
    ref,
    { kind: 'image', container: container.name, previous: { image: container.image, revision: revisionOf(live) }, next: { image: target.image } },
    () => setDeploymentImage(session.client, { ...target.workload, image: target.image, container: container.name }),
  );
  if (session.dryRun) return { ok: true, changed: false };
  session.reporter.info(
    container.image === target.image ? `${describeRef(ref)} already runs ${target.image}` : `${describeRef(ref)}: ${container.name} ${container.image} -> ${target.image}${applied ? '' : ' (set earlier by this run)'}`,
  );
  try {
    await waitForDeploymentRollout(session.client, target.workload, {
      timeoutMs: target.timeoutMs,
      signal: session.signal,
      onProgress: (message) => session.reporter.info(`${describeRef(ref)}: ${message}`),
    });
  } catch (error) {
    if (error instanceof RolloutFailedError) return { ok: false, reason: `${error.message}; traffic was not moved` };
    if (error instanceof WaitTimeoutError) {
      return { ok: false, reason: `${describeRef(ref)} did not finish rolling out ${target.image} within rollout-timeout ${formatDuration(target.timeoutMs)}: ${error.lastProgress}; traffic was not moved` };
    }
    throw error;
  }
  session.reporter.info(`${describeRef(ref)}: rolled out ${target.image}`);
  return { ok: true, changed: container.image !== target.image };
}
