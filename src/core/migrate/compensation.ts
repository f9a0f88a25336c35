/**
 * Phase `rollback`: the compensating migration. It compensates exactly the phases of the version
 * (of one release, when given) that changed something and are not compensated yet, newest first,
 * each with the rollback-command recorded with it in the ledger. After each, the schema must be
 * back to the snapshot taken before that phase, or the rollback fails listing the difference.
 * Contract is irreversible: what it dropped held data. Rolling back past it is refused unless
 * the user gives a contract-rollback-command and confirm `data-loss`, and the message names what
 * contract dropped.
 */
import type pg from 'pg';
import { finishEntry, readLedger, readSnapshots, startEntry, type ForwardPhase, type LedgerRow } from './ledger.js';
import { latestRow } from './phase-order.js';
import { failureMessage, outcome, stepRunner, storedArgv, type PhaseOptions, type PhaseOutcome } from './phase.js';
import { FORWARD_PHASES } from './ledger.js';
import type { StepName } from './run-step.js';
import { describeDifference, diffSnapshots, droppedAndAltered, isSame, takeSnapshot } from './schema-snapshot.js';

export interface Compensation {
  phase: ForwardPhase;
  /** The compensated phase's ledger row. */
  row: number;
  /** The `rollback` row that compensated it (undefined on a dry run). */
  rollbackRow: number | undefined;
}

export interface PlannedCompensation {
  target: LedgerRow;
  name: StepName;
  /** Undefined: the phase changed no schema object and recorded no command, so nothing runs (its row is still checked and marked). */
  command: readonly string[] | undefined;
}

/**
 * For each forward phase, its newest attempt that may have changed the schema and is not
 * compensated: succeeded, or failed without a snapshot saying it changed nothing. Newest first.
 * `unchanged`: the newest attempts that failed having changed nothing (nothing to compensate).
 */
export function phasesToCompensate(rows: readonly LedgerRow[]): { targets: LedgerRow[]; unchanged: LedgerRow[] } {
  const targets: LedgerRow[] = [];
  const unchanged: LedgerRow[] = [];
  for (const phase of FORWARD_PHASES) {
    const standing = rows.filter((r) => r.phase === phase && (r.status === 'succeeded' || (r.status === 'failed' && r.changed !== false)));
    const newest = standing.at(-1);
    if (newest) targets.push(newest);
    const latest = latestRow(rows, phase);
    if (latest && latest !== newest && latest.status === 'failed' && latest.changed === false) unchanged.push(latest);
  }
  return { targets: targets.sort((a, b) => b.id - a.id), unchanged };
}

/** What the rollback would compensate and with which command, or why it does not run (skipped, refused). */
export async function compensationGate(
  options: PhaseOptions,
  client: pg.Client,
  rows: LedgerRow[],
): Promise<{ stop: PhaseOutcome } | { plan: PlannedCompensation[] }> {
  const { version, release } = options;
  const scoped = release ? rows.filter((r) => r.release === release) : rows;
  const of = release ? `${version} in release ${release}` : version;
  if (release && scoped.length === 0) {
    return {
      stop: outcome(
        options,
        'skipped',
        `nothing to compensate: release ${release} has no ledger row of ${version} (it changed nothing in this database)`,
        rows,
      ),
    };
  }
  const { targets, unchanged } = phasesToCompensate(scoped);
  const notes = unchanged.map((r) => `${r.phase} (ledger row ${r.id}) failed without changing the schema, so it needs no compensation`);
  if (targets.length === 0) {
    const why = [`nothing to roll back: no phase of ${of} changed something that is not compensated already`, ...notes].join('; ');
    return { stop: outcome(options, 'skipped', why, rows) };
  }
  for (const note of notes) options.reporter.info(note);

  const contract = targets.find((t) => t.phase === 'contract');
  if (contract && (!options.contractRollbackCommand || options.confirm?.trim() !== 'data-loss')) {
    const missing = [
      !options.contractRollbackCommand && 'contract-rollback-command',
      options.confirm?.trim() !== 'data-loss' && 'confirm: data-loss',
    ]
      .filter(Boolean)
      .join(' and ');
    return {
      stop: outcome(
        options,
        'refused',
        `rollback refused: the contract of ${version} ${contract.status} (ledger row ${contract.id}), and contract is irreversible: it dropped ${await contractDropped(client, contract)}. ` +
          `The data those objects held is gone: a command can re-create them, not their values. Fix forward instead; or, to re-create them anyway and accept the loss, give ${missing}`,
        rows,
      ),
    };
  }

  const plan: PlannedCompensation[] = [];
  const override = options.rollbackCommand;
  for (const target of targets) {
    const needsCommand = target.changed !== false || target.rollbackCommand !== null;
    if (target.phase === 'contract') {
      plan.push({ target, name: 'contract-rollback-command', command: options.contractRollbackCommand! });
    } else if (override && needsCommand) {
      // The override compensates the newest phase that needs a command, and that phase only.
      plan.push({ target, name: 'rollback-command', command: override });
      const rest = targets.slice(targets.indexOf(target) + 1);
      if (rest.length)
        options.reporter.info(
          `rollback-command given: it compensates ${target.phase} only; ${rest.map((r) => r.phase).join(', ')} stay as they are (run the rollback again without rollback-command to use their recorded commands)`,
        );
      break;
    } else if (!needsCommand) {
      plan.push({ target, name: 'rollback-command', command: undefined });
    } else if (target.rollbackCommand && !target.rollbackCommand.some((arg) => arg.includes('***'))) {
      plan.push({ target, name: 'rollback-command', command: target.rollbackCommand });
    } else {
      return {
        stop: outcome(
          options,
          'refused',
          `rollback refused: ${target.phase} of ${version} (ledger row ${target.id}) has no rollback-command recorded that can run (${
            target.rollbackCommand
              ? 'the recorded one held a secret, stored as ***'
              : 'it ran without one, or before commands were recorded'
          }). Give rollback-command: it compensates that phase, the newest, only; nothing was run`,
          rows,
        ),
      };
    }
  }
  return { plan };
}

/** The compensations, newest first, each checked against the snapshot from before its phase; the first failure stops them. */
export async function compensate(
  options: PhaseOptions,
  client: pg.Client,
  databaseUrl: string,
  plan: PlannedCompensation[],
): Promise<{ outcome: PhaseOutcome }> {
  const { version, runId, secrets, reporter } = options;
  const step = stepRunner({ ...options, phase: 'rollback' }, databaseUrl, client);
  const done: PhaseOutcome['compensated'] = [];
  const end = async (result: 'succeeded' | 'failed', message: string, output: string[] = []) => ({
    outcome: { ...outcome(options, result, message, await readLedger(client, version)), output, compensated: done },
  });

  for (const { target, name, command } of plan) {
    reporter.info(`Compensating ${target.phase} of ${version} (ledger row ${target.id}, ${target.status}) with ${name}`);
    const before = await takeSnapshot(client);
    const row = await startEntry(client, {
      version,
      phase: 'rollback',
      runId,
      compensates: target.phase as ForwardPhase,
      release: target.release ?? undefined,
      command: command ? storedArgv(command, databaseUrl, secrets) : undefined,
      schemaBefore: before,
    });
    options.onRunning?.(row);
    const result = command
      ? await step(name, command)
      : {
          ok: true,
          stopped: undefined,
          lastLines: [],
          description: `nothing to run: ${target.phase} changed no schema object and recorded no rollback-command (what it did to data stays)`,
        };
    const after = await takeSnapshot(client);
    const changed = !isSame(diffSnapshots(before, after));
    const snapshots = await readSnapshots(client, target.id);
    const doneSoFar = done.length ? ` (compensated before it: ${done.map((d) => d.phase).join(', ')})` : '';
    if (!result.ok) {
      const message = `compensating ${target.phase} of ${version} failed: ${failureMessage(result)}${doneSoFar}`;
      await finishEntry(client, row.id, 'failed', secrets.redact(message), { schema: after, changed });
      return end('failed', message, result.lastLines);
    }
    let check: string;
    if (snapshots.before) {
      const left = diffSnapshots(snapshots.before, after);
      if (!isSame(left)) {
        const message =
          `compensating ${target.phase} of ${version} failed: ${name} succeeded, but the schema is not back to what it was before ${target.phase} ` +
          `(ledger row ${target.id}): ${describeDifference(left)}${doneSoFar}`;
        await finishEntry(client, row.id, 'failed', secrets.redact(message), { schema: after, changed });
        return end('failed', message);
      }
      check = `the schema is back to what it was before ${target.phase}`;
    } else {
      check = `the schema was not checked: ledger row ${target.id} has no snapshot (it was recorded before snapshots were)`;
      reporter.warn(`Compensating ${target.phase} of ${version}: ${check}`);
    }
    const dataNote =
      target.phase === 'contract'
        ? `; contract had dropped ${await contractDropped(client, target)}: re-created, but their old values are not back (only what ${name} wrote); the schema check cannot see data, a verify-command can`
        : '';
    const finished = await finishEntry(client, row.id, 'succeeded', secrets.redact(`${result.description}; ${check}${dataNote}`), {
      schema: after,
      changed,
    });
    await finishEntry(
      client,
      target.id,
      'rolled-back',
      secrets.redact(`${target.message ? `${target.message}; ` : ''}compensated by run ${runId} (ledger row ${finished.id})`),
    );
    done.push({ phase: target.phase as ForwardPhase, row: target.id, rollbackRow: finished.id });
  }
  const rowsText = done.map((d) => `${d.phase} (ledger row ${d.row}, by row ${d.rollbackRow})`).join(', ');
  return end('succeeded', `compensated ${rowsText} of ${version}, newest first; the schema is back to what it was before each`);
}

/** What a contract dropped, from its snapshots: the objects before it that are gone after it. */
async function contractDropped(client: pg.Client, contract: LedgerRow): Promise<string> {
  const snapshots = await readSnapshots(client, contract.id).catch(() => ({ before: null, after: null }));
  if (!snapshots.before || !snapshots.after) return 'objects that are not known (its ledger row has no schema snapshot)';
  const { dropped, altered } = droppedAndAltered(snapshots.before, snapshots.after);
  const list = (lines: string[]) =>
    lines.length > 12 ? `${lines.slice(0, 12).join(', ')} and ${lines.length - 12} more` : lines.join(', ');
  const changed = altered.length ? `, and changed ${list(altered)}` : '';
  if (dropped.length === 0) return `no schema object by its snapshots${changed}, but it may have deleted data`;
  return `${list(dropped)}${changed}`;
}
