import { describeRef } from '../kube/object-ref.js';
import type { Change, StateEntry } from '../kube/state-store.js';

/**
 * What a rollback undoes, decided from the journal alone (pure functions, no cluster).
 *
 * The "last change" is the newest run in the journal that changed something: the run of the newest
 * entry that is not `failed` (a failed entry changed nothing). Only that run's entries are undone,
 * and only those not compensated yet, so running a rollback twice finds nothing the second time
 * instead of reaching further back into history.
 */

/**
 * `capacity`: a Deployment the run scaled down (blue-green's old colour), scaled back up and waited
 * for before traffic returns to it; `traffic`: weights back; `workload`: images, revisions and
 * scale-ups put back once no traffic depends on them.
 */
export type Layer = 'capacity' | 'traffic' | 'workload';
export type JournalMode = 'auto' | 'traffic' | 'workload' | 'all';

/** One compensating write: the oldest entry of an object restores what was there before the run. */
export interface PlannedUndo {
  layer: Layer;
  /** The entry whose recorded `previous` is restored: the run's first change of this object. */
  target: StateEntry;
  /** Every entry of this object this undo settles (marked compensated), newest first. */
  entries: StateEntry[];
}

export interface RollbackPlan {
  /** The run whose changes are undone; undefined when the journal holds no change at all. */
  run?: { runId: string; strategy: string };
  /** In order: capacity, traffic, then workloads; within each, the most recently changed object first. */
  undos: PlannedUndo[];
  /** Why nothing is planned, when `undos` is empty. */
  nothingBecause?: string;
  /** Entries of the run that this rollback leaves alone (other layer, migrations), in words. */
  leftAlone: string[];
}

export function layerOf(change: Change): 'traffic' | 'workload' | 'migration' {
  switch (change.kind) {
    case 'traffic':
    case 'argo':
      return 'traffic';
    case 'image':
    case 'scale':
    case 'undo':
      return 'workload';
    case 'migration':
      return 'migration';
  }
}

/** The run of the newest entry that changed something (not `failed`). */
export function newestRun(journal: readonly StateEntry[]): { runId: string; strategy: string } | undefined {
  const newest = journal.findLast((e) => e.status !== 'failed');
  return newest && { runId: newest.runId, strategy: newest.strategy };
}

export function planRollback(journal: readonly StateEntry[], mode: JournalMode): RollbackPlan {
  const run = newestRun(journal);
  if (!run) return { undos: [], leftAlone: [], nothingBecause: 'nothing is recorded in the journal' };
  const open = journal.filter((e) => e.runId === run.runId && (e.status === 'applied' || e.status === 'planned'));
  if (open.length === 0) {
    return { run, undos: [], leftAlone: [], nothingBecause: `every change of the last run (${run.runId}, ${run.strategy}) is already undone` };
  }
  if (mode === 'auto' && run.strategy === 'rollback') {
    return {
      run,
      undos: [],
      leftAlone: open.map(describeEntry),
      nothingBecause: `the last change was made by rollback run ${run.runId}; auto does not undo a rollback (that would bring back what was rolled back): use mode workload to undo it on purpose`,
    };
  }
  const traffic = groupByObject(open.filter((e) => layerOf(e.change) === 'traffic'), 'traffic');
  const workloads = groupByObject(open.filter((e) => layerOf(e.change) === 'workload'), 'workload');
  // Traffic never goes back to a Deployment the run scaled down before it has its pods again, so
  // mode traffic restores that capacity too.
  const capacity = workloads.filter(restoresCapacity).map((undo): PlannedUndo => ({ ...undo, layer: 'capacity' }));
  const rest = workloads.filter((undo) => !restoresCapacity(undo));
  const undos = mode === 'traffic' ? [...capacity, ...traffic] : mode === 'workload' ? workloads : [...capacity, ...traffic, ...rest];
  const undone = new Set(undos.flatMap((u) => u.entries));
  const leftAlone = open.filter((e) => !undone.has(e)).map(describeEntry);
  const what = mode === 'traffic' || mode === 'workload' ? mode : 'traffic or workload';
  const nothingBecause = undos.length ? undefined : `the last run (${run.runId}, ${run.strategy}) has no ${what} change left to undo`;
  return { run, undos, leftAlone, nothingBecause };
}

/** A scale undo that brings replicas back up: the run scaled the object down overall. */
function restoresCapacity(undo: PlannedUndo): boolean {
  const oldest = undo.target.change;
  const newest = undo.entries[0]!.change;
  return oldest.kind === 'scale' && newest.kind === 'scale' && oldest.previous.replicas > newest.next.replicas;
}

/**
 * One undo per object (and container): restoring the oldest entry's `previous` undoes every later
 * change of the run to that object in one write, so traffic goes straight back to where it was
 * before the run instead of stepping back through each canary weight.
 */
function groupByObject(entries: readonly StateEntry[], layer: Layer): PlannedUndo[] {
  const groups = new Map<string, StateEntry[]>();
  for (const entry of [...entries].reverse()) {
    const key = objectKey(entry);
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups.values()].map((newestFirst) => ({ layer, target: newestFirst.at(-1)!, entries: newestFirst }));
}

function objectKey(entry: StateEntry): string {
  const { change } = entry;
  // Argo promotions and weight writes on one Rollout are undone together by one abort.
  const kind = change.kind === 'argo' || change.kind === 'traffic' ? 'traffic' : change.kind;
  const container = change.kind === 'image' ? `/${change.container}` : '';
  return `${kind} ${describeRef(entry.object)}${container}`;
}

export function describeEntry(entry: StateEntry): string {
  return `${entry.id} (${entry.change.kind} of ${describeRef(entry.object)}, ${entry.status})`;
}
