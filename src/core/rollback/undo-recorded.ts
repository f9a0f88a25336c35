import { compensate } from '../delivery/compensate.js';
import type { KubeClient } from '../kube/client.js';
import { waitForDeploymentRollout } from '../kube/deployment.js';
import { describeRef } from '../kube/object-ref.js';
import type { Change, StateStore } from '../kube/state-store.js';
import { formatWeights } from '../kube/weights.js';
import type { Reporter } from '../reporter.js';
import type { PlannedUndo } from './plan.js';
import { actionFor, type RollbackAction } from './report.js';

export interface UndoOptions {
  reporter: Reporter;
  /** Wait for each Deployment put back (image, revision) to roll out. */
  rolloutTimeoutMs: number;
  signal: AbortSignal;
  /** Told as soon as each compensation is applied on the cluster, before its entries are marked (benchmarks: "traffic restored"). */
  onUndone?: (action: RollbackAction) => void;
}

/**
 * Applies the planned undos in order, each with the shared `compensate` (the entry's recorded
 * `previous`), and marks every entry it settles compensated. Stops at the first that fails and
 * throws `UndoFailure` with what was done before it: a later layer is never touched while an
 * earlier one (traffic) may still be wrong. Each undo writes recorded values, so a rollback that
 * stopped midway is simply run again and picks up the entries not yet marked.
 */
export async function undoRecorded(client: KubeClient, journal: StateStore, undos: readonly PlannedUndo[], options: UndoOptions): Promise<RollbackAction[]> {
  const done: RollbackAction[] = [];
  for (const undo of undos) {
    try {
      options.signal.throwIfAborted();
      const newest = undo.entries[0]!;
      options.reporter.info(`Undoing ${undo.entries.map((e) => e.step).join(', ')} of ${describeRef(undo.target.object)} (run ${undo.target.runId}, ${undo.target.strategy})`);
      refuseWrongKind(undo);
      const result = await compensate(client, undo.target, {
        reporter: options.reporter,
        wait: { timeoutMs: options.rolloutTimeoutMs, signal: options.signal },
      });
      if (undo.layer === 'capacity') {
        // Traffic goes back to it next: its pods must be ready first.
        await waitForDeploymentRollout(client, undo.target.object, { timeoutMs: options.rolloutTimeoutMs, signal: options.signal });
        options.reporter.info(`${describeRef(undo.target.object)}: ${result.after} ready before traffic returns to it`);
      }
      const recorded = recordedState(newest.change);
      if (recorded !== undefined && !sameDescription(recorded, result.before)) {
        options.reporter.warn(
          `${describeRef(undo.target.object)} was ${result.before}, not ${recorded} as run ${newest.runId} left it: it was changed since; restored ${result.after} as recorded before the run`,
        );
      }
      const action = actionFor(undo, result.before, result.after);
      options.onUndone?.(action);
      for (const entry of undo.entries) await journal.markCompensated(entry.id);
      done.push(action);
    } catch (error) {
      throw new UndoFailure(undo, error, done);
    }
  }
  return done;
}

/** An undo failed; `done` is what was undone (and marked) before it. */
export class UndoFailure extends Error {
  override readonly name = 'UndoFailure';
  constructor(
    readonly undo: PlannedUndo,
    readonly error: unknown,
    readonly done: RollbackAction[],
  ) {
    super(`could not undo ${undo.target.step} of ${describeRef(undo.target.object)} (journal entry ${undo.target.id}): ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** What the change left live, in the words `compensate` reports `before` in; undefined when not comparable. */
function recordedState(change: Change): string | undefined {
  switch (change.kind) {
    case 'traffic':
      // A replica ratio only approximates the weights it was asked for: nothing exact to compare.
      return change.router.type === 'replica-ratio' ? undefined : formatWeights(change.next);
    case 'image':
      return change.next.image;
    case 'scale':
      return `${change.next.replicas} replicas`;
    default:
      return undefined;
  }
}

/** Weights are described `a 10%, b 90%`; their order does not matter. */
function sameDescription(a: string, b: string): boolean {
  const pieces = (text: string) => text.split(', ').sort().join(', ');
  return pieces(a) === pieces(b);
}

/**
 * `compensate` puts images, replicas and revisions back on Deployments only; an entry recorded on
 * another kind (an Argo Rollout's image) would be written to a Deployment of the same name.
 * Refused, so that the wrong object is never changed.
 */
function refuseWrongKind(undo: PlannedUndo): void {
  const { change, object } = undo.target;
  const undoable = object.kind === 'Deployment' || (change.kind === 'image' && object.kind === 'Rollout');
  if ((change.kind === 'image' || change.kind === 'scale' || change.kind === 'undo') && !undoable) {
    throw new Error(
      `the journal recorded a${change.kind === 'image' ? 'n' : ''} ${change.kind} change of ${describeRef(object)}, and the shared compensate undoes those on Deployments (and images on Argo Rollouts) only; not touching it (put it back by hand: ${describeChangeBack(undo)})`,
    );
  }
}

function describeChangeBack(undo: PlannedUndo): string {
  const { change } = undo.target;
  switch (change.kind) {
    case 'image':
      return `container ${change.container} image ${change.previous.image}`;
    case 'scale':
      return `${change.previous.replicas} replicas`;
    case 'undo':
      return `revision ${change.previous.revision ?? '?'}`;
    default:
      return 'as recorded';
  }
}
