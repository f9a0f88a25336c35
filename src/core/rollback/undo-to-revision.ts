/**
 * The rollback action's `to-revision`: a Deployment put back to an earlier revision, journaled so
 * it can be undone in turn.
 */
import type { DeliverySession } from '../delivery/session.js';
import {
  deploymentRef,
  listOwnedReplicaSets,
  readDeployment,
  revisionOf,
  undoDeployment,
  waitForDeploymentRollout,
} from '../kube/deployment.js';
import { KubeObjectError } from '../kube/errors.js';
import { describeRef } from '../kube/object-ref.js';
import type { Change, JournalEntry } from '../kube/journal.js';
import type { RollbackAction } from './report.js';

export interface RevisionUndoOptions {
  namespace: string;
  deployment: string;
  toRevision: number;
  rolloutTimeoutMs: number;
}

export type RevisionUndoOutcome = { action: RollbackAction } | { nothingBecause: string };

/**
 * `kubectl rollout undo --to-revision=N`, then `kubectl rollout status`: the Deployment gets the pod
 * template of its revision N (which becomes its newest revision). The undo is journaled as a change
 * of its own (kind `undo`, with the revision it left), so it shows in the journal and mode
 * `workload` can undo it.
 *
 * Safe to run twice: a Deployment already at revision N, or already put back to N by an earlier
 * rollback that is still live (same images, entry not compensated), is left alone. A revision that
 * is not in the history is refused before anything is recorded.
 */
export async function undoToRevision(session: DeliverySession, options: RevisionUndoOptions): Promise<RevisionUndoOutcome> {
  const ref = deploymentRef({ namespace: options.namespace, name: options.deployment });
  const dep = await readDeployment(session.client, ref);
  const current = revisionOf(dep);
  const liveImages = imagesOf(dep.spec?.template.spec?.containers);
  if (current === options.toRevision) return { nothingBecause: `${describeRef(ref)} is at revision ${current} already` };

  const earlier = (await session.journal.entries()).findLast((e) => isLiveUndoTo(e, ref.name, ref.namespace, options.toRevision));
  if (earlier && sameImages((earlier.change as Extract<Change, { kind: 'undo' }>).next.images, liveImages)) {
    return {
      nothingBecause: `${describeRef(ref)} was already put back to revision ${options.toRevision} by run ${earlier.runId} (journal entry ${earlier.id}) and still runs it (now revision ${current ?? '?'})`,
    };
  }

  const history = (await listOwnedReplicaSets(session.client, dep))
    .map((rs) => ({ revision: revisionOf(rs), rs }))
    .filter((x) => x.revision !== undefined);
  const target = history.find((x) => x.revision === options.toRevision);
  if (!target) {
    const revisions = history.map((x) => x.revision!).sort((a, b) => a - b);
    throw new KubeObjectError(
      ref,
      `has no revision ${options.toRevision} in its history (revisions ${revisions.join(', ') || 'none'}); nothing was changed`,
    );
  }
  const images = imagesOf(target.rs.spec?.template?.spec?.containers);
  const before = `revision ${current ?? '?'} (${describeImages(liveImages)})`;
  const after = `revision ${options.toRevision} (${describeImages(images)})`;
  const step = `undo-${options.deployment}-to-revision-${options.toRevision}`;
  const action: RollbackAction = {
    entry: `${session.runId}/${step}`,
    entries: [`${session.runId}/${step}`],
    layer: 'workload',
    step,
    object: describeRef(ref),
    before,
    after,
  };
  if (session.dryRun) return { action };

  const change: Change = { kind: 'undo', previous: { revision: current }, next: { revision: options.toRevision, images } };
  await session.change(step, ref, change, () => undoDeployment(session.client, { ...ref, toRevision: options.toRevision }));
  // Waited for after the change is recorded applied: the template is changed even if the rollout then stalls.
  const rolledOut = await waitForDeploymentRollout(session.client, ref, {
    timeoutMs: options.rolloutTimeoutMs,
    signal: session.signal,
    onProgress: (message) => session.reporter.info(`${describeRef(ref)}: ${message}`),
  });
  session.reporter.info(
    `${describeRef(ref)}: back to the template of revision ${options.toRevision}, rolled out as revision ${rolledOut.revision ?? '?'}`,
  );
  return { action: { ...action, after: `${after}, now revision ${rolledOut.revision ?? '?'}` } };
}

function isLiveUndoTo(entry: JournalEntry, name: string, namespace: string, revision: number): boolean {
  return (
    entry.change.kind === 'undo' &&
    entry.change.next.revision === revision &&
    (entry.status === 'applied' || entry.status === 'planned') &&
    entry.object.kind === 'Deployment' &&
    entry.object.name === name &&
    entry.object.namespace === namespace
  );
}

function imagesOf(containers: readonly { name: string; image?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((containers ?? []).map((c) => [c.name, c.image ?? '']));
}

function sameImages(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

function describeImages(images: Record<string, string>): string {
  return Object.entries(images)
    .map(([name, image]) => `${name}=${image}`)
    .join(', ');
}
