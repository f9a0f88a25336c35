import { InputError } from '../config/input-error.js';
import { type Flow, FlowFailure } from '../flow.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { notificationsFromInputs } from '../notify/from-inputs.js';
import { migrateSpec } from '../specs/migrate.js';
import type { ParsedInputs } from '../specs/spec.js';
import { recordCancelledRun } from './cancelled-run.js';
import { spawnCommandRunner } from './command-runner.js';
import { type PhaseLimits, runPhase, type RolloutRequirement } from './phase.js';

type MigrateInputs = ParsedInputs<typeof migrateSpec>;

/**
 * actions/migrate: one phase of an expand / migrate / contract migration (src/core/migrate/phase.ts).
 * Commands run through node:child_process (argument list, no shell) rather than @actions/exec:
 * @actions/exec cannot stop a child, and a migration must be stoppable at command-timeout and
 * when the job is cancelled, or it holds the migration lock until the runner kills the job.
 */
export const migrateFlow: Flow<typeof migrateSpec> = {
  spec: migrateSpec,
  main: async (inputs, context) => {
    const notify = notificationsFromInputs(inputs, context, { deploymentTracker: context.deploymentTracker });
    const event = notify.newEvent({ service: inputs.service, strategy: 'migrate', version: inputs.version });
    const readOnly = inputs.phase === 'status';
    if (!readOnly) await notify.notifyStart({ ...event, phase: inputs.phase });
    const outcome = await runPhase({
      phase: inputs.phase,
      version: inputs.version,
      runId: context.runId,
      command: inputs.command,
      verifyCommand: inputs['verify-command'],
      rollbackCommand: inputs['rollback-command'],
      databaseUrl: inputs['database-url'],
      confirm: inputs.confirm,
      requireRollout: rolloutRequirement(inputs),
      limits: phaseLimits(inputs),
      runner: spawnCommandRunner(),
      reporter: context.reporter,
      secrets: context.secrets,
      signal: context.signal,
    });
    const outputs = { result: outcome.result, phase: outcome.phase, state: outcome.state, ledger: JSON.stringify(outcome.ledger) };
    // rolled-back: the command failed and its compensation ran; the phase did not happen.
    const failed = outcome.result === 'failed' || outcome.result === 'refused' || outcome.result === 'rolled-back';
    if (!readOnly) {
      const ended = { ...event, phase: inputs.phase, result: outcome.result, reason: outcome.message, durationMs: Date.now() - Date.parse(event.startedAt) };
      await notify.notifyEnd({ ...ended, outcome: failed ? (outcome.result === 'rolled-back' ? 'rolled-back' : 'failed') : 'succeeded' });
    }
    if (failed) {
      const output = outcome.output.length ? `\nLast output:\n${outcome.output.join('\n')}` : '';
      throw new FlowFailure(`${outcome.phase} ${outcome.version} ${outcome.result}: ${outcome.message}${output}`, outputs);
    }
    return outputs;
  },
  post: async (inputs, context) => {
    const databaseUrl = inputs['database-url'];
    if (!databaseUrl || inputs.phase === 'status') return;
    const { rows, stoppedSessions } = await recordCancelledRun({ databaseUrl, version: inputs.version, runId: context.runId });
    if (stoppedSessions.length) context.reporter.warn(`Stopped the database session(s) the cancelled command left running: pid ${stoppedSessions.join(', ')}`);
    for (const row of rows) context.reporter.warn(`The ${row.phase} of ${row.version} was still running when the job ended: ledger row ${row.id} marked failed`);
  },
};

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

function rolloutRequirement(inputs: MigrateInputs): RolloutRequirement | undefined {
  const deployments = inputs['require-rollout'];
  if (!deployments) return undefined;
  const expectedImage = inputs['expected-image'];
  if (!expectedImage) {
    throw new InputError("Invalid inputs of migrate: 'expected-image' is required with 'require-rollout' (the image every replica must run)");
  }
  return { deployments, expectedImage, kubeConfig: loadKubeConfig({ kubeconfig: inputs.kubeconfig }) };
}
