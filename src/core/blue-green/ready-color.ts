/**
 * No weight goes to a color without ready pods. The idle color that an earlier switch scaled down
 * (scale-down-after) is scaled back up first, to the live color's replica count, as a journaled
 * `scale` change (the rollback action scales it back to 0 once traffic has left it), and waited
 * for; and right before each weight write that sends more than 0% to a color, its ready pods are
 * read again (requireReadyPods).
 */
import type { DeliverySession } from '../delivery/session.js';
import { deploymentRef, readDeployment, scaleDeployment, type DeploymentName } from '../kube/deployment.js';
import { describeRef } from '../kube/object-ref.js';
import { requireReadyPods } from '../kube/ready-pods.js';
import type { Color } from './colors.js';
import { waitForColor } from './deploy-target.js';

/** `ok: false` when the color did not get ready pods: traffic has not moved, the run stops here. */
/** `replicas`: how many it was scaled up to (0 when it had replicas already, or in a dry run). */
export type ScaleUpOutcome = { ok: true; replicas: number } | { ok: false; reason: string };

/**
 * Scales `idle` from 0 to the replicas of `live` (at least 1), journaled as step `scale-up`, then
 * waits until every replica is available. Does nothing when `idle` already has replicas.
 */
export async function scaleUpIdle(
  session: DeliverySession,
  target: { idle: DeploymentName; live: DeploymentName; timeoutMs: number },
): Promise<ScaleUpOutcome> {
  const ref = deploymentRef(target.idle);
  const idle = await readDeployment(session.client, target.idle);
  if ((idle.spec?.replicas ?? 1) > 0) return { ok: true, replicas: 0 };
  const replicas = Math.max(1, (await readDeployment(session.client, target.live)).spec?.replicas ?? 1);
  const { applied } = await session.change('scale-up', ref, { kind: 'scale', previous: { replicas: 0 }, next: { replicas } }, () =>
    scaleDeployment(session.client, { ...target.idle, replicas }),
  );
  if (session.dryRun) return { ok: true, replicas: 0 };
  session.reporter.info(
    `Scaled ${describeRef(ref)} from 0 to ${replicas} replicas before any traffic goes to it${applied ? '' : ' (set earlier by this run)'}; the rollback action scales it back to 0`,
  );
  const notReady = await waitForColor(
    session,
    target.idle,
    target.timeoutMs,
    `scaled from 0 to ${replicas} replicas did not have them ready`,
  );
  return notReady ? { ok: false, reason: notReady } : { ok: true, replicas };
}

/**
 * The reason not to send `weight`% to `color` (its Deployment has no ready pod), or undefined
 * when it may take it. A weight of 0 needs no pods.
 */
export async function notReadyFor(
  session: DeliverySession,
  color: Color,
  workload: DeploymentName,
  weight: number,
): Promise<string | undefined> {
  if (weight <= 0 || session.dryRun) return undefined;
  try {
    await requireReadyPods(session.client, workload, `${weight}% of traffic (${color})`);
    return undefined;
  } catch (error) {
    // requireReadyPods says "too few ready pods" with a plain Error; a failed read has its own class.
    if (error instanceof Error && error.constructor === Error) return error.message;
    throw error;
  }
}
