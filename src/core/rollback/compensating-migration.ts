/**
 * The rollback action's migration layer: a release's compensating migration, through migrate's own
 * `rollback` phase.
 */
import { spawnCommandRunner } from '../command-runner.js';
import { openConnection, readLedger, readRelease, runPhase, type LedgerRow, type PhaseLimits } from '../migrate/index.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import type { RollbackAction } from './report.js';

export interface MigrationRollbackOptions {
  databaseUrl: string;
  /**
   * Override: replaces the recorded command of the newest phase to compensate (never contract's),
   * and only that phase is compensated. Empty: each phase's own command, from the ledger.
   */
  rollbackCommand?: readonly string[];
  /** Compensates a contract; only with confirm `data-loss`. */
  contractRollbackCommand?: readonly string[];
  confirm?: string;
  /** The release whose migrations are compensated (the `release` its migrate runs recorded). */
  release?: string;
  /** Only this version. Empty with a release: the release's versions; empty without: the newest ledger row's release. */
  version?: string;
  runId: string;
  limits: PhaseLimits;
  dryRun: boolean;
  reporter: Reporter;
  secrets: Secrets;
  signal: AbortSignal;
}

export type MigrationRollbackOutcome =
  | { actions: RollbackAction[] }
  /** `recorded: false` when the ledger has nothing for the version at all (a refusal, not a re-run). */
  | { nothingBecause: string; recorded: boolean }
  | { failure: string; actions: RollbackAction[] };

/**
 * The compensating migration of a release, through migrate's own `rollback` phase: under the
 * migration lock, between its safety checks, each phase of the release that changed something is
 * compensated with its own recorded rollback-command, newest first, and the schema is checked
 * against the snapshot from before that phase. Only the release's ledger rows are touched: never
 * an older, finished version. A release with no ledger rows changed nothing in the database, so
 * there is nothing to compensate. A contract is compensated only with a contract-rollback-command
 * and confirm `data-loss` (migrate's compensation.ts).
 */
export async function compensateMigration(options: MigrationRollbackOptions): Promise<MigrationRollbackOutcome> {
  const found = await findVersions(options);
  if ('nothingBecause' in found) return found;
  const actions: RollbackAction[] = [];
  const notes: string[] = [];
  for (const version of found.versions) {
    const before = new Map(found.rows.filter((r) => r.version === version).map((r) => [r.id, r]));
    const outcome = await runPhase({
      phase: 'rollback',
      version,
      release: found.release,
      runId: options.runId,
      rollbackCommand: options.rollbackCommand,
      contractRollbackCommand: options.contractRollbackCommand,
      confirm: options.confirm,
      databaseUrl: options.databaseUrl,
      limits: options.limits,
      dryRun: options.dryRun,
      runner: spawnCommandRunner(),
      reporter: options.reporter,
      secrets: options.secrets,
      signal: options.signal,
    });
    for (const c of outcome.compensated) {
      const target = before.get(c.row);
      actions.push(
        migrationAction({
          entry: `ledger/${c.rollbackRow ?? c.row}`,
          step: `rollback ${c.phase}`,
          before: `${c.phase} of ${version} ${target?.status ?? 'done'} (ledger row ${c.row})`,
          after:
            outcome.result === 'planned'
              ? `${c.phase} of ${version} would be compensated (dry run: nothing was run)`
              : `${c.phase} of ${version} rolled-back (ledger row ${c.rollbackRow}); the version is now at ${outcome.state}`,
        }),
      );
    }
    if (outcome.result === 'skipped') notes.push(outcome.message);
    else if (outcome.result !== 'succeeded' && outcome.result !== 'planned') {
      const output = outcome.output.length ? ` (last output: ${outcome.output.slice(-3).join(' / ')})` : '';
      return { failure: `the compensating migration of ${version} ${outcome.result}: ${outcome.message}${output}`, actions };
    }
  }
  if (actions.length === 0) return { nothingBecause: notes.join('; '), recorded: true };
  return { actions };
}

type Found = { versions: string[]; release: string | undefined; rows: LedgerRow[] } | { nothingBecause: string; recorded: boolean };

/** Reads the ledger (no lock: runPhase decides again under it) for the versions to compensate, newest first. */
async function findVersions(options: MigrationRollbackOptions): Promise<Found> {
  const { client } = await openConnection({
    databaseUrl: options.databaseUrl,
    applicationName: `progressive-delivery rollback ${options.runId}`.slice(0, 63),
  });
  try {
    let release = options.release;
    let rows: LedgerRow[];
    if (release === undefined && options.version === undefined) {
      const newest = (await readLedger(client)).at(-1);
      if (!newest) return { nothingBecause: 'the migration ledger of this database is empty: no migration was recorded', recorded: false };
      if (newest.release) {
        release = newest.release;
        options.reporter.info(
          `No release or version given: compensating release ${release}, the release of the newest ledger row (${newest.id}, ${newest.version} ${newest.phase} ${newest.status}, run ${newest.runId})`,
        );
      } else {
        options.reporter.info(
          `No release or version given: compensating ${newest.version}, the version of the newest ledger row (${newest.id}, ${newest.phase} ${newest.status}, run ${newest.runId})`,
        );
        return { versions: [newest.version], release: undefined, rows: await readLedger(client, newest.version) };
      }
    }
    if (release !== undefined) {
      rows = (await readRelease(client, release)).filter((r) => options.version === undefined || r.version === options.version);
      if (rows.length === 0) {
        const of = options.version ? ` of version ${options.version}` : '';
        return {
          nothingBecause: `release ${release} has no row${of} in the migration ledger: it changed nothing in this database, so nothing was touched`,
          recorded: true,
        };
      }
    } else {
      rows = await readLedger(client, options.version);
      if (rows.length === 0) return { nothingBecause: `the migration ledger has no row of version ${options.version}`, recorded: false };
    }
    const versions = [...new Set([...rows].reverse().map((r) => r.version))];
    return { versions, release, rows };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function migrationAction(fields: Pick<RollbackAction, 'entry' | 'step' | 'before' | 'after'>): RollbackAction {
  return { ...fields, entries: [], layer: 'migration', object: 'database' };
}
