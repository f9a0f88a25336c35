/**
 * Undoing one journal entry with the `previous` values it recorded, shared by the post step of an
 * unfinished run and the rollback action.
 */
import { ArgoRollout } from '../kube/argo-rollout.js';
import type { KubeClient } from '../kube/client.js';
import { scaleDeployment, setDeploymentImage, undoDeployment, waitForDeploymentRollout } from '../kube/deployment.js';
import { describeRef } from '../kube/object-ref.js';
import type { JournalEntry } from '../kube/journal.js';
import { formatWeights } from '../kube/weights.js';
import type { Reporter } from '../reporter.js';
import { ReplicaRatioRouter } from '../kube/routers/replica-ratio.js';
import { sleepMs } from '../retry.js';
import { createRouter } from '../kube/routers/factory.js';

export interface CompensateOptions {
  reporter: Reporter;
  /** Wait for a workload put back to roll out (image and revision undos). Without it, return after the write. */
  wait?: { timeoutMs: number; signal?: AbortSignal };
}

export interface Compensation {
  entry: JournalEntry;
  /** What it was before the undo, and after, in words for logs and summaries. */
  before: string;
  after: string;
}

/**
 * Undoes one journal entry with the `previous` values it recorded: the saga's compensating step.
 * Each undo is idempotent (writing the previous weights or image twice changes nothing), so a
 * rollback that dies midway is simply run again. Migrations are not undone here: the rollback
 * action hands them to the migrate phases.
 */
export async function compensate(client: KubeClient, entry: JournalEntry, options: CompensateOptions): Promise<Compensation> {
  const { change, object } = entry;
  const ref = describeRef(object);
  switch (change.kind) {
    case 'traffic': {
      const router = createRouter(client, change.router);
      const before = await router.read();
      // A replica ratio puts back the pod counts it found, not pods recomputed from the weights.
      const after =
        router instanceof ReplicaRatioRouter && change.pods
          ? await router.restorePods(change.pods.previous)
          : await router.write(change.previous);
      options.reporter.info(`${router.describe()}: traffic back to ${formatWeights(after)} (was ${formatWeights(before)})`);
      return { entry, before: formatWeights(before), after: formatWeights(after) };
    }
    case 'image': {
      if (object.kind === 'Rollout') {
        const rollout = new ArgoRollout(client, object.namespace, object.name);
        const result = await rollout.setImage(change.previous.image, change.container);
        // The old template is a new revision to the controller, which would walk it through the
        // canary steps and stop at the first pause; a rollback goes straight back, as Argo's own
        // rollbackWindow does for a recent revision: promote it fully once the controller has seen it.
        if (result.changed && options.wait) await promoteFullOnceObserved(rollout, options.wait);
        if (options.wait) await rollout.waitFor('healthy', options.wait);
        options.reporter.info(`${ref}: container ${change.container} back to ${change.previous.image}`);
        return { entry, before: result.previousImage, after: result.image };
      }
      const result = await setDeploymentImage(client, {
        namespace: object.namespace,
        name: object.name,
        container: change.container,
        image: change.previous.image,
      });
      if (options.wait) await waitForDeploymentRollout(client, object, options.wait);
      options.reporter.info(`${ref}: container ${change.container} back to ${change.previous.image}`);
      return { entry, before: result.previousImage, after: result.image };
    }
    case 'scale': {
      const { previousReplicas } = await scaleDeployment(client, {
        namespace: object.namespace,
        name: object.name,
        replicas: change.previous.replicas,
      });
      options.reporter.info(`${ref}: scaled back to ${change.previous.replicas} replicas`);
      return { entry, before: `${previousReplicas} replicas`, after: `${change.previous.replicas} replicas` };
    }
    case 'undo': {
      if (change.previous.revision === undefined)
        throw new Error(`${ref}: the journal does not say which revision to return to (entry ${entry.id})`);
      const result = await undoDeployment(client, { namespace: object.namespace, name: object.name, toRevision: change.previous.revision });
      if (options.wait) await waitForDeploymentRollout(client, object, options.wait);
      options.reporter.info(`${ref}: back to revision ${change.previous.revision}`);
      return { entry, before: `revision ${change.next.revision}`, after: `revision ${result.toRevision}` };
    }
    case 'argo': {
      if (change.action === 'abort') return { entry, before: 'aborted', after: 'aborted' };
      const status = await new ArgoRollout(client, object.namespace, object.name).status();
      if (status.aborted || status.currentPodHash === status.stableRS) {
        // Nothing in progress to abort (promoted fully, or aborted already): the stable ReplicaSet
        // serves everything; the image entry of the same release puts the old version back.
        options.reporter.info(
          `${ref}: no canary in progress (${status.aborted ? 'aborted' : 'the stable ReplicaSet runs the template'}); nothing to abort`,
        );
        return { entry, before: `${status.actualWeight}% canary`, after: `${status.actualWeight}% canary` };
      }
      // A promotion cannot be taken back step by step; aborting returns all traffic to stable.
      await new ArgoRollout(client, object.namespace, object.name).abort();
      options.reporter.info(`${ref}: aborted (traffic back to stable) to undo "${change.action}"`);
      return { entry, before: `${change.next.weight}% canary`, after: '0% canary (aborted)' };
    }
    case 'migration':
      throw new Error(`${ref}: a migration is undone by the migrate phases (rollback with mode migration), not here`);
  }
}

/**
 * Promotes the Rollout fully until its stable ReplicaSet is the one running the restored template.
 * The controller may move (to its first pause step) between our read and our promote, which then
 * gives up rather than promote twice; here promoting again is what is wanted, so it is asked until
 * the Rollout stands on the restored template.
 */
async function promoteFullOnceObserved(rollout: ArgoRollout, wait: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const status = await rollout.status();
    if (status.observed && status.currentPodHash === status.stableRS) return;
    if (status.observed) await rollout.promote({ full: true });
    if (Date.now() > deadline) {
      throw new Error(
        `${rollout.namespace}/${rollout.name}: the Argo Rollouts controller did not make the restored template stable within ${Math.round(wait.timeoutMs / 1000)}s (phase ${status.phase}${status.message ? `: ${status.message}` : ''})`,
      );
    }
    await sleepMs(100, wait.signal);
  }
}
