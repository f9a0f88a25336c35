import type { KubeConfig } from '@kubernetes/client-node';
import type pg from 'pg';
import { InputError } from '../config/input-error.js';
import type { NamespacedName } from '../config/primitives.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import { acquireMigrationLock, describeHolder, LockTimeoutError } from './advisory-lock.js';
import type { CommandRunner } from './command-runner.js';
import { applicationName, openConnection, stopCommandSessions, type Db } from './connection.js';
import {
  ensureLedger,
  failRunningEntries,
  finishEntry,
  readLedger,
  startEntry,
  type ForwardPhase,
  type LedgerRow,
} from './ledger.js';
import { ledgerTable } from './ledger-markdown.js';
import { proveRollout } from './rollout-proof.js';
import { furthestPhase, isDone, missingPrerequisite, rollbackTarget } from './phase-order.js';
import { runStep, type StepContext, type StepName, type StepResult } from './run-step.js';
import { describeConnections, inspectDatabase, safetyProblems } from './safety-checks.js';

/**
 * One phase of an expand / migrate / contract migration, or the compensating migration
 * (`rollback`), or a read of the ledger (`status`). With a database URL the phase runs under
 * the migration lock, in ledger order, between safety checks; without one only the commands
 * run (and a warning says what is not enforced).
 */
export type PhaseName = ForwardPhase | 'rollback' | 'status';
export type PhaseResult = 'succeeded' | 'skipped' | 'refused' | 'failed' | 'rolled-back';

export interface PhaseLimits {
  /** Longest each command (command, verify, rollback) may run. */
  commandTimeoutMs: number;
  /** How long to wait for another migration's lock. */
  lockTimeoutMs: number;
  /** Refuse while a transaction of the database is older than this. */
  maxTransactionAgeMs: number;
  /** lock_timeout for the command's statements (through PGOPTIONS). */
  statementLockTimeoutMs: number;
  /** statement_timeout for the command's statements (through PGOPTIONS). */
  statementTimeoutMs: number;
  /** How often to try the lock again. Default 1 s. */
  lockPollMs?: number;
}

export interface RolloutRequirement {
  deployments: readonly NamespacedName[];
  expectedImage: string;
  kubeConfig: KubeConfig;
}

export interface PhaseOptions {
  phase: PhaseName;
  version: string;
  /** Idempotency key and the name of this run in the ledger and in pg_stat_activity. */
  runId: string;
  command?: readonly string[];
  verifyCommand?: readonly string[];
  rollbackCommand?: readonly string[];
  /** Enables the ledger, the lock and the safety checks. Registered with `secrets` by the caller. */
  databaseUrl?: string;
  /** Must be `contract` for the contract phase. */
  confirm?: string;
  /** Contract only: proof from the cluster that every replica runs the new version. */
  requireRollout?: RolloutRequirement;
  limits: PhaseLimits;
  runner: CommandRunner;
  reporter: Reporter;
  secrets: Secrets;
  signal?: AbortSignal;
  /** Told the ledger row as soon as it is recorded as running (e.g. to hand it to a post step). */
  onRunning?: (row: LedgerRow) => void;
}

export interface PhaseOutcome {
  result: PhaseResult;
  phase: PhaseName;
  version: string;
  /** What happened, in one or a few sentences, redacted. */
  message: string;
  /** The version's ledger rows after the phase (empty without a database URL). */
  ledger: LedgerRow[];
  /** The furthest phase of the version that is done. */
  state: ForwardPhase | 'none';
  /** The last lines of the command that failed, redacted. */
  output: string[];
}

/** Runs a phase and writes its job summary. Throws only on bad options or an unreachable database. */
export async function runPhase(options: PhaseOptions): Promise<PhaseOutcome> {
  checkOptions(options);
  let raw: PhaseOutcome;
  try {
    raw = await (options.databaseUrl ? runWithDatabase(options, options.databaseUrl) : runWithoutDatabase(options));
  } catch (error) {
    // A driver's message may quote what it was given; nothing leaves here unredacted.
    if (error instanceof Error) {
      error.message = options.secrets.redact(error.message);
      if (error.stack) error.stack = options.secrets.redact(error.stack);
    }
    throw error;
  }
  const outcome = redactOutcome(raw, options.secrets);
  options.reporter[outcome.result === 'failed' || outcome.result === 'refused' ? 'error' : 'info'](
    `${outcome.phase} ${outcome.version}: ${outcome.result}: ${outcome.message}`,
  );
  options.reporter.summary(phaseSummary(outcome));
  return outcome;
}

function checkOptions(options: PhaseOptions): void {
  const { phase } = options;
  if ((phase === 'expand' || phase === 'migrate' || phase === 'contract') && !options.command) {
    throw new InputError(`Invalid inputs of migrate: 'command' is required for phase ${phase}`);
  }
  if (phase === 'rollback' && !options.rollbackCommand) {
    throw new InputError(`Invalid inputs of migrate: 'rollback-command' is required for phase rollback`);
  }
  if (phase === 'status' && !options.databaseUrl) {
    throw new InputError(`Invalid inputs of migrate: 'database-url' is required for phase status (the ledger is in the database)`);
  }
  if (options.requireRollout && phase !== 'contract') {
    options.reporter.warn(`require-rollout is checked by the contract phase only; ignored for ${phase}`);
  }
}

async function runWithDatabase(options: PhaseOptions, databaseUrl: string): Promise<PhaseOutcome> {
  const { reporter, version, runId } = options;
  const refusedEarly = confirmProblem(options);
  const { client, lost } = await openConnection({ databaseUrl, applicationName: applicationName(runId, 'lock') });
  try {
    if (options.phase === 'status') return status(options, await readLedger(client, version));
    if (refusedEarly) return outcome(options, 'refused', refusedEarly, await readLedger(client, version));

    reporter.info('Taking the migration lock of this database');
    try {
      const lock = await acquireMigrationLock(client, {
        timeoutMs: options.limits.lockTimeoutMs,
        pollMs: options.limits.lockPollMs,
        signal: options.signal,
        onWait: (holder) => reporter.info(`Waiting for the migration lock, held by ${describeHolder(holder)}`),
      });
      try {
        return await underLock(options, client, databaseUrl, lost);
      } finally {
        if (!lost()) await lock.release().catch(() => undefined);
      }
    } catch (error) {
      if (error instanceof LockTimeoutError) return outcome(options, 'refused', error.message, await readLedger(client, version));
      throw error;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function underLock(options: PhaseOptions, client: pg.Client, databaseUrl: string, lost: () => Error | undefined): Promise<PhaseOutcome> {
  const { reporter, version, runId, phase } = options;
  await ensureLedger(client);
  // We hold the lock, so no other run is working: a row still `running` belongs to a run that died.
  const abandoned = await failRunningEntries(client, { version }, `abandoned: its run ended without finishing (found by run ${runId})`);
  for (const row of abandoned) reporter.warn(`Ledger row ${row.id} (${row.phase}, run ${row.runId}) was still running: marked failed`);
  const rows = await readLedger(client, version);

  let target: LedgerRow | undefined;
  if (phase === 'rollback') {
    target = rollbackTarget(rows);
    if (!target) return outcome(options, 'skipped', `nothing to roll back: no phase of ${version} succeeded or failed`, rows);
    reporter.info(`Rolling back ${target.phase} of ${version} (ledger row ${target.id}, ${target.status})`);
  } else {
    const forward = phase as ForwardPhase;
    if (isDone(rows, forward)) {
      return outcome(options, 'skipped', `${forward} of ${version} already succeeded: nothing to do`, rows);
    }
    const missing = missingPrerequisite(rows, forward, version);
    if (missing) return outcome(options, 'refused', `${forward} refused: ${missing}`, rows);
    if (forward === 'contract') {
      const proof = await rolloutProblem(options);
      if (proof) return outcome(options, 'refused', `contract refused: ${proof}`, rows);
    }
  }

  const health = await inspectDatabase(client, options.limits.maxTransactionAgeMs);
  reporter.info(`Before: ${describeConnections(health)}`);
  const problems = safetyProblems(health, options.limits.maxTransactionAgeMs);
  if (problems.length > 0) {
    return outcome(options, 'refused', `${phase} refused, the database is not safe to change now: ${problems.join('; ')}`, rows);
  }

  const row = await startEntry(client, {
    version,
    phase: target ? 'rollback' : (phase as ForwardPhase),
    runId,
    ...(target ? { compensates: target.phase as ForwardPhase } : {}),
  });
  options.onRunning?.(row);
  const execution = await execute(options, databaseUrl, target ? 'rollback' : 'forward', client);
  const lostError = lost();
  if (lostError) {
    throw new Error(
      `lost the database connection that held the migration lock while the ${phase} ran (${lostError.message}); ` +
        `the ${phase} ${execution.message}. Ledger row ${row.id} stays running until the post step or the next run marks it failed`,
    );
  }

  const after = await inspectDatabase(client, options.limits.maxTransactionAgeMs).catch(() => undefined);
  if (after) {
    reporter.info(`After: ${describeConnections(after)}`);
    for (const problem of safetyProblems(after, options.limits.maxTransactionAgeMs)) reporter.warn(`After the ${phase}: ${problem}`);
  }

  const message = options.secrets.redact(execution.message);
  await finishEntry(client, row.id, execution.status, message);
  if (target && execution.result === 'succeeded') {
    await finishEntry(client, target.id, 'rolled-back', `${target.message ? `${target.message}; ` : ''}compensated by run ${runId}`);
  }
  return { ...outcome(options, execution.result, execution.message, await readLedger(client, version)), output: execution.output };
}

/** Without a database: the commands run, nothing is recorded and nothing is checked. */
async function runWithoutDatabase(options: PhaseOptions): Promise<PhaseOutcome> {
  options.reporter.warn(
    'No database-url: no ledger, no migration lock, no safety checks; phase order and re-runs are not checked. Give database-url to enable them.',
  );
  const unconfirmed = confirmProblem(options);
  if (unconfirmed) return outcome(options, 'refused', unconfirmed, []);
  if (options.phase === 'contract') {
    const proof = await rolloutProblem(options);
    if (proof) return outcome(options, 'refused', `contract refused: ${proof}`, []);
  }
  const execution = await execute(options, undefined, options.phase === 'rollback' ? 'rollback' : 'forward');
  return { ...outcome(options, execution.result, execution.message, []), output: execution.output };
}

interface Execution {
  result: 'succeeded' | 'failed' | 'rolled-back';
  status: 'succeeded' | 'failed' | 'rolled-back';
  message: string;
  output: string[];
}

/**
 * Forward: command, then verify-command; when either fails (and the run was not cancelled),
 * rollback-command. Rollback: rollback-command alone.
 */
async function execute(
  options: PhaseOptions,
  databaseUrl: string | undefined,
  direction: 'forward' | 'rollback',
  db?: Db,
): Promise<Execution> {
  const context: StepContext = {
    runner: options.runner,
    reporter: options.reporter,
    secrets: options.secrets,
    env: commandEnv(options, databaseUrl),
    timeoutMs: options.limits.commandTimeoutMs,
    signal: options.signal,
  };
  /** Runs one command; when it had to be stopped, its database sessions are stopped too. */
  const step = async (name: StepName, argv: readonly string[]): Promise<StepResult> => {
    const result = await runStep(name, argv, context);
    if (result.stopped && db) {
      const pids = await stopCommandSessions(db, options.runId);
      if (pids.length) options.reporter.warn(`Stopped the database session(s) the ${name} left running: pid ${pids.join(', ')}`);
    }
    return result;
  };

  if (direction === 'rollback') {
    const rollback = await step('rollback-command', options.rollbackCommand!);
    return rollback.ok
      ? { result: 'succeeded', status: 'succeeded', message: rollback.description, output: [] }
      : { result: 'failed', status: 'failed', message: failureMessage(rollback), output: rollback.lastLines };
  }

  let failed: StepResult | undefined;
  const command = await step('command', options.command!);
  if (!command.ok) failed = command;
  else if (options.verifyCommand) {
    const verify = await step('verify-command', options.verifyCommand);
    if (!verify.ok) failed = verify;
  }
  if (!failed) {
    const verified = options.verifyCommand ? ', verify-command passed' : '';
    return { result: 'succeeded', status: 'succeeded', message: `${command.description}${verified}`, output: [] };
  }
  const failure = failureMessage(failed);
  if (failed.stopped === 'cancelled') {
    return { result: 'failed', status: 'failed', message: `cancelled: ${failure}; rollback-command not run, run phase rollback to compensate`, output: failed.lastLines };
  }
  if (!options.rollbackCommand) {
    return { result: 'failed', status: 'failed', message: `${failure}; no rollback-command given`, output: failed.lastLines };
  }
  const rollback = await step('rollback-command', options.rollbackCommand);
  if (rollback.ok) {
    return { result: 'rolled-back', status: 'rolled-back', message: `${failure}; rollback-command succeeded`, output: failed.lastLines };
  }
  return {
    result: 'failed',
    status: 'failed',
    message: `${failure}; then ${failureMessage(rollback)}: the database may be half-changed, look before re-running`,
    output: [...failed.lastLines, '--- rollback-command ---', ...rollback.lastLines],
  };
}

function failureMessage(step: StepResult): string {
  const last = step.lastLines.filter((l) => l.trim() !== '').slice(-3);
  const tail = last.length ? ` (last output: ${last.join(' / ').slice(0, 500)})` : '';
  return `${step.description}${tail}`;
}

/**
 * The command's environment: DATABASE_URL, and through PGOPTIONS (read by libpq tools: psql,
 * and node-postgres) lock_timeout and statement_timeout, so its DDL gives up instead of queueing
 * behind a long transaction and stalling the application. PGAPPNAME names the run in pg_stat_activity.
 */
export function commandEnv(options: Pick<PhaseOptions, 'limits' | 'runId' | 'version' | 'phase'>, databaseUrl: string | undefined): Record<string, string> {
  const env: Record<string, string> = {
    PGOPTIONS: `-c lock_timeout=${pgInterval(options.limits.statementLockTimeoutMs)} -c statement_timeout=${pgInterval(options.limits.statementTimeoutMs)}`,
    PGAPPNAME: applicationName(options.runId, 'command'),
    MIGRATION_VERSION: options.version,
    MIGRATION_PHASE: options.phase,
  };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  return env;
}

/** Milliseconds as a PostgreSQL setting: 5s, 15min, 1500ms (0 disables the timeout). */
export function pgInterval(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 60_000 === 0) return `${ms / 60_000}min`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${Math.round(ms)}ms`;
}

function confirmProblem(options: PhaseOptions): string | undefined {
  if (options.phase !== 'contract' || options.confirm?.trim() === 'contract') return undefined;
  return `contract refused: contract is destructive (it removes what the old version still uses); set confirm: contract to run it${
    options.confirm ? ` (confirm was given as something else)` : ''
  }`;
}

async function rolloutProblem(options: PhaseOptions): Promise<string | undefined> {
  const requirement = options.requireRollout;
  if (!requirement) {
    options.reporter.warn('No require-rollout: contract runs without proof from the cluster that the old version is gone');
    return undefined;
  }
  options.reporter.info(
    `Checking that ${requirement.deployments.map((d) => `${d.namespace}/${d.name}`).join(', ')} run ${requirement.expectedImage} everywhere`,
  );
  const proof = await proveRollout(requirement.kubeConfig, {
    deployments: requirement.deployments,
    expectedImage: requirement.expectedImage,
    signal: options.signal,
  });
  if (proof.ok) {
    options.reporter.info(`Every replica runs ${requirement.expectedImage}`);
    return undefined;
  }
  return `the new version does not run everywhere yet: ${proof.problems.join('; ')}`;
}

function status(options: PhaseOptions, rows: LedgerRow[]): PhaseOutcome {
  const state = furthestPhase(rows);
  const message = rows.length === 0 ? `${options.version} has no ledger rows` : `${options.version} is at ${state}`;
  return outcome(options, 'succeeded', message, rows);
}

function outcome(options: PhaseOptions, result: PhaseResult, message: string, ledger: LedgerRow[]): PhaseOutcome {
  return { result, phase: options.phase, version: options.version, message, ledger, state: furthestPhase(ledger), output: [] };
}

function redactOutcome(outcome: PhaseOutcome, secrets: Secrets): PhaseOutcome {
  return {
    ...outcome,
    message: secrets.redact(outcome.message),
    output: outcome.output.map((line) => secrets.redact(line)),
    ledger: outcome.ledger.map((row) => ({ ...row, message: secrets.redact(row.message) })),
  };
}

function phaseSummary(outcome: PhaseOutcome): string {
  const output = outcome.output.length ? `\n\n<details><summary>Last output</summary>\n\n\`\`\`text\n${outcome.output.join('\n').replace(/```/g, "'''")}\n\`\`\`\n</details>` : '';
  return [
    `### Migration ${outcome.version}: ${outcome.phase} ${outcome.result}`,
    '',
    outcome.message.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!),
    '',
    ledgerTable(outcome.ledger),
  ].join('\n') + output;
}
