/**
 * Putting the previous image back when a rollout failed, was not validated or was cancelled: the
 * journal's compensation of this run's `image` entry (delivery/compensate.ts), its rollout waited
 * for and read back, and only then the entry marked compensated, so that neither the post step nor
 * the rollback action undoes it again. The Deployment is left alone when another run holds the
 * service's lock, or when someone set a third image since; an undo that cannot finish says where
 * the Deployment stands, and leaves the entry open for the rollback action.
 */
import type { DeliverySession } from '../delivery/session.js';
import { compensate } from '../delivery/compensate.js';
import { deploymentRef, findContainer, readDeployment, waitForDeploymentRollout, type DeploymentName } from '../kube/deployment.js';
import { readLockHolder } from '../kube/lease-lock.js';
import { describeRef } from '../kube/object-ref.js';
import { describeStanding, readBackRollout } from '../kube/rolled-out.js';
import { IMAGE_STEP } from './decide.js';

export interface ImageUndo {
  deployment: DeploymentName;
  container: string;
  /** The image this run set, and the one before it (what is put back). */
  image: string;
  previous: string;
  timeoutMs: number;
}

/** `ok`: the previous image is back, rolled out and read back; otherwise why not, with where the Deployment stands. */
export type UndoOutcome = { ok: true; revision: number | undefined } | { ok: false; reason: string };

export async function undoImage(session: DeliverySession, undo: ImageUndo): Promise<UndoOutcome> {
  const { client } = session;
  const ref = deploymentRef(undo.deployment);
  const name = describeRef(ref);
  const finishWith = `Run the rollback action (service ${session.event.service}, release ${session.release}) to put ${undo.previous} back once the cause is fixed`;
  try {
    const entry = (await session.journal.entries()).find(
      (e) => e.runId === session.runId && e.step === IMAGE_STEP && e.strategy === 'rolling' && e.status !== 'compensated',
    );
    const holder = await readLockHolder(client, {
      namespace: session.event.namespace ?? undo.deployment.namespace,
      service: session.event.service,
    });
    if (holder && holder.holder !== session.runId)
      return { ok: false, reason: `run ${holder.holder} now holds the lock of ${session.event.service}: leaving ${name} to it` };
    const live = findContainer(ref, (await readDeployment(client, undo.deployment)).spec?.template, undo.container).image;
    if (live !== undo.image && live !== undo.previous) {
      return {
        ok: false,
        reason: `${name} container ${undo.container} runs ${live} now, neither ${undo.image} (this run's) nor ${undo.previous} (before it): someone set it since. Not overwriting that; ${finishWith} (with force: true to overwrite it)`,
      };
    }
    if (live === undo.previous) {
      session.reporter.info(`${name}: container ${undo.container} already runs ${undo.previous} again; waiting for its rollout`);
      await waitForDeploymentRollout(client, undo.deployment, { timeoutMs: undo.timeoutMs });
    } else if (entry) {
      session.reporter.warn(`${name}: putting container ${undo.container} back to ${undo.previous}`);
      // No signal: an undo after a cancel must still finish (the post step picks it up if the process is killed).
      await compensate(client, entry, { reporter: session.reporter, wait: { timeoutMs: undo.timeoutMs } });
    } else {
      return {
        ok: false,
        reason: `${name} runs ${undo.image}, but the journal holds no open image entry of run ${session.runId} to undo; ${finishWith}`,
      };
    }
    const readBack = await readBackRollout(client, undo.deployment, { container: undo.container, image: undo.previous });
    if (readBack.differences.length > 0)
      return {
        ok: false,
        reason: `${undo.previous} was put back, but reading it back does not agree: ${readBack.differences.join('; ')}. ${finishWith}`,
      };
    if (entry) await session.journal.markCompensated(entry.id);
    return { ok: true, revision: readBack.revision };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const standing = await readDeployment(client, undo.deployment).then(
      (dep) => describeStanding(dep, undo.container),
      () => `${name} could not be read`,
    );
    return { ok: false, reason: `putting ${undo.previous} back failed: ${why}. ${standing}. ${finishWith}` };
  }
}
