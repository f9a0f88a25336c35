/**
 * Undoes a release's journaled changes against live state, then reads everything back before
 * marking them compensated.
 */
import { compensate } from '../delivery/compensate.js';
import { liveState, recordedState } from '../delivery/live-state.js';
import type { KubeClient } from '../kube/client.js';
import { readDeployment, waitForDeploymentRollout } from '../kube/deployment.js';
import { describeRef } from '../kube/object-ref.js';
import { readyPodsOf } from '../kube/ready-pods.js';
import type { JournalEntry, Journal } from '../kube/journal.js';
import type { Reporter } from '../reporter.js';
import type { PlannedUndo, RollbackPlan } from './plan.js';
import { actionFor, type RollbackAction } from './report.js';

export interface UndoOptions {
  reporter: Reporter;
  /** Wait for each Deployment put back (image, revision) to roll out. */
  rolloutTimeoutMs: number;
  signal: AbortSignal;
  /** Restore the recorded state even over a change someone made since the release. */
  force: boolean;
  /** Told as soon as each compensation is applied on the cluster, before its entries are marked (benchmarks: "traffic restored"). */
  onUndone?: (action: RollbackAction) => void;
}

export interface UndoOutcome {
  /** The compensations written, in order. */
  actions: RollbackAction[];
  /** Objects found already as they were before the release (an abort put them back): nothing written. */
  alreadyBefore: string[];
}

/**
 * Undoes a release against live state, then proves it. For each planned undo, in order:
 *  - the object already holds what it held before the release (an abort did it): nothing to write;
 *  - it holds what the release left: the recorded `previous` is written back (shared `compensate`);
 *  - it holds something else (someone changed it since): stop and say what differs, unless `force`.
 * Then every object is read back and compared with its state before the release (weights, pod
 * counts, image, replicas, and ready pods where replicas are wanted). Only when all of it matches
 * are the journal entries marked compensated; otherwise `UndoFailure` names each object, field,
 * expected and actual value, and a later rollback (finding what already is as before) picks up.
 * A later layer is never touched while an earlier one (traffic) may still be wrong.
 */
export async function undoRecorded(
  client: KubeClient,
  journal: Journal,
  plan: Pick<RollbackPlan, 'undos' | 'trafficLeft' | 'release'>,
  options: UndoOptions,
): Promise<UndoOutcome> {
  const outcome: UndoOutcome = { actions: [], alreadyBefore: [] };
  const release = plan.release?.id ?? '?';
  for (const undo of plan.trafficLeft) {
    const before = recordedState(undo.target.change, 'previous');
    const live = await liveState(client, undo.target);
    if (before === undefined || live !== before) {
      throw new UndoFailure(
        undo,
        new Error(
          `mode workload leaves traffic alone, and ${describeRef(undo.target.object)} still routes ${live ?? 'traffic it cannot read exactly'}${before ? `, not ${before} as before release ${release}` : ''}: the workloads it would put back still take that traffic. Undo the traffic first (mode auto or traffic)`,
        ),
        outcome.actions,
      );
    }
  }
  for (const undo of plan.undos) {
    try {
      options.signal.throwIfAborted();
      const ref = describeRef(undo.target.object);
      const newest = undo.entries[0]!;
      const before = recordedState(undo.target.change, 'previous');
      const after = recordedState(newest.change, 'next');
      const live = await liveState(client, undo.target);
      if (before !== undefined && live === before) {
        options.reporter.info(`${ref} is already ${live}, as before release ${release}: nothing to undo there`);
        outcome.alreadyBefore.push(`${ref} (${live})`);
        continue;
      }
      if (after !== undefined && live !== undefined && !passedThrough(undo.entries).has(live)) {
        const changed = `${ref} is ${live}, but release ${release} left it ${after} (and it was ${before ?? 'not recorded'} before): someone changed it since`;
        if (!options.force)
          throw new Error(
            `${changed}. Not overwriting that; check who changed it, then run again with force: true to put back ${before ?? 'what was recorded'}`,
          );
        options.reporter.warn(`${changed}; force: putting back ${before ?? 'what was recorded'} anyway`);
      }
      options.reporter.info(
        `Undoing ${undo.entries.map((e) => e.step).join(', ')} of ${ref} (release ${release}, ${undo.target.strategy})`,
      );
      refuseWrongKind(undo);
      const result = await compensate(client, undo.target, {
        reporter: options.reporter,
        wait: { timeoutMs: options.rolloutTimeoutMs, signal: options.signal },
      });
      if (undo.layer === 'capacity') {
        // Traffic goes back to it next: its pods must be ready first.
        await waitForDeploymentRollout(client, undo.target.object, { timeoutMs: options.rolloutTimeoutMs, signal: options.signal });
        options.reporter.info(`${ref}: ${result.after} ready before traffic returns to it`);
      }
      const action = actionFor(undo, result.before, result.after);
      options.onUndone?.(action);
      outcome.actions.push(action);
    } catch (error) {
      throw error instanceof UndoFailure ? error : new UndoFailure(undo, error, outcome.actions);
    }
  }
  const differences = await verifyUndone(client, plan.undos);
  if (differences.length) {
    throw new UndoFailure(
      plan.undos[0]!,
      new Error(`read back after the undo, the cluster is not as before release ${release}: ${differences.join('; ')}`),
      outcome.actions,
      true,
    );
  }
  for (const entry of plan.undos.flatMap((u) => u.entries)) await journal.markCompensated(entry.id);
  return outcome;
}

/**
 * Every state the release left the object in on its way (each change's before and after): a run
 * killed around a write leaves one of them live, not necessarily the last one recorded. Anything
 * else was someone else's change.
 */
function passedThrough(entries: readonly JournalEntry[]): Set<string | undefined> {
  return new Set(entries.flatMap((e) => [recordedState(e.change, 'previous'), recordedState(e.change, 'next')]));
}

/** Each undone object read back against its state before the release; the differences, in words. */
async function verifyUndone(client: KubeClient, undos: readonly PlannedUndo[]): Promise<string[]> {
  const differences: string[] = [];
  for (const undo of undos) {
    const { object, change } = undo.target;
    const ref = describeRef(object);
    const expected = recordedState(change, 'previous');
    if (expected !== undefined) {
      const actual = await liveState(client, undo.target);
      if (actual !== expected) differences.push(`${ref} ${fieldOf(undo.target)} is ${actual}, expected ${expected}`);
    }
    if (object.kind === 'Deployment' && (change.kind === 'image' || change.kind === 'scale' || change.kind === 'undo')) {
      const dep = await readDeployment(client, object);
      const wanted = dep.spec?.replicas ?? 1;
      if (wanted > 0 && readyPodsOf(dep) === 0) differences.push(`${ref} has 0 ready pods of ${wanted} wanted`);
    }
  }
  return differences;
}

function fieldOf(entry: JournalEntry): string {
  switch (entry.change.kind) {
    case 'traffic':
      return entry.change.router.type === 'replica-ratio' ? 'replicas (replica ratio)' : 'weights';
    case 'image':
      return `container ${entry.change.container} image`;
    case 'scale':
      return 'replicas';
    default:
      return entry.change.kind;
  }
}

/** An undo failed (or the read-back after it did not match); `done` is what was written before. */
export class UndoFailure extends Error {
  override readonly name = 'UndoFailure';
  constructor(
    readonly undo: PlannedUndo,
    readonly error: unknown,
    readonly done: RollbackAction[],
    /** The writes went through, but reading the objects back did not show the state before the release. */
    readonly verification = false,
  ) {
    super(
      verification
        ? error instanceof Error
          ? error.message
          : String(error)
        : `could not undo ${undo.target.step} of ${describeRef(undo.target.object)} (journal entry ${undo.target.id}): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
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
