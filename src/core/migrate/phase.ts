/**
 * One phase of an expand / migrate / contract migration, or the compensating migration
 * (`rollback`), or a read of the ledger (`status`). With a database URL the phase runs under
 * the migration lock, in ledger order, between safety checks, with a schema snapshot before and
 * after and a checksum of what it ran; without one only the commands run (and a warning says
 * what is not enforced). A dry run reads and plans, and changes nothing.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type pg from 'pg';
import { InputError } from '../config/input-error.js';
import type { NamespacedName } from '../config/primitives.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import { acquireMigrationLock, describeHolder, MigrationLockTimeoutError } from './advisory-lock.js';
import type { CommandRunner } from '../command-runner.js';
import { applicationName, openConnection, stopCommandSessions, type Db } from './connection.js';
import { describeChange, commandChecksum } from './checksum.js';
import { compensate, compensationGate, type Compensation } from './compensation.js';
import { ensureLedger, failRunningEntries, finishEntry, readLedger, startEntry, type ForwardPhase, type LedgerRow } from './ledger.js';
import { ledgerTable } from './ledger-markdown.js';
import { describeBlocker, endedByLockTimeout, watchLockWaits } from './lock-waits.js';
import { proveRollout } from './rollout-proof.js';
import { furthestPhase, isDone, latestRow, missingPrerequisite } from './phase-order.js';
import { psqlWarning, runStep, type StepContext, type StepName, type StepResult } from './run-step.js';
import { describeConnections, inspectDatabase, safetyProblems } from './safety-checks.js';
import { describeDifference, diffSnapshots, isSame, takeSnapshot } from './schema-snapshot.js';

export type PhaseName = ForwardPhase | 'rollback' | 'status';
export type PhaseResult = 'succeeded' | 'skipped' | 'refused' | 'failed' | 'rolled-back' | 'planned';

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

/** The phase's time limits from the inputs that migrate and rollback share (durations in ms). */
export function phaseLimits(inputs: {
  'command-timeout': number;
  'lock-timeout': number;
  'max-transaction-age': number;
  'statement-lock-timeout': number;
  'statement-timeout': number;
}): PhaseLimits {
  return {
    commandTimeoutMs: inputs['command-timeout'],
    lockTimeoutMs: inputs['lock-timeout'],
    maxTransactionAgeMs: inputs['max-transaction-age'],
    statementLockTimeoutMs: inputs['statement-lock-timeout'],
    statementTimeoutMs: inputs['statement-timeout'],
  };
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
  /**
   * Forward phases: compensates this phase, at once when its command fails, and later by phase
   * `rollback` (recorded in the ledger with the phase). Phase rollback: replaces the recorded
   * command of the newest phase to compensate (never contract's), and only that phase is compensated.
   */
  rollbackCommand?: readonly string[];
  /** Phase rollback: the command that compensates a contract; needs confirm `data-loss`. */
  contractRollbackCommand?: readonly string[];
  /** Enables the ledger, the lock and the safety checks. Registered with `secrets` by the caller. */
  databaseUrl?: string;
  /** Must be `contract` for the contract phase, `data-loss` for a rollback past a contract. */
  confirm?: string;
  /** Forward phases: the release recorded on the ledger row (default: the run id). Rollback: compensate only this release's rows. */
  release?: string;
  /** Run a phase that already succeeded again although its checksum changed (recorded in the ledger). */
  allowChanged?: boolean;
  /** Read, check and plan only: no command runs, nothing is written. */
  dryRun?: boolean;
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
  /** Phase rollback: the phases compensated (planned, on a dry run), newest first. */
  compensated: Compensation[];
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
  if (phase === 'rollback' && !options.databaseUrl && !options.rollbackCommand) {
    throw new InputError(
      `Invalid inputs of migrate: 'rollback-command' is required for phase rollback without database-url (with it, each phase's command comes from the ledger)`,
    );
  }
  if (options.contractRollbackCommand && phase !== 'rollback') {
    throw new InputError(
      `Invalid inputs of migrate: 'contract-rollback-command' is used by phase rollback only; give the contract's own rollback-command as rollback-command`,
    );
  }
  if (phase === 'status' && !options.databaseUrl) {
    throw new InputError(`Invalid inputs of migrate: 'database-url' is required for phase status (the ledger is in the database)`);
  }
  if (options.requireRollout && phase !== 'contract') {
    options.reporter.warn(`require-rollout is checked by the contract phase only; ignored for ${phase}`);
  }
  const commands: [StepName, readonly string[] | undefined][] = [
    ['command', options.command],
    ['verify-command', options.verifyCommand],
    ['rollback-command', options.rollbackCommand],
    ['contract-rollback-command', options.contractRollbackCommand],
  ];
  for (const [name, argv] of commands) {
    const warning = argv && psqlWarning(name, argv);
    if (warning) options.reporter.warn(warning);
  }
}

async function runWithDatabase(options: PhaseOptions, databaseUrl: string): Promise<PhaseOutcome> {
  const { reporter, version, runId } = options;
  const refusedEarly = confirmProblem(options);
  const { client, lost } = await openConnection({ databaseUrl, applicationName: applicationName(runId, 'lock') });
  try {
    if (options.phase === 'status') return status(options, await readLedger(client, version));
    if (refusedEarly) return outcome(options, 'refused', refusedEarly, await readLedger(client, version));
    if (options.dryRun) return await plan(options, client);

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
      if (error instanceof MigrationLockTimeoutError) return outcome(options, 'refused', error.message, await readLedger(client, version));
      throw error;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function underLock(
  options: PhaseOptions,
  client: pg.Client,
  databaseUrl: string,
  lost: () => Error | undefined,
): Promise<PhaseOutcome> {
  const { reporter, version, runId, phase } = options;
  await ensureLedger(client);
  // We hold the lock, so no other run is working: a row still `running` belongs to a run that died.
  const abandoned = await failRunningEntries(client, { version }, `abandoned: its run ended without finishing (found by run ${runId})`);
  for (const row of abandoned) reporter.warn(`Ledger row ${row.id} (${row.phase}, run ${row.runId}) was still running: marked failed`);
  const rows = await readLedger(client, version);

  const gate = phase === 'rollback' ? await compensationGate(options, client, rows) : await forwardGate(options, rows);
  if ('stop' in gate) return gate.stop;

  const health = await inspectDatabase(client, options.limits.maxTransactionAgeMs);
  reporter.info(`Before: ${describeConnections(health)}`);
  const problems = safetyProblems(health, options.limits.maxTransactionAgeMs);
  if (problems.length > 0) {
    return outcome(options, 'refused', `${phase} refused, the database is not safe to change now: ${problems.join('; ')}`, rows);
  }

  let result: { outcome: PhaseOutcome; compensated?: Compensation[] };
  try {
    result =
      'plan' in gate
        ? await compensate(options, client, databaseUrl, gate.plan)
        : await runForward(options, client, databaseUrl, gate.note);
  } catch (error) {
    const lostError = lost();
    if (lostError) {
      throw new Error(
        `lost the database connection that held the migration lock while the ${phase} ran (${lostError.message}); ` +
          `its ledger row stays running until the post step or the next run marks it failed`,
      );
    }
    throw error;
  }

  const after = await inspectDatabase(client, options.limits.maxTransactionAgeMs).catch(() => undefined);
  if (after) {
    reporter.info(`After: ${describeConnections(after)}`);
    for (const problem of safetyProblems(after, options.limits.maxTransactionAgeMs)) reporter.warn(`After the ${phase}: ${problem}`);
  }
  return result.outcome;
}

/** Why a forward phase must not run (skipped, refused), or the note its ledger row starts with. */
async function forwardGate(options: PhaseOptions, rows: LedgerRow[]): Promise<{ stop: PhaseOutcome } | { note: string }> {
  const { version } = options;
  const forward = options.phase as ForwardPhase;
  const sum = commandChecksum(options.command!);
  let note = '';
  const done = isDone(rows, forward) ? latestRow(rows, forward) : undefined;
  if (done) {
    if (!done.checksum || done.checksum === sum.checksum) {
      const unknown = done.checksum
        ? ''
        : ' (its ledger row has no checksum: it ran before checksums were recorded, so a changed command cannot be told)';
      return { stop: outcome(options, 'skipped', `${forward} of ${version} already succeeded: nothing to do${unknown}`, rows) };
    }
    const both = `ledger row ${done.id} ran it with checksum ${done.checksum}, this run's command has ${sum.checksum} (${describeChange(done.checksumParts, sum.parts)})`;
    if (!options.allowChanged) {
      return {
        stop: outcome(
          options,
          'refused',
          `${forward} refused: ${forward} of ${version} already succeeded with a different command: ${both}. A migration that has run is not edited: give the change a new version, or set allow-changed: true if running the changed ${forward} again is intended`,
          rows,
        ),
      };
    }
    options.reporter.warn(`allow-changed: running ${forward} of ${version} again although it already succeeded: ${both}`);
    note = `allow-changed: run again with a different command; ${both}`;
  }
  const missing = missingPrerequisite(rows, forward, version);
  if (missing) return { stop: outcome(options, 'refused', `${forward} refused: ${missing}`, rows) };
  if (forward === 'contract') {
    const proof = await rolloutProblem(options);
    if (proof) return { stop: outcome(options, 'refused', `contract refused: ${proof}`, rows) };
  }
  return { note };
}

/**
 * A forward phase under the lock: snapshot, ledger row, command and verify-command, snapshot
 * again. A phase that changed no schema object is a warning for migrate (it may move data only)
 * and a refusal for expand and contract unless verify-command passed. When the command fails
 * after changing something, rollback-command runs and must bring the schema back to the first
 * snapshot; when it changed nothing, there is nothing to compensate.
 */
async function runForward(options: PhaseOptions, client: pg.Client, databaseUrl: string, note: string): Promise<{ outcome: PhaseOutcome }> {
  const { version, runId, phase, reporter } = options;
  const forward = phase as ForwardPhase;
  const sum = commandChecksum(options.command!);
  const before = await takeSnapshot(client);
  const row = await startEntry(client, {
    version,
    phase: forward,
    runId,
    release: options.release ?? runId,
    command: storedArgv(options.command!, databaseUrl, options.secrets),
    rollbackCommand: options.rollbackCommand ? storedArgv(options.rollbackCommand, databaseUrl, options.secrets) : undefined,
    checksum: sum.checksum,
    checksumParts: sum.parts,
    schemaBefore: before,
    message: note,
  });
  options.onRunning?.(row);
  const step = stepRunner(options, databaseUrl, client);
  const prefix = note ? `${note}; ` : '';

  const { command, failed } = await commandThenVerify(options, step);
  const afterCommand = await takeSnapshot(client);
  const change = diffSnapshots(before, afterCommand);
  const changed = !isSame(change);
  const finish = async (
    result: PhaseResult,
    status: 'succeeded' | 'failed' | 'rolled-back',
    message: string,
    schema: string[],
    output: string[] = [],
  ) => {
    const redacted = options.secrets.redact(prefix + message);
    await finishEntry(client, row.id, status, redacted, { schema, changed: !isSame(diffSnapshots(before, schema)) });
    return { outcome: { ...outcome(options, result, prefix + message, await readLedger(client, version)), output } };
  };

  if (!failed) {
    const verified = options.verifyCommand ? ', verify-command passed' : '';
    if (changed)
      return finish('succeeded', 'succeeded', `${command.description}${verified}; schema ${describeDifference(change, 5)}`, afterCommand);
    const nothing = `${forward} changed no schema object (tables, columns, indexes, constraints, triggers, functions)`;
    if (forward === 'migrate') {
      reporter.warn(
        `${nothing}: fine for a migrate that only moves data, which verify-command should check; otherwise check that the command ran the right migration`,
      );
      return finish('succeeded', 'succeeded', `${command.description}${verified}; ${nothing}`, afterCommand);
    }
    if (options.verifyCommand)
      return finish('succeeded', 'succeeded', `${command.description}${verified}; ${nothing}, and verify-command passed`, afterCommand);
    return finish(
      'refused',
      'failed',
      `${forward} refused: ${command.description}, but ${nothing} and no verify-command proves it did its work. Check that the command applies the right migration, or give a verify-command that checks it; the ledger records this attempt failed, so the next run is not skipped`,
      afterCommand,
    );
  }

  const failure = failureMessage(failed);
  if (failed.stopped === 'cancelled') {
    return finish(
      'failed',
      'failed',
      `cancelled: ${failure}; rollback-command not run, run phase rollback to compensate`,
      afterCommand,
      failed.lastLines,
    );
  }
  if (!changed) {
    return finish(
      'failed',
      'failed',
      `${failure}; it changed no schema object, so there was nothing for rollback-command to compensate`,
      afterCommand,
      failed.lastLines,
    );
  }
  if (!options.rollbackCommand) {
    return finish(
      'failed',
      'failed',
      `${failure}; no rollback-command given, and the schema changed: ${describeDifference(change)}`,
      afterCommand,
      failed.lastLines,
    );
  }
  const rollback = await step('rollback-command', options.rollbackCommand);
  const afterRollback = await takeSnapshot(client);
  const left = diffSnapshots(before, afterRollback);
  if (!rollback.ok) {
    return finish(
      'failed',
      'failed',
      `${failure}; then ${failureMessage(rollback)}: the database may be half-changed (${describeDifference(left)}), look before re-running`,
      afterRollback,
      [...failed.lastLines, '--- rollback-command ---', ...rollback.lastLines],
    );
  }
  if (!isSame(left)) {
    return finish(
      'failed',
      'failed',
      `${failure}; rollback-command succeeded but the schema is not back to what it was before the ${forward}: ${describeDifference(left)}`,
      afterRollback,
      failed.lastLines,
    );
  }
  return finish(
    'rolled-back',
    'rolled-back',
    `${failure}; rollback-command succeeded and the schema is back to what it was before`,
    afterRollback,
    failed.lastLines,
  );
}

/**
 * A command as the ledger keeps it: the database URL written as `$DATABASE_URL` (which the
 * runner expands again), any other secret as `***` (such a command cannot be run from the ledger).
 */
export function storedArgv(argv: readonly string[], databaseUrl: string, secrets: PhaseOptions['secrets']): string[] {
  return argv.map((arg) => secrets.redact(arg.split(databaseUrl).join('$DATABASE_URL')));
}

/** Without a database: the commands run, nothing is recorded and nothing is checked. */
async function runWithoutDatabase(options: PhaseOptions): Promise<PhaseOutcome> {
  options.reporter.warn(
    'No database-url: no ledger, no migration lock, no safety checks, no schema snapshots or checksums; phase order and re-runs are not checked. Give database-url to enable them.',
  );
  const unconfirmed = confirmProblem(options);
  if (unconfirmed) return outcome(options, 'refused', unconfirmed, []);
  if (options.phase === 'contract') {
    const proof = await rolloutProblem(options);
    if (proof) return outcome(options, 'refused', `contract refused: ${proof}`, []);
  }
  if (options.dryRun) return outcome(options, 'planned', `dry run: would run ${describeCommands(options)}; nothing was run`, []);
  const step = stepRunner(options, undefined);
  if (options.phase === 'rollback') {
    const rollback = await step('rollback-command', options.rollbackCommand!);
    return rollback.ok
      ? outcome(options, 'succeeded', rollback.description, [])
      : { ...outcome(options, 'failed', failureMessage(rollback), []), output: rollback.lastLines };
  }
  const { command, failed } = await commandThenVerify(options, step);
  if (!failed) return outcome(options, 'succeeded', `${command.description}${options.verifyCommand ? ', verify-command passed' : ''}`, []);
  const failure = failureMessage(failed);
  const fail = (message: string, output = failed!.lastLines) => ({ ...outcome(options, 'failed', message, []), output });
  if (failed.stopped === 'cancelled') return fail(`cancelled: ${failure}; rollback-command not run`);
  if (!options.rollbackCommand) return fail(`${failure}; no rollback-command given`);
  const rollback = await step('rollback-command', options.rollbackCommand);
  if (rollback.ok) return { ...outcome(options, 'rolled-back', `${failure}; rollback-command succeeded`, []), output: failed.lastLines };
  return fail(`${failure}; then ${failureMessage(rollback)}: the database may be half-changed, look before re-running`, [
    ...failed.lastLines,
    '--- rollback-command ---',
    ...rollback.lastLines,
  ]);
}

/** The phase's command, then (when it passed) its verify-command: the command's result, and the step that failed, if one did. */
async function commandThenVerify(
  options: PhaseOptions,
  step: (name: StepName, argv: readonly string[]) => Promise<StepResult>,
): Promise<{ command: StepResult; failed?: StepResult }> {
  const command = await step('command', options.command!);
  if (!command.ok) return { command, failed: command };
  if (!options.verifyCommand) return { command };
  const verify = await step('verify-command', options.verifyCommand);
  return verify.ok ? { command } : { command, failed: verify };
}

/**
 * Runs one of the team's commands. With the lock's connection: watches whom its statements wait
 * behind (named when lock_timeout ends one), and stops the database sessions a stopped command left.
 */
export function stepRunner(
  options: PhaseOptions,
  databaseUrl: string | undefined,
  db?: Db,
): (name: StepName, argv: readonly string[]) => Promise<StepResult> {
  const context: StepContext = {
    runner: options.runner,
    reporter: options.reporter,
    secrets: options.secrets,
    env: commandEnv(options, databaseUrl),
    timeoutMs: options.limits.commandTimeoutMs,
    signal: options.signal,
  };
  return async (name, argv) => {
    const watch = db ? watchLockWaits(db, options.runId) : undefined;
    const result = await runStep(name, argv, context);
    const blockers = (await watch?.stop()) ?? [];
    if (!result.ok && endedByLockTimeout(result.lastLines)) {
      const named = blockers.length
        ? `lock_timeout ended a statement of the ${name}; it waited behind ${blockers.map(describeBlocker).join(', ')}`
        : `lock_timeout ended a statement of the ${name}; the session it waited behind was not seen (it may have ended)`;
      result.description = `${result.description}; ${options.secrets.redact(named)}`;
      options.reporter.error(options.secrets.redact(named));
    }
    if (result.stopped && db) {
      const pids = await stopCommandSessions(db, options.runId);
      if (pids.length) options.reporter.warn(`Stopped the database session(s) the ${name} left running: pid ${pids.join(', ')}`);
    }
    return result;
  };
}

function describeCommands(options: PhaseOptions): string {
  const show = (argv: readonly string[]) => options.secrets.redact(argv.join(' '));
  if (options.phase === 'rollback') return `rollback-command: ${options.rollbackCommand ? show(options.rollbackCommand) : '(none)'}`;
  const parts = [`${options.phase} command: ${show(options.command!)}`];
  if (options.verifyCommand) parts.push(`then verify-command: ${show(options.verifyCommand)}`);
  if (options.rollbackCommand) parts.push(`on failure rollback-command: ${show(options.rollbackCommand)}`);
  return parts.join(', ');
}

export function failureMessage(step: StepResult): string {
  const last = step.lastLines.filter((l) => l.trim() !== '').slice(-3);
  const tail = last.length ? ` (last output: ${last.join(' / ').slice(0, 500)})` : '';
  return `${step.description}${tail}`;
}

/**
 * The command's environment: DATABASE_URL, and through PGOPTIONS (read by libpq tools: psql,
 * and node-postgres) lock_timeout and statement_timeout, so its DDL gives up instead of queueing
 * behind a long transaction and stalling the application. PGAPPNAME names the run in pg_stat_activity.
 */
export function commandEnv(
  options: Pick<PhaseOptions, 'limits' | 'runId' | 'version' | 'phase'>,
  databaseUrl: string | undefined,
): Record<string, string> {
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

/** Dry run: what the phase would do, from the ledger and the catalog, without the lock; nothing is run or written. */
async function plan(options: PhaseOptions, client: pg.Client): Promise<PhaseOutcome> {
  const rows = await readLedger(client, options.version);
  const gate = options.phase === 'rollback' ? await compensationGate(options, client, rows) : await forwardGate(options, rows);
  if ('stop' in gate) return gate.stop;
  const health = await inspectDatabase(client, options.limits.maxTransactionAgeMs);
  const problems = safetyProblems(health, options.limits.maxTransactionAgeMs);
  const unsafe = problems.length ? `; it would be refused now, the database is not safe to change: ${problems.join('; ')}` : '';
  if ('plan' in gate) {
    const steps = gate.plan.map(
      (p) =>
        `${p.name} for ${p.target.phase} (ledger row ${p.target.id}): ${p.command ? options.secrets.redact(p.command.join(' ')) : 'nothing to run (it changed no schema object)'}`,
    );
    return {
      ...outcome(
        options,
        'planned',
        `dry run: would compensate, newest first: ${steps.join('; ')}${unsafe}. Nothing was run or recorded`,
        rows,
      ),
      compensated: gate.plan.map((p) => ({ phase: p.target.phase as ForwardPhase, row: p.target.id, rollbackRow: undefined })),
    };
  }
  const sum = commandChecksum(options.command!);
  return outcome(
    options,
    'planned',
    `dry run: would run ${describeCommands(options)} (checksum ${sum.checksum})${unsafe}. Nothing was run or recorded`,
    rows,
  );
}

function status(options: PhaseOptions, rows: LedgerRow[]): PhaseOutcome {
  const state = furthestPhase(rows);
  const message = rows.length === 0 ? `${options.version} has no ledger rows` : `${options.version} is at ${state}`;
  return outcome(options, 'succeeded', message, rows);
}

export function outcome(options: PhaseOptions, result: PhaseResult, message: string, ledger: LedgerRow[]): PhaseOutcome {
  return {
    result,
    phase: options.phase,
    version: options.version,
    message,
    ledger,
    state: furthestPhase(ledger),
    output: [],
    compensated: [],
  };
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
  const output = outcome.output.length
    ? `\n\n<details><summary>Last output</summary>\n\n\`\`\`text\n${outcome.output.join('\n').replace(/```/g, "'''")}\n\`\`\`\n</details>`
    : '';
  return (
    [
      `### Migration ${outcome.version}: ${outcome.phase} ${outcome.result}`,
      '',
      outcome.message.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!),
      '',
      ledgerTable(outcome.ledger),
    ].join('\n') + output
  );
}
