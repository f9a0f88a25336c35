/**
 * actions/migrate: one phase of an expand / migrate / contract migration (src/core/migrate/phase.ts).
 * Commands run through node:child_process (argument list, no shell) rather than @actions/exec:
 * @actions/exec cannot stop a child, and a migration must be stoppable at command-timeout and
 * when the job is cancelled, or it holds the migration lock until the runner kills the job.
 */
import { InputError } from '../config/input-error.js';
import { type Flow, FlowFailure } from '../flow.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { notificationsFromInputs } from '../notify/from-inputs.js';
import { migrateSpec } from '../specs/migrate.js';
import type { ParsedInputs } from '../specs/spec.js';
import { recordCancelledRun } from './cancelled-run.js';
import { spawnCommandRunner } from '../command-runner.js';
import type { Outcome } from '../notify/event.js';
import { phaseLimits, type PhaseOutcome, runPhase, type RolloutRequirement } from './phase.js';

type MigrateInputs = ParsedInputs<typeof migrateSpec>;

export const migrateFlow: Flow<typeof migrateSpec> = {
  spec: migrateSpec,
  main: async (inputs, context) => {
    const notify = notificationsFromInputs(inputs, context, { deploymentTracker: context.deploymentTracker });
    const dryRun = inputs['dry-run'];
    const event = notify.newEvent({ service: inputs.service, strategy: 'migrate', version: inputs.version, dryRun });
    const readOnly = inputs.phase === 'status';
    const requireRollout = rolloutRequirement(inputs);
    if (!readOnly) await notify.notifyStart({ ...event, phase: inputs.phase });
    const end = async (result: string, outcome: Outcome, reason: string) => {
      if (readOnly) return;
      await notify.notifyEnd({
        ...event,
        phase: inputs.phase,
        result,
        reason,
        outcome,
        durationMs: Date.now() - Date.parse(event.startedAt),
      });
    };
    let outcome: PhaseOutcome;
    try {
      outcome = await runPhase({
        phase: inputs.phase,
        version: inputs.version,
        runId: context.runId,
        // Forward phases record their release (default: this run); rollback compensates only the one given.
        release: inputs.phase === 'rollback' ? inputs.release : (inputs.release ?? context.runId),
        command: inputs.command,
        verifyCommand: inputs['verify-command'],
        rollbackCommand: inputs['rollback-command'],
        contractRollbackCommand: inputs['contract-rollback-command'],
        databaseUrl: inputs['database-url'],
        confirm: inputs.confirm,
        allowChanged: inputs['allow-changed'],
        dryRun,
        requireRollout,
        limits: phaseLimits(inputs),
        runner: spawnCommandRunner(),
        reporter: context.reporter,
        secrets: context.secrets,
        signal: context.signal,
      });
    } catch (error) {
      // Every "started" gets its end, whatever stopped the phase (an unreachable database, a lost connection).
      const reason = context.secrets.redact(error instanceof Error ? error.message : String(error));
      if (/^cannot connect to the database/.test(reason)) context.state.set(UNREACHABLE_KEY, reason);
      await end('failed', 'failed', reason);
      if (error instanceof InputError) throw error;
      throw new FlowFailure(`${inputs.phase} ${inputs.version} failed: ${reason}`, {
        result: 'failed',
        phase: inputs.phase,
        state: 'unknown',
        ledger: '[]',
      });
    }
    const outputs = { result: outcome.result, phase: outcome.phase, state: outcome.state, ledger: JSON.stringify(outcome.ledger) };
    // rolled-back: the command failed and its compensation ran; the phase did not happen.
    const failed = outcome.result === 'failed' || outcome.result === 'refused' || outcome.result === 'rolled-back';
    const ended: Outcome = dryRun ? 'planned' : failed ? (outcome.result === 'rolled-back' ? 'rolled-back' : 'failed') : 'succeeded';
    await end(outcome.result, ended, outcome.message);
    if (failed) {
      const output = outcome.output.length ? `\nLast output:\n${outcome.output.join('\n')}` : '';
      throw new FlowFailure(`${outcome.phase} ${outcome.version} ${outcome.result}: ${outcome.message}${output}`, outputs);
    }
    return outputs;
  },
  post: async (inputs, context) => {
    const databaseUrl = inputs['database-url'];
    if (!databaseUrl || inputs.phase === 'status' || inputs['dry-run']) return;
    const unreachable = context.state.get(UNREACHABLE_KEY);
    try {
      const { rows, stoppedSessions } = await recordCancelledRun({ databaseUrl, version: inputs.version, runId: context.runId });
      if (stoppedSessions.length)
        context.reporter.warn(`Stopped the database session(s) the cancelled command left running: pid ${stoppedSessions.join(', ')}`);
      for (const row of rows)
        context.reporter.warn(
          `The ${row.phase} of ${row.version} was still running when the job ended: ledger row ${row.id} marked failed`,
        );
    } catch (error) {
      const message = context.secrets.redact(error instanceof Error ? error.message : String(error));
      // The main step could not reach the database either: it wrote no ledger row, so there is
      // nothing to mark, and its error already says why.
      if (unreachable)
        context.reporter.info(
          `Post step: the database is still unreachable (${message}); the main step wrote nothing to the ledger, so there is nothing to mark`,
        );
      else
        context.reporter.warn(
          `Post step: could not check the ledger for a row this run left running: ${message}. The next run that takes the migration lock marks such a row failed`,
        );
    }
  },
};

const UNREACHABLE_KEY = 'migrate-database-unreachable';

function rolloutRequirement(inputs: MigrateInputs): RolloutRequirement | undefined {
  const deployments = inputs['require-rollout'];
  if (!deployments) return undefined;
  const expectedImage = inputs['expected-image'];
  if (!expectedImage) {
    throw new InputError(
      "Invalid inputs of migrate: 'expected-image' is required with 'require-rollout' (the image every replica must run)",
    );
  }
  return { deployments, expectedImage, kubeConfig: loadKubeConfig({ kubeconfig: inputs.kubeconfig, context: inputs.context }) };
}
