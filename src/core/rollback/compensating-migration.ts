import { spawnCommandRunner } from '../migrate/command-runner.js';
import { openConnection } from '../migrate/connection.js';
import { readLedger, type LedgerRow } from '../migrate/ledger.js';
import { rollbackTarget } from '../migrate/phase-order.js';
import { runPhase, type PhaseLimits } from '../migrate/phase.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import type { RollbackAction } from './report.js';

export interface MigrationRollbackOptions {
  databaseUrl: string;
  rollbackCommand: readonly string[];
  /** Empty: the version of the newest ledger row. */
  version?: string;
  runId: string;
  limits: PhaseLimits;
  dryRun: boolean;
  reporter: Reporter;
  secrets: Secrets;
  signal: AbortSignal;
}

export type MigrationRollbackOutcome =
  | { action: RollbackAction }
  /** `recorded: false` when the ledger has nothing for the version at all (a refusal, not a re-run). */
  | { nothingBecause: string; recorded: boolean }
  | { failure: string };

/**
 * The compensating migration, through migrate's own `rollback` phase: under the migration lock,
 * between its safety checks, it runs `rollback-command` for the furthest phase of the version that
 * succeeded or failed, and records that in the ledger (a `rollback` row, the compensated row marked
 * `rolled-back`). One phase per run, as migrate does it; running it again compensates the next
 * phase down only if the rollback-command given is that phase's.
 */
export async function compensateMigration(options: MigrationRollbackOptions): Promise<MigrationRollbackOutcome> {
  const found = await findTarget(options);
  if ('nothingBecause' in found) return found;
  const { version, target } = found;
  const before = `${target.phase} of ${version} ${target.status} (ledger row ${target.id})`;
  if (options.dryRun) {
    return { action: migrationAction({ entry: `ledger/${target.id}`, step: `rollback ${target.phase}`, before, after: `${target.phase} rolled-back by rollback-command` }) };
  }

  const outcome = await runPhase({
    phase: 'rollback',
    version,
    runId: options.runId,
    rollbackCommand: options.rollbackCommand,
    databaseUrl: options.databaseUrl,
    limits: options.limits,
    runner: spawnCommandRunner(),
    reporter: options.reporter,
    secrets: options.secrets,
    signal: options.signal,
  });
  if (outcome.result === 'skipped') return { nothingBecause: outcome.message, recorded: true };
  if (outcome.result !== 'succeeded') {
    const output = outcome.output.length ? ` (last output: ${outcome.output.slice(-3).join(' / ')})` : '';
    return { failure: `the compensating migration of ${version} ${outcome.result}: ${outcome.message}${output}` };
  }
  const row = outcome.ledger.findLast((r) => r.phase === 'rollback' && r.runId === options.runId);
  const compensated = row?.compensates ?? target.phase;
  return {
    action: migrationAction({
      entry: `ledger/${row?.id ?? '?'}`,
      step: `rollback ${compensated}`,
      before,
      after: `${compensated} of ${version} rolled-back (ledger row ${row?.id ?? '?'}); the version is now at ${outcome.state}`,
    }),
  };
}

/** Reads the ledger (no lock: runPhase decides again under it) for the version and the phase a rollback would compensate. */
async function findTarget(options: MigrationRollbackOptions): Promise<{ version: string; target: LedgerRow } | { nothingBecause: string; recorded: boolean }> {
  const { client } = await openConnection({ databaseUrl: options.databaseUrl, applicationName: `progressive-delivery rollback ${options.runId}`.slice(0, 63) });
  try {
    let version = options.version;
    if (version === undefined) {
      const newest = (await readLedger(client)).at(-1);
      if (!newest) return { nothingBecause: 'the migration ledger of this database is empty: no migration was recorded', recorded: false };
      version = newest.version;
      options.reporter.info(`No version given: compensating ${version}, the version of the newest ledger row (${newest.id}, ${newest.phase} ${newest.status}, run ${newest.runId})`);
    }
    const rows = await readLedger(client, version);
    if (rows.length === 0) return { nothingBecause: `the migration ledger has no row of version ${version}`, recorded: false };
    const target = rollbackTarget(rows);
    if (!target) return { nothingBecause: `no phase of ${version} is left to compensate (each is rolled back or never ran)`, recorded: true };
    return { version, target };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function migrationAction(fields: Pick<RollbackAction, 'entry' | 'step' | 'before' | 'after'>): RollbackAction {
  return { ...fields, entries: [], layer: 'migration', object: 'database' };
}
