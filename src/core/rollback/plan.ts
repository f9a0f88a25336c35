/**
 * What a rollback undoes, decided from the journal alone (pure functions, no cluster).
 *
 * The unit of undo is the release: one intended change of the service, made by one or more runs
 * (a canary's start, promote and abort; a resumed run). Without a target the newest release that
 * changed something is undone (its newest entry that is not `failed`: a failed entry changed
 * nothing); with one, exactly that release (or the release of that run id). A release whose
 * changes are all undone has nothing left: a second rollback does not reach further back into
 * history (that would revert the release before it, which nobody asked for).
 *
 * Each object the release touched is put back to what it was before the release's first change
 * of it, across all its runs, in one write: never through the intermediate states on the way.
 */
import { describeRef } from '../kube/object-ref.js';
import { releaseOf, type Change, type JournalEntry } from '../kube/journal.js';

/**
 * `capacity`: a Deployment the release scaled down (blue-green's old color), scaled back up and
 * waited for before traffic returns to it; `traffic`: weights back; `workload`: images, revisions
 * and scale-ups put back once no traffic depends on them.
 */
export type Layer = 'capacity' | 'traffic' | 'workload';
export type JournalMode = 'auto' | 'traffic' | 'workload' | 'all';

/** One compensating write: the release's oldest open entry of an object restores what was there before it. */
export interface PlannedUndo {
  layer: Layer;
  /** The entry whose recorded `previous` is restored: the release's first change of this object. */
  target: JournalEntry;
  /** Every entry of this object this undo settles (marked compensated), newest first. */
  entries: JournalEntry[];
}

export interface RollbackPlan {
  /** The release whose changes are undone, with the runs that made them; undefined when none is found. */
  release?: { id: string; runs: string[]; strategy: string };
  /** In order: capacity, traffic, then workloads; within each, the most recently changed object first. */
  undos: PlannedUndo[];
  /**
   * Traffic of the release still open while mode workload undoes its workloads: the rollback checks
   * live that none of it still sends traffic away from where it was before the release.
   */
  trafficLeft: PlannedUndo[];
  /** Why nothing is planned, when `undos` is empty. */
  nothingBecause?: string;
  /** The target names a run or release that changed nothing (or is unknown): nothing to undo, not a refusal. */
  changedNothing?: boolean;
  /** Entries of the release that this rollback leaves alone (other layer), in words. */
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

/** The release of the newest entry that changed something (not `failed`). */
export function newestRelease(journal: readonly JournalEntry[]): string | undefined {
  const newest = journal.findLast((e) => e.status !== 'failed');
  return newest && releaseOf(newest);
}

/** The release `target` names: a release id, else the release of a run id; undefined when neither is recorded. */
export function releaseNamed(journal: readonly JournalEntry[], target: string): string | undefined {
  if (journal.some((e) => releaseOf(e) === target)) return target;
  const run = journal.find((e) => e.runId === target);
  return run && releaseOf(run);
}

export function planRollback(journal: readonly JournalEntry[], mode: JournalMode, target?: string): RollbackPlan {
  const empty = { undos: [], trafficLeft: [], leftAlone: [] };
  const id = target === undefined ? newestRelease(journal) : releaseNamed(journal, target);
  if (id === undefined) {
    if (target === undefined) return { ...empty, nothingBecause: 'nothing is recorded in the journal' };
    return {
      ...empty,
      changedNothing: true,
      nothingBecause: `${target} changed nothing: no change of it is recorded in the journal, so there is nothing to undo`,
    };
  }
  const all = journal.filter((e) => releaseOf(e) === id);
  const release = {
    id,
    runs: [...new Set(all.map((e) => e.runId))],
    strategy: all.findLast((e) => e.status !== 'failed')?.strategy ?? all.at(-1)!.strategy,
  };
  if (all.every((e) => e.status === 'failed')) {
    return {
      ...empty,
      release,
      changedNothing: true,
      nothingBecause: `release ${id} changed nothing (every change it tried failed before it was made)`,
    };
  }
  const open = all.filter((e) => e.status === 'applied' || e.status === 'planned');
  if (open.length === 0) {
    return { ...empty, release, nothingBecause: `every change of release ${id} (${release.strategy}) is already undone` };
  }
  if (mode === 'auto' && open.every((e) => e.strategy === 'rollback')) {
    return {
      ...empty,
      release,
      leftAlone: open.map(describeEntry),
      nothingBecause: `the last change was made by rollback run ${release.runs.join(', ')}; auto does not undo a rollback (that would bring back what was rolled back): use mode workload to undo it on purpose`,
    };
  }
  const traffic = groupByObject(
    open.filter((e) => layerOf(e.change) === 'traffic'),
    'traffic',
  );
  const workloads = groupByObject(
    open.filter((e) => layerOf(e.change) === 'workload'),
    'workload',
  );
  // Traffic never goes back to a Deployment the release scaled down before it has its pods again,
  // so mode traffic restores that capacity too.
  const capacity = workloads.filter(restoresCapacity).map((undo): PlannedUndo => ({ ...undo, layer: 'capacity' }));
  const rest = workloads.filter((undo) => !restoresCapacity(undo));
  const undos = mode === 'traffic' ? [...capacity, ...traffic] : mode === 'workload' ? workloads : [...capacity, ...traffic, ...rest];
  const undone = new Set(undos.flatMap((u) => u.entries));
  const leftAlone = open.filter((e) => !undone.has(e)).map(describeEntry);
  const what = mode === 'traffic' || mode === 'workload' ? mode : 'traffic or workload';
  const nothingBecause = undos.length ? undefined : `release ${id} (${release.strategy}) has no ${what} change left to undo`;
  return { release, undos, trafficLeft: mode === 'workload' ? traffic : [], leftAlone, nothingBecause };
}

/** A scale undo that brings replicas back up: the release scaled the object down overall. */
function restoresCapacity(undo: PlannedUndo): boolean {
  const oldest = undo.target.change;
  const newest = undo.entries[0]!.change;
  return oldest.kind === 'scale' && newest.kind === 'scale' && oldest.previous.replicas > newest.next.replicas;
}

/**
 * One undo per object (and container): restoring the oldest entry's `previous` undoes every later
 * change of the release to that object in one write, so traffic goes straight back to where it was
 * before the release instead of stepping back through each canary weight.
 */
function groupByObject(entries: readonly JournalEntry[], layer: Layer): PlannedUndo[] {
  const groups = new Map<string, JournalEntry[]>();
  for (const entry of [...entries].reverse()) {
    const key = objectKey(entry);
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups.values()].map((newestFirst) => ({ layer, target: newestFirst.at(-1)!, entries: newestFirst }));
}

function objectKey(entry: JournalEntry): string {
  const { change } = entry;
  // Argo promotions and weight writes on one Rollout are undone together by one abort.
  const kind = change.kind === 'argo' || change.kind === 'traffic' ? 'traffic' : change.kind;
  const container = change.kind === 'image' ? `/${change.container}` : '';
  return `${kind} ${describeRef(entry.object)}${container}`;
}

export function describeEntry(entry: JournalEntry): string {
  return `${entry.id} (${entry.change.kind} of ${describeRef(entry.object)}, ${entry.status})`;
}
