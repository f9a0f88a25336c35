/**
 * actions/rollback: undoes what blue-green, canary, rolling and migrate recorded, in reverse. Under the
 * service lock (so it cannot race a deployment) it reads the journal and undoes the last run's
 * changes with the `previous` values the run recorded: capacity it scaled down first (traffic never
 * goes back to a Deployment without pods), then traffic, then workloads; then (mode migration or
 * all) it runs the compensating migration through migrate's rollback phase. It never
 * guesses: with nothing recorded it refuses; with everything already undone it has nothing to do.
 */
import { CanaryRecordStore, canaryReleaseOf } from '../canary/canary-record.js';
import { InputError } from '../config/input-error.js';
import { journalForPreflight, rollbackPermissions } from '../delivery/needed-permissions.js';
import { withRouteRule } from '../kube/recorded-routes.js';
import { postDeliverySession, runDeliverySession, type DeliverySession, type SessionResult } from '../delivery/session.js';
import { type Flow, type FlowContext, FlowFailure, type FlowOutputs } from '../flow.js';
import { KubeClient } from '../kube/client.js';
import { describeRef } from '../kube/object-ref.js';
import { isExpired, readLockHolder } from '../kube/lease-lock.js';
import type { JobSummary } from '../notify/job-summary.js';
import { rollbackSpec } from '../specs/rollback.js';
import type { ParsedInputs } from '../specs/spec.js';
import { compensateMigration } from './compensating-migration.js';
import { describeEntry, planRollback, type JournalMode } from './plan.js';
import { previewUndo } from './preview.js';
import { rollbackSummary, type RollbackAction, type RollbackReport, type RollbackResult } from './report.js';
import { undoRecorded, UndoFailure } from './undo-recorded.js';
import { undoToRevision } from './undo-to-revision.js';
import { phaseLimits } from '../migrate/index.js';

export type RollbackInputs = ParsedInputs<typeof rollbackSpec>;

export const rollbackFlow: Flow<typeof rollbackSpec> = {
  spec: rollbackSpec,
  main: (inputs, context) => runRollback(inputs, context),
  post: async (inputs, context) => {
    // A cancelled rollback: release the lock if this run still holds it. Rollback journals no
    // traffic change of its own, so the post step has nothing of it to restore.
    await postDeliverySession({ inputs, strategy: 'rollback', context });
  },
};

export interface RollbackOptions {
  /** A client built elsewhere (tests, benchmarks); the kubeconfig input is used otherwise. */
  client?: KubeClient;
  /** Told as soon as each compensation is applied, in order (before the journal is marked). */
  onUndone?: (action: RollbackAction) => void;
}

export async function runRollback(inputs: RollbackInputs, context: FlowContext, options: RollbackOptions = {}): Promise<FlowOutputs> {
  checkInputs(inputs, context);
  context.secrets.add(inputs['database-url']);
  const client =
    options.client ?? KubeClient.fromKubeconfig({ kubeconfig: inputs.kubeconfig, context: inputs.context, reporter: context.reporter });
  let report: RollbackReport | undefined;
  let summary: JobSummary | undefined;
  try {
    // With force, who holds the lock now: read after the preflight (it asks for `get leases` too).
    let tookOverFrom: string | undefined;
    const beforeLock = inputs.force
      ? async (c: KubeClient) => void (tookOverFrom = await liveHolderTakenOver(c, inputs, context))
      : undefined;
    const revisionOf =
      inputs['to-revision'] === undefined ? undefined : { namespace: inputs.namespace, name: inputs.deployment ?? inputs.service };
    const permissions = (c: KubeClient) => permissionsOfPlan(c, inputs, revisionOf);
    return await runDeliverySession(
      { inputs, strategy: 'rollback', context, force: inputs.force, client, permissions, beforeLock },
      async (session) => {
        summary = session.notify.summary;
        report = await rollBack(session, inputs, context, options);
        report.tookOverFrom = tookOverFrom;
        return sessionResult(report);
      },
    );
  } catch (error) {
    // The session's failure (the lock, the cluster) carries result only: the actions output is always there.
    if (error instanceof FlowFailure)
      throw error.outputs.actions === undefined ? new FlowFailure(error.message, { ...error.outputs, actions: [] }) : error;
    // Lock timeout, unreachable cluster or database: the step fails, and `result` still reaches the workflow.
    const message = context.secrets.redact(error instanceof Error ? error.message : String(error));
    throw new FlowFailure(message, { result: 'failed', actions: [] });
  } finally {
    // After the session's own summary (title, result, reason), the table of what was undone.
    if (report)
      (summary ?? { write: (markdown: string) => context.reporter.summary(markdown) }).write(
        context.secrets.redact(rollbackSummary(report)),
      );
  }
}

/** Combinations the schema of one input cannot see; each message names the inputs and the fix. */
function checkInputs(inputs: RollbackInputs, context: FlowContext): void {
  const mode = inputs.mode;
  const withMigration = mode === 'migration' || mode === 'all';
  if (inputs['to-revision'] !== undefined && mode !== 'workload') {
    throw new InputError(
      `Invalid inputs of rollback: 'to-revision' is used only with mode workload (it rolls the Deployment back to that revision), and mode is ${mode}. Set mode: workload, or leave to-revision empty to undo what the journal recorded.`,
    );
  }
  if (inputs.deployment !== undefined && inputs['to-revision'] === undefined) {
    throw new InputError(
      `Invalid inputs of rollback: 'deployment' names the Deployment for 'to-revision', which is not given. Give to-revision too, or leave deployment empty: the journal already names every object it undoes.`,
    );
  }
  if (withMigration && !inputs['database-url']) {
    throw new InputError(
      `Invalid inputs of rollback: 'database-url' is required with mode ${mode}: the migration ledger in that database says which phase to compensate. Give it, or use mode auto to undo traffic and workloads only.`,
    );
  }
  if (withMigration && inputs['contract-rollback-command'] && inputs.confirm !== 'data-loss') {
    throw new InputError(
      `Invalid inputs of rollback: 'contract-rollback-command' re-creates what a contract dropped, whose data is gone; it runs only with confirm: data-loss. Set confirm: data-loss to accept that, or leave contract-rollback-command empty (a contract is then never rolled back: fix forward).`,
    );
  }
  if (!withMigration) {
    const unused = (['database-url', 'rollback-command', 'contract-rollback-command', 'confirm', 'version'] as const).filter(
      (name) => inputs[name] !== undefined,
    );
    if (unused.length)
      context.reporter.info(
        `${unused.join(', ')}: not used with mode ${mode}, which never runs the compensating migration (mode migration or all does).`,
      );
  }
}

/**
 * What this rollback's plan needs, as rollBack will run it: mode migration only holds the lock;
 * to-revision journals its undo; otherwise the journal's plan for the mode and release (as
 * undoJournal makes it), with the canary's record when that release is a canary.
 */
async function permissionsOfPlan(client: KubeClient, inputs: RollbackInputs, revisionOf: { namespace: string; name: string } | undefined) {
  const who = { namespace: inputs.namespace, service: inputs.service };
  if (inputs.mode === 'migration') return rollbackPermissions({ ...who, journal: false, entries: [] });
  if (revisionOf) return rollbackPermissions({ ...who, journal: true, entries: [], revisionOf });
  const journal = await journalForPreflight(client, who);
  const plan = planRollback(withRouteRule(journal ?? [], inputs['route-rule']), inputs.mode as JournalMode, inputs.release);
  return rollbackPermissions({
    ...who,
    journal: true,
    entries: plan.undos.flatMap((u) => u.entries),
    reads: plan.trafficLeft.map((u) => u.target),
    // An unreadable journal (no `get configmaps`) may hold a canary release: its record is asked too.
    canaryRecord: journal === undefined || (plan.release?.strategy === 'canary' && plan.undos.length > 0),
  });
}

/** With force: who holds the lock now and is still renewing it, so the takeover can be named in the summary. */
async function liveHolderTakenOver(client: KubeClient, inputs: RollbackInputs, context: FlowContext): Promise<string | undefined> {
  const holder = await readLockHolder(client, { namespace: inputs.namespace, service: inputs.service });
  if (!holder || holder.holder === context.runId || isExpired(holder)) return undefined;
  context.reporter.warn(
    `force: taking over the lock of ${inputs.service} from run ${holder.holder} (held since ${holder.acquiredAt?.toISOString() ?? '?'}, last renewed ${holder.renewedAt?.toISOString() ?? 'never'}). If that run is still alive it stops before its next change.`,
  );
  return holder.holder;
}

/** What one part of the rollback (the journal, a revision, the migration) did. */
interface PartResult {
  actions: RollbackAction[];
  notes: string[];
  /** Whether anything was recorded for it at all (false: a refusal, unless another part had something). */
  recorded: boolean;
  failure?: string;
  /** The journal part: the release it undid, whose migrations mode all compensates next. */
  release?: string;
}

/** The saga in reverse: traffic and workloads (from the journal, or a revision), then the migration; a failure stops it. */
async function rollBack(
  session: DeliverySession,
  inputs: RollbackInputs,
  context: FlowContext,
  options: RollbackOptions,
): Promise<RollbackReport> {
  if (inputs.reason) session.reporter.info(`Reason: ${inputs.reason}`);
  const mode = inputs.mode;
  const parts: PartResult[] = [];
  if (mode !== 'migration')
    parts.push(inputs['to-revision'] === undefined ? await undoJournal(session, inputs, options) : await undoRevision(session, inputs));
  if ((mode === 'migration' || mode === 'all') && !parts.some((p) => p.failure)) {
    parts.push(await undoMigration(session, inputs, context, options, inputs.release ?? parts.find((p) => p.release)?.release));
  }

  const actions = parts.flatMap((p) => p.actions);
  const notes = parts.flatMap((p) => p.notes);
  const failure = parts.find((p) => p.failure)?.failure;
  const recorded = parts.some((p) => p.recorded);
  const result: RollbackResult = failure ? 'failed' : actions.length === 0 ? 'nothing-to-do' : session.dryRun ? 'planned' : 'rolled-back';
  if (failure) {
    notes.unshift(
      actions.length
        ? `Failed: ${failure}. The compensations in the actions output and the summary were written, but the release is not recorded as undone; run the rollback again once the cause is fixed: what is already as before is left, the rest is undone.`
        : `Failed: ${failure}. Nothing was changed.`,
    );
  }
  if (!recorded) {
    const where =
      mode === 'migration'
        ? 'the migration ledger'
        : `journal ConfigMap ${session.journal.ref.name}${mode === 'all' ? ', the migration ledger' : ''}`;
    notes.unshift(
      `Refused: nothing is recorded for ${inputs.service} in ${inputs.namespace} (${where}). The rollback never guesses: check the service and namespace, or roll a Deployment back to a known revision with mode workload and to-revision.`,
    );
  }
  for (const note of notes) session.reporter[failure || !recorded ? 'error' : 'info'](note);
  return { result, service: inputs.service, namespace: inputs.namespace, actions, notes, reason: inputs.reason, refused: !recorded };
}

/** The release's recorded changes, undone (or previewed, on a dry run) in the planned order, then read back. */
async function undoJournal(session: DeliverySession, inputs: RollbackInputs, options: RollbackOptions): Promise<PartResult> {
  const mode = inputs.mode as JournalMode;
  const plan = planRollback(withRouteRule(await session.journal.entries(), inputs['route-rule']), mode, inputs.release);
  const part: PartResult = {
    actions: [],
    notes: [],
    recorded: plan.release !== undefined || plan.changedNothing === true,
    release: plan.release?.id,
  };
  if (plan.release) session.reporter.info(`Release ${plan.release.id} (${plan.release.strategy}; runs ${plan.release.runs.join(', ')}).`);
  if (plan.nothingBecause) part.notes.push(`Nothing to undo: ${plan.nothingBecause}.`);
  if (plan.leftAlone.length) part.notes.push(`Left alone (not part of mode ${mode}): ${plan.leftAlone.join('; ')}.`);
  for (const [i, undo] of plan.undos.entries()) {
    session.reporter.info(
      `Plan ${i + 1}/${plan.undos.length}, ${undo.layer}: ${describeRef(undo.target.object)} back to what it was before ${undo.target.step}, settling ${undo.entries.map(describeEntry).join(', ')}`,
    );
  }
  if (session.dryRun) {
    for (const undo of plan.undos) part.actions.push(await previewUndo(session.client, undo));
    return part;
  }
  if (plan.undos.length === 0) return part;
  try {
    const outcome = await undoRecorded(session.client, session.journal, plan, {
      reporter: session.reporter,
      rolloutTimeoutMs: inputs['rollout-timeout'],
      signal: session.signal,
      force: inputs.force,
      onUndone: options.onUndone,
    });
    part.actions = outcome.actions;
    if (outcome.alreadyBefore.length) {
      part.notes.push(`Already as before release ${plan.release!.id}, so not written: ${outcome.alreadyBefore.join('; ')}.`);
    }
  } catch (error) {
    if (!(error instanceof UndoFailure)) throw error;
    part.actions = error.done;
    part.failure = error.message;
    return part;
  }
  if (plan.release?.strategy === 'canary') await settleCanaryRecord(session, inputs, plan.release);
  return part;
}

/**
 * The canary's own record (pd-canary-<service>) still says the undone release is progressing,
 * paused or promoted: left so, it contradicts the cluster, a later `promote` would walk on from a
 * step whose traffic was undone, and a new canary is refused. Say it was rolled back. Written
 * only after the cluster read back as before the release.
 */
async function settleCanaryRecord(
  session: DeliverySession,
  inputs: RollbackInputs,
  release: { id: string; runs: string[] },
): Promise<void> {
  const records = new CanaryRecordStore(session.client, inputs.namespace, inputs.service);
  const record = await records.read();
  const ours =
    record && (canaryReleaseOf(record) === release.id || release.runs.includes(record.runId) || release.runs.includes(record.startedBy));
  if (!record || !ours || record.state === 'aborted' || record.state === 'rolled-back') return;
  await records.write({
    ...record,
    state: 'rolled-back',
    weight: 0,
    reason: `rolled back by run ${session.runId}${inputs.reason ? `: ${inputs.reason}` : ''}`,
  });
  session.reporter.info(
    `${describeRef(records.ref)}: the canary of ${record.image} (release ${release.id}) is recorded as rolled back; its traffic and workloads are as before it.`,
  );
}

/** Mode workload with to-revision: the Deployment's own revision history is the record. */
async function undoRevision(session: DeliverySession, inputs: RollbackInputs): Promise<PartResult> {
  const part: PartResult = { actions: [], notes: [], recorded: true };
  try {
    const outcome = await undoToRevision(session, {
      namespace: inputs.namespace,
      deployment: inputs.deployment ?? inputs.service,
      toRevision: inputs['to-revision']!,
      rolloutTimeoutMs: inputs['rollout-timeout'],
    });
    if ('action' in outcome) part.actions.push(outcome.action);
    else part.notes.push(`Nothing to undo: ${outcome.nothingBecause}.`);
  } catch (error) {
    part.failure = errorMessage(error);
  }
  return part;
}

/**
 * Mode migration or all: migrate's rollback phase for the release's migrations (each phase with
 * its recorded command, newest first; a contract only with contract-rollback-command and confirm
 * data-loss). The release: the `release` input, else (mode all) the one the journal part undid.
 */
async function undoMigration(
  session: DeliverySession,
  inputs: RollbackInputs,
  context: FlowContext,
  options: RollbackOptions,
  release: string | undefined,
): Promise<PartResult> {
  const outcome = await compensateMigration({
    databaseUrl: inputs['database-url']!,
    rollbackCommand: inputs['rollback-command'],
    contractRollbackCommand: inputs['contract-rollback-command'],
    confirm: inputs.confirm,
    release,
    version: inputs.version,
    runId: session.runId,
    // One lock-timeout for both locks: the service's Lease and the database's migration lock.
    limits: phaseLimits(inputs),
    dryRun: session.dryRun,
    reporter: session.reporter,
    secrets: context.secrets,
    signal: session.signal,
  });
  if ('nothingBecause' in outcome)
    return { actions: [], notes: [`Migration: nothing to compensate: ${outcome.nothingBecause}.`], recorded: outcome.recorded };
  for (const action of outcome.actions) options.onUndone?.(action);
  if ('failure' in outcome) return { actions: outcome.actions, notes: [], recorded: true, failure: outcome.failure };
  return { actions: outcome.actions, notes: [], recorded: true };
}

function sessionResult(report: RollbackReport): SessionResult {
  const outputs = { result: report.result, actions: report.actions };
  if (report.result === 'failed') return { outcome: 'failed', result: 'failed', outputs, reason: report.notes[0] };
  if (report.refused) return { outcome: 'failed', result: 'nothing-to-do', outputs, reason: report.notes[0] };
  if (report.result === 'planned') return { outcome: 'planned', result: 'planned', outputs, reason: report.reason };
  const reason = report.result === 'nothing-to-do' ? report.notes.join(' ') : report.reason;
  return { outcome: 'succeeded', result: report.result, outputs, reason };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
