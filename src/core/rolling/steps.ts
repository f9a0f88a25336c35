/**
 * The steps of a rolling run that rolling() (flow.ts) lists: read the Deployment and decide, then
 * either refuse, confirm a rollout this run id already made, or wait for an image already set; or
 * take the rollout (RollingUpdate: set the image, journaled; end a dry run; wait for the rollout
 * with the analysis alongside; read it back). A failure or a cancel once the image is set puts the
 * previous image back (undo.ts). Each step returns the run's end when the run stops there, or
 * undefined to go on.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { formatDuration } from '../config/primitives.js';
import { type Analysis, analyse } from '../delivery/analysis.js';
import type { DeliverySession, SessionResult } from '../delivery/session.js';
import type { FlowOutputs } from '../flow.js';
import type { KubeClient } from '../kube/client.js';
import {
  deploymentRef,
  deploymentRolloutState,
  findContainer,
  readDeployment,
  revisionOf,
  rolloutProblem,
  setDeploymentImage,
  type DeploymentName,
} from '../kube/deployment.js';
import { isNotFound } from '../kube/errors.js';
import { describeRef, type ObjectRef } from '../kube/object-ref.js';
import { readBackRollout } from '../kube/rolled-out.js';
import type { Clock } from '../metrics/clock.js';
import { describeFailure, timelineOf } from '../metrics/describe.js';
import type { TimelineStep } from '../notify/event.js';
import { versionOf } from '../notify/event.js';
import { rollbackActionOf } from '../notify/rollback-step.js';
import type { Secrets } from '../secrets.js';
import { decide, IMAGE_STEP, type Decision } from './decide.js';
import type { RollingInputs, RollingSettings } from './settings.js';
import { rollingSummary, type RolloutReport } from './summary.js';
import { undoImage } from './undo.js';

/** What a run is given besides its session: the checked inputs and what tests may replace. */
export interface RollingRun {
  inputs: RollingInputs;
  settings: RollingSettings;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  secrets: Secrets;
}

/** What a run reads before it changes anything: the Deployment, and the decision. */
export interface RunStart {
  session: DeliverySession;
  run: RollingRun;
  ref: ObjectRef;
  /** `Deployment shop/checkout`, for messages. */
  name: string;
  live: V1Deployment;
  decision: Decision;
  /** The job summary's facts, filled as the run goes. */
  report: RolloutReport;
}

/** The Deployment to roll out; a missing one is named with the inputs that name it. */
export async function readTarget(client: KubeClient, settings: RollingSettings, service: string): Promise<V1Deployment> {
  try {
    return await readDeployment(client, settings.deployment);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const { namespace, name } = settings.deployment;
    throw new Error(
      `${describeRef(deploymentRef(settings.deployment))} not found: nothing was changed. Check the deployment input (empty: the service name, ${service}) and the namespace (${namespace}); kubectl get deployment ${name} -n ${namespace}`,
    );
  }
}

export async function readDeploymentState(session: DeliverySession, run: RollingRun): Promise<RunStart> {
  const { settings, inputs } = run;
  const ref = deploymentRef(settings.deployment);
  const name = describeRef(ref);
  const live = await readTarget(session.client, settings, inputs.service);
  const decision = decide({
    deployment: live,
    name,
    image: settings.image,
    container: inputs.container,
    journal: await session.journal.entries(),
    runId: session.runId,
  });
  const report: RolloutReport = {
    service: inputs.service,
    namespace: inputs.namespace,
    deployment: name,
    container: decision.container,
    result: '',
    image: settings.image,
    analyses: [],
    dryRun: session.dryRun,
    rollbackAction: rollbackActionOf(run.env),
  };
  return { session, run, ref, name, live, decision, report };
}

function outputs(result: string, previous: string, image: string, revision: number | undefined): FlowOutputs {
  return { result, 'previous-image': previous, image, revision: revision === undefined ? '' : String(revision) };
}

/** The run's end, with the job summary written from the report. */
function finish(start: RunStart, result: SessionResult): SessionResult {
  start.report.result = result.result;
  start.session.notify.summary.write(rollingSummary(start.report));
  return result;
}

/** The Deployment is in a state that needs a person (decide.ts says which): nothing is written. */
export function refuse(start: RunStart, decision: Extract<Decision, { kind: 'refuse' }>): SessionResult {
  const revision = revisionOf(start.live);
  start.session.reporter.error(decision.reason);
  start.report.before = { image: decision.live, revision };
  return finish(start, {
    outcome: 'failed',
    result: 'failed',
    reason: decision.reason,
    outputs: outputs('failed', decision.live, decision.live, revision),
  });
}

/** This run id already rolled the image out (a re-run): read it back and report it, writing nothing. */
export async function confirmDone(start: RunStart, decision: Extract<Decision, { kind: 'done' }>): Promise<SessionResult> {
  const { session, run, name } = start;
  const { image, deployment } = run.settings;
  session.reporter.info(`Run ${session.runId} already rolled ${name} out to ${image}: nothing to do but read it back.`);
  const readBack = await readBackRollout(session.client, deployment, { container: decision.container, image });
  start.report.before = { image: decision.previous };
  start.report.after = { image, revision: readBack.revision };
  if (readBack.differences.length > 0) {
    const reason = `Run ${session.runId} rolled ${name} out to ${image}, but reading it back does not agree: ${readBack.differences.join('; ')}`;
    session.reporter.error(reason);
    return finish(start, {
      outcome: 'failed',
      result: 'failed',
      reason,
      outputs: outputs('failed', decision.previous, image, readBack.revision),
    });
  }
  return finish(start, {
    outcome: 'succeeded',
    result: 'rolled-out',
    outputs: outputs('rolled-out', decision.previous, image, readBack.revision),
  });
}

/**
 * The container already runs the image, set before this run: nothing to change. A rollout of it
 * still in progress is waited for (as `kubectl rollout status`); the end state is read back.
 */
export async function confirmCurrent(start: RunStart, decision: Extract<Decision, { kind: 'current' }>): Promise<SessionResult> {
  const { session, run, name, live } = start;
  const { image, deployment } = run.settings;
  const revision = revisionOf(live);
  start.report.before = { image, revision };
  const rolledOut = deploymentRolloutState(live).state === 'done';
  if (session.dryRun) {
    session.reporter.info(
      `Dry run: ${name} already runs ${image}${rolledOut ? ', rolled out: nothing to do' : '; would wait for its rollout'}.`,
    );
    const result = rolledOut ? 'nothing-to-do' : 'planned';
    return finish(start, { outcome: rolledOut ? 'succeeded' : 'planned', result, outputs: outputs(result, image, image, revision) });
  }
  const changedNothing = (why: string): SessionResult => {
    const reason = `${name} already runs ${image}, set before this run, and ${why}. This run changed nothing, so it has nothing to undo: roll back the release that set it (the rollback action), or roll out a working image`;
    session.reporter.error(reason);
    return finish(start, { outcome: 'failed', result: 'failed', reason, outputs: outputs('failed', image, image, revision) });
  };
  if (!rolledOut) {
    session.reporter.info(`${name} already runs ${image}, set before this run; waiting for its rollout.`);
    const notDone = await waitForRollout(session, deployment, run.inputs['rollout-timeout'], image);
    if (notDone) return changedNothing(`its rollout did not finish: ${notDone}`);
  }
  const readBack = await readBackRollout(session.client, deployment, { container: decision.container, image });
  start.report.after = { image, revision: readBack.revision };
  if (readBack.differences.length > 0) return changedNothing(`reading it back does not agree: ${readBack.differences.join('; ')}`);
  session.reporter.info(`${name}: container ${decision.container} already runs ${image}, rolled out: nothing to do.`);
  return finish(start, {
    outcome: 'succeeded',
    result: 'nothing-to-do',
    outputs: outputs('nothing-to-do', image, image, readBack.revision),
  });
}

/** The steps of a rollout of the image: set it, end a dry run, roll out with the analysis, read back. */
export class RollingUpdate {
  private readonly session: DeliverySession;
  private readonly settings: RollingSettings;
  private readonly deployment: DeploymentName;
  private readonly container: string;
  private readonly previous: string;
  private readonly analysis: Analysis | undefined;

  constructor(
    private readonly start: RunStart,
    private readonly decision: Extract<Decision, { kind: 'roll' }>,
  ) {
    this.session = start.session;
    this.settings = start.run.settings;
    this.deployment = this.settings.deployment;
    this.container = decision.container;
    this.previous = decision.previous;
    this.analysis = this.settings.analysis;
    start.report.before = { image: decision.previous, revision: decision.revision };
  }

  /**
   * Sets the image, recorded first as an `image` change (the previous image and revision, what an
   * undo puts back). A re-run of this run id that set it already goes on to its rollout.
   */
  async setImage(): Promise<SessionResult | undefined> {
    const { session, start, settings, container, previous } = this;
    const { image } = settings;
    session.reporter.info(
      `${start.name}: container ${container} ${previous} -> ${image}${this.decision.resumed ? ' (set by this run before; going on with its rollout)' : ''}.`,
    );
    try {
      await session.change(
        IMAGE_STEP,
        start.ref,
        { kind: 'image', container, previous: { image: previous, revision: this.decision.revision }, next: { image } },
        () => setDeploymentImage(session.client, { ...this.deployment, container, image }),
      );
    } catch (error) {
      if (session.dryRun) throw error;
      // The write may have landed though its answer did not: an image of this run that is live is undone.
      const live = await readDeployment(session.client, this.deployment).then(
        (dep) => findContainer(start.ref, dep.spec?.template, container).image,
        () => undefined,
      );
      if (live !== image) throw error;
      const why = session.signal.aborted ? 'the run was cancelled' : `setting the image failed (${errorMessage(error)})`;
      return await this.back(why);
    }
    return undefined;
  }

  /** A dry run ends here: it says what it would have done. */
  endDryRun(): SessionResult | undefined {
    const { session, start, settings, previous } = this;
    if (!session.dryRun) return undefined;
    const revision = this.decision.revision;
    session.reporter.info(
      `Dry run: nothing was changed. ${start.name} would roll out ${settings.image} (rollout-timeout ${formatDuration(start.run.inputs['rollout-timeout'])})${this.analysis ? ', analysed during and after the rollout' : ''}, and put ${previous} back if it failed.`,
    );
    start.report.after = { image: settings.image };
    return finish(start, { outcome: 'planned', result: 'planned', outputs: outputs('planned', previous, previous, revision) });
  }

  /**
   * Waits for the rollout with the analysis alongside, from the moment the image is set until the
   * rollout is done and every metric has its count. Whichever fails first stops the other; a failed
   * rollout (progress deadline, rollout-timeout), a failed analysis or a cancel puts the previous
   * image back.
   */
  async rollOut(): Promise<SessionResult | undefined> {
    const { session, start } = this;
    const { clock } = start.run;
    await session.phase({ phase: 'rollout' });
    const step: TimelineStep = { name: `rollout ${this.settings.version}`, startedAt: new Date(clock.now()).toISOString() };
    session.event.timeline = [...session.event.timeline, step];
    const startedMs = clock.now();
    let why: string | undefined;
    try {
      why = await this.waitAndAnalyse(step);
    } catch (error) {
      why = session.signal.aborted ? undefined : `the rollout stopped: ${errorMessage(error)}`;
    }
    step.heldMs = clock.now() - startedMs;
    if (session.signal.aborted) why = 'the run was cancelled mid-rollout';
    return why ? await this.back(why) : undefined;
  }

  private async waitAndAnalyse(step: TimelineStep): Promise<string | undefined> {
    const { session, settings } = this;
    const { run } = this.start;
    // Whichever of the two fails first stops the other.
    const stop = new AbortController();
    let first: 'rollout' | 'analysis' | undefined;
    const halt = (who: 'rollout' | 'analysis', reason: unknown) => {
      first ??= who;
      stop.abort(reason);
    };
    const signal = AbortSignal.any([session.signal, stop.signal]);
    const rollout = waitForRollout(
      { client: session.client, reporter: session.reporter, signal },
      this.deployment,
      run.inputs['rollout-timeout'],
      settings.image,
    ).then(
      (notDone) => {
        if (notDone) halt('rollout', new Error(`the rollout failed: ${notDone}`));
        return notDone;
      },
      (error: unknown) => {
        halt('rollout', error);
        throw error;
      },
    );
    const title = `Analysis of ${settings.version} during and after the rollout`;
    const analysis = this.analysis
      ? analyse(this.analysis, {
          title,
          durationMs: undefined,
          reporter: session.reporter,
          secrets: run.secrets,
          signal,
          clock: run.clock,
          env: run.env,
        }).then(
          (result) => {
            this.start.report.analyses.push({ title, result });
            Object.assign(step, timelineOf(result));
            if (result.phase !== 'Successful') halt('analysis', new Error(`the analysis ended ${result.phase}`));
            return result;
          },
          (error: unknown) => {
            halt('analysis', error);
            throw error;
          },
        )
      : Promise.resolve(undefined);
    const [rolled, analysed] = await Promise.allSettled([rollout, analysis]);
    if (session.signal.aborted) return undefined;
    if (first === 'analysis') {
      if (analysed.status === 'fulfilled' && analysed.value)
        return `Analysis of ${settings.image} ${analysed.value.phase}: ${describeFailure(analysed.value)}`;
      if (analysed.status === 'rejected')
        return `the analysis of ${settings.image} stopped with an error: ${errorMessage(analysed.reason)}`;
    }
    if (rolled.status === 'rejected') throw rolled.reason;
    return rolled.value;
  }

  /** Reads the end state back before claiming it: the image in the spec, every replica updated, ready and available, no older pod left. */
  async confirmRolledOut(): Promise<SessionResult> {
    const { session, start, settings, container, previous } = this;
    const readBack = await readBackRollout(session.client, this.deployment, { container, image: settings.image });
    if (readBack.differences.length > 0)
      return await this.back(`${settings.image} rolled out, but reading it back does not agree: ${readBack.differences.join('; ')}`);
    start.report.after = { image: settings.image, revision: readBack.revision };
    session.reporter.info(`Rolled out: ${start.name} runs ${settings.image} (revision ${readBack.revision ?? '?'}), every replica ready.`);
    return finish(start, {
      outcome: 'succeeded',
      result: 'rolled-out',
      outputs: outputs('rolled-out', previous, settings.image, readBack.revision),
    });
  }

  /** After a failure or a cancel: the previous image back (rolled-back), or, when that fails too, where the Deployment stands (failed). */
  private async back(why: string): Promise<SessionResult> {
    const { session, start, settings, container, previous } = this;
    const { clock } = start.run;
    session.reporter.warn(why);
    session.event.timeline = [
      ...session.event.timeline,
      { name: `back to ${versionOf(previous)}`, startedAt: new Date(clock.now()).toISOString() },
    ];
    await session.phase({ phase: 'rollback' });
    const undone = await undoImage(session, {
      deployment: this.deployment,
      container,
      image: settings.image,
      previous,
      timeoutMs: start.run.inputs['rollout-timeout'],
    });
    if (!undone.ok) {
      const reason = `${why}; ${undone.reason}`;
      session.reporter.error(reason);
      const live = await readDeployment(session.client, this.deployment).catch(() => undefined);
      const image = live ? findContainer(start.ref, live.spec?.template, container).image : settings.image;
      start.report.after = { image, revision: live && revisionOf(live) };
      return finish(start, {
        outcome: 'failed',
        result: 'failed',
        reason,
        outputs: outputs('failed', previous, image, start.report.after.revision),
      });
    }
    const reason = `${why}; ${start.name} is back on ${previous} (revision ${undone.revision ?? '?'}), rolled out and read back`;
    session.reporter.error(reason);
    start.report.after = { image: previous, revision: undone.revision };
    return finish(start, {
      outcome: 'rolled-back',
      result: 'rolled-back',
      reason,
      outputs: outputs('rolled-back', previous, previous, undone.revision),
    });
  }
}

/**
 * Waits for the Deployment's rollout (kubectl rollout status rules, its progress deadline, the
 * rollout-timeout); returns why it did not finish, or undefined when it did. A cancel throws.
 */
async function waitForRollout(
  session: Pick<DeliverySession, 'client' | 'reporter' | 'signal'>,
  d: DeploymentName,
  timeoutMs: number,
  image: string,
): Promise<string | undefined> {
  const name = describeRef(deploymentRef(d));
  const onProgress = (message: string) => session.reporter.info(`${name}: ${message}`);
  return rolloutProblem(session.client, d, { timeoutMs, signal: session.signal, onProgress, what: `did not finish rolling out ${image}` });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
