/**
 * What the ledger allows next, as pure functions of a version's rows. A phase's state is the
 * status of its latest row: an attempt that failed or was rolled back can be tried again, one
 * that succeeded is done.
 */
import { FORWARD_PHASES, type ForwardPhase, type LedgerRow, type LedgerStatus } from './ledger.js';

/** The latest row of `phase`, if any. */
export function latestRow(rows: readonly LedgerRow[], phase: ForwardPhase): LedgerRow | undefined {
  let latest: LedgerRow | undefined;
  for (const row of rows) if (row.phase === phase && (!latest || row.id > latest.id)) latest = row;
  return latest;
}

export function phaseStatus(rows: readonly LedgerRow[], phase: ForwardPhase): LedgerStatus | undefined {
  return latestRow(rows, phase)?.status;
}

export function isDone(rows: readonly LedgerRow[], phase: ForwardPhase): boolean {
  return phaseStatus(rows, phase) === 'succeeded';
}

/**
 * Why `phase` may not run yet, or undefined when it may. `migrate` needs a finished `expand`;
 * `contract` needs a finished `migrate`, or a finished `expand` when the version has no
 * migrate phase at all (a migrate that failed or was rolled back does not count as skipped).
 */
export function missingPrerequisite(rows: readonly LedgerRow[], phase: ForwardPhase, version: string): string | undefined {
  const describe = (p: ForwardPhase) => {
    const status = phaseStatus(rows, p);
    return status === undefined ? `has not run` : `is ${status}`;
  };
  if (phase === 'migrate' && !isDone(rows, 'expand')) {
    return `migrate needs a finished expand of ${version}, and expand ${describe('expand')}`;
  }
  if (phase === 'contract') {
    const migrate = phaseStatus(rows, 'migrate');
    if (migrate !== undefined && migrate !== 'succeeded') {
      return `contract needs a finished migrate of ${version}, and migrate ${describe('migrate')}`;
    }
    if (migrate === undefined && !isDone(rows, 'expand')) {
      return `contract needs a finished migrate (or expand) of ${version}, and expand ${describe('expand')}`;
    }
  }
  return undefined;
}

/** The furthest phase that is done, or `none`. */
export function furthestPhase(rows: readonly LedgerRow[]): ForwardPhase | 'none' {
  for (const phase of [...FORWARD_PHASES].reverse()) if (isDone(rows, phase)) return phase;
  return 'none';
}
