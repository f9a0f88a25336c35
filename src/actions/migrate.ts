import * as core from '@actions/core';
import { InputError } from '../core/config/input-error.js';
import { recordCancelledRun } from '../core/migrate/cancelled-run.js';
import { spawnCommandRunner } from '../core/migrate/command-runner.js';
import { runPhase, type RolloutRequirement } from '../core/migrate/phase.js';
import { migrateSpec } from '../core/specs/migrate.js';
import type { ParsedInputs } from '../core/specs/spec.js';
import { runAction } from './runtime.js';

/**
 * Commands run through node:child_process (argument list, no shell) rather than @actions/exec:
 * @actions/exec cannot stop a child, and a migration must be stoppable at command-timeout and
 * when the job is cancelled, or it holds the migration lock until the runner kills the job.
 */
await runAction(migrateSpec, {
  main: async (inputs, context) => {
    const requireRollout = await rolloutRequirement(inputs);
    const outcome = await runPhase({
      phase: inputs.phase,
      version: inputs.version,
      runId: context.runId,
      command: inputs.command,
      verifyCommand: inputs['verify-command'],
      rollbackCommand: inputs['rollback-command'],
      databaseUrl: inputs['database-url'],
      confirm: inputs.confirm,
      requireRollout,
      limits: {
        commandTimeoutMs: inputs['command-timeout'],
        lockTimeoutMs: inputs['lock-timeout'],
        maxTransactionAgeMs: inputs['max-transaction-age'],
        statementLockTimeoutMs: inputs['statement-lock-timeout'],
        statementTimeoutMs: inputs['statement-timeout'],
      },
      runner: spawnCommandRunner(),
      reporter: context.reporter,
      secrets: context.secrets,
      signal: context.signal,
    });
    const outputs = { result: outcome.result, phase: outcome.phase, state: outcome.state, ledger: JSON.stringify(outcome.ledger) };
    if (outcome.result === 'failed' || outcome.result === 'refused') {
      // The step fails, and the outputs still tell the workflow what happened.
      for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
      const output = outcome.output.length ? `\nLast output:\n${outcome.output.join('\n')}` : '';
      throw new Error(`${outcome.phase} ${outcome.version} ${outcome.result}: ${outcome.message}${output}`);
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
});

async function rolloutRequirement(inputs: ParsedInputs<typeof migrateSpec>): Promise<RolloutRequirement | undefined> {
  const deployments = inputs['require-rollout'];
  if (!deployments) return undefined;
  const expectedImage = inputs['expected-image'];
  if (!expectedImage) {
    throw new InputError("Invalid inputs of migrate: 'expected-image' is required with 'require-rollout' (the image every replica must run)");
  }
  // Loaded only for require-rollout: the other phases do not need the Kubernetes client.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  if (inputs.kubeconfig) kubeConfig.loadFromString(inputs.kubeconfig);
  else kubeConfig.loadFromDefault();
  return { deployments, expectedImage, kubeConfig };
}
