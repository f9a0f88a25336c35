/**
 * The steps of a blue-green run that blueGreen() (flow.ts) lists: read the traffic and decide,
 * then either refuse or confirm a switch already made, or take a switch from the live color to the
 * idle one (BlueGreenSwitch: prepare, check, switch and validate, end a dry run, retire the old
 * color, confirm). Each step returns the run's end when the run stops there, or undefined to go on.
 */
import { formatDuration } from '../config/primitives.js';
import { withRecordedPin } from '../kube/recorded-routes.js';
import { createRouter, type RouterSpec } from '../kube/routers/factory.js';
import type { DeliverySession, SessionResult } from '../delivery/session.js';
import type { FlowOutputs } from '../flow.js';
import { deploymentRef, readDeployment, scaleDeployment, type DeploymentName } from '../kube/deployment.js';
import { readLockHolder } from '../kube/lease-lock.js';
import { describeRef } from '../kube/object-ref.js';
import type { TrafficRouter } from '../kube/routers/router.js';
import { sameWeights, type Weights } from '../kube/weights.js';
import type { Clock } from '../metrics/clock.js';
import { describeFailure, timelineOf } from '../metrics/describe.js';
import type { AnalysisResult } from '../metrics/result.js';
import { rollbackActionOf } from '../notify/rollback-step.js';
import type { CommandRunner } from '../command-runner.js';
import type { Secrets } from '../secrets.js';
import { analyse, type Analysis } from '../delivery/analysis.js';
import { analysisFor } from './analysis.js';
import { describeColorWeights, liveColor, type Color } from './colors.js';
import { decide, FINAL_STEP, type Decision } from './decide.js';
import { deployTarget } from './deploy-target.js';
import { notReadyFor, scaleUpIdle } from './ready-color.js';
import type { BlueGreenInputs, BlueGreenSettings } from './settings.js';
import { runSmokeTest } from './smoke-test.js';
import { switchSummary, type SwitchReport } from './summary.js';
import { switchBack, takeStep, weightsAt, type SwitchPlan } from './switch-traffic.js';
import { verifyClaim } from './verify-switch.js';
import { warmUp } from './warm-up.js';

/** What a run is given besides its session: the checked inputs and what tests may replace. */
export interface BlueGreenRun {
  inputs: BlueGreenInputs;
  settings: BlueGreenSettings;
  clock: Clock;
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  secrets: Secrets;
}

/** What a run reads before it changes anything: the route (pinned to the one this release recorded), its live weights, and the decision. */
export interface RunStart {
  session: DeliverySession;
  run: BlueGreenRun;
  router: TrafficRouter;
  routerSpec: RouterSpec;
  /** Names the router object in messages, e.g. `VirtualService shop/checkout`. */
  routed: string;
  live: Weights;
  decision: Decision;
  /** The job summary's facts, filled as the run goes. */
  report: SwitchReport;
}

export async function readTraffic(session: DeliverySession, run: BlueGreenRun): Promise<RunStart> {
  const { inputs, settings } = run;
  const routerSpec = withRecordedPin(settings.router, await session.journal.entries(), session.runId, 'blue-green');
  const router = createRouter(session.client, routerSpec);
  const { destination } = settings.colors;
  const routed = router.describe();
  const live = await router.read();
  const mine = (await session.journal.entries()).filter((e) => e.runId === session.runId && e.strategy === 'blue-green');
  const decision = decide({ live, destination, mine, routed: describeRef(router.ref), runId: session.runId });
  const report: SwitchReport = {
    service: inputs.service,
    namespace: inputs.namespace,
    routed,
    colors: settings.colors,
    before: { color: liveColor(live, destination), weights: live },
    image: settings.image,
    result: '',
    analyses: [],
    dryRun: session.dryRun,
    rollbackAction: rollbackActionOf(run.env),
  };
  return { session, run, router, routerSpec, routed, live, decision, report };
}

/** The run's end, with the job summary written from the report. */
function finish(start: RunStart, result: SessionResult, after?: { color?: Color; weights: Weights }): SessionResult {
  start.report.result = result.result;
  if (after) start.report.after = after;
  start.session.notify.summary.write(switchSummary(start.report));
  return result;
}

/** Traffic is in a state that needs a person (decide.ts says which): nothing is written. */
export function refuse(start: RunStart, decision: Extract<Decision, { kind: 'refuse' }>): SessionResult {
  start.session.reporter.error(decision.reason);
  const active = decision.active ?? '';
  return finish(start, { outcome: 'failed', result: 'failed', reason: decision.reason, outputs: outputs(active, active, 'failed') });
}

/** This run id already switched (a re-run): read the claim back and report it, writing nothing. */
export async function confirmDone(start: RunStart, decision: Extract<Decision, { kind: 'done' }>): Promise<SessionResult> {
  const { session, router, live, report } = start;
  const { colors } = start.run.settings;
  session.reporter.info(
    `Run ${session.runId} already switched traffic to ${decision.to} at ${decision.switchedAt}, and ${start.routed} still routes ${describeColorWeights(live, colors.destination)}: nothing to do.`,
  );
  report.target = decision.to;
  report.before = {
    color: decision.from,
    weights: weightsAt({ destination: colors.destination, from: decision.from, to: decision.to }, 0),
  };
  const differences = await verifyClaim(session.client, router, colors, { weights: live, color: decision.to });
  if (differences.length > 0) {
    const reason = `Run ${session.runId} switched traffic to ${decision.to}, but reading it back does not agree: ${differences.join('; ')}`;
    session.reporter.error(reason);
    return finish(
      start,
      { outcome: 'failed', result: 'failed', reason, outputs: outputs(decision.to, decision.from, 'failed') },
      { color: decision.to, weights: live },
    );
  }
  return finish(
    start,
    { outcome: 'succeeded', result: 'switched', outputs: outputs(decision.to, decision.from, 'switched', decision.switchedAt) },
    { color: decision.to, weights: live },
  );
}

/** The steps of a switch from the live color to the idle one. */
export class BlueGreenSwitch {
  private readonly session: DeliverySession;
  private readonly inputs: BlueGreenInputs;
  private readonly settings: BlueGreenSettings;
  private readonly clock: Clock;
  private readonly plan: SwitchPlan;
  private readonly analysis: Analysis | undefined;
  private readonly from: Color;
  private readonly to: Color;
  /** The weights this run found, which a switch back restores. */
  private readonly original: Weights;
  /** The weights as this run last wrote them. */
  private current: Weights;

  constructor(
    private readonly start: RunStart,
    private readonly decision: Extract<Decision, { kind: 'switch' }>,
  ) {
    const { session, run, router, routerSpec, live, report } = start;
    this.session = session;
    this.inputs = run.inputs;
    this.settings = run.settings;
    this.clock = run.clock;
    ({ from: this.from, to: this.to, original: this.original } = decision);
    this.current = live;
    report.before = { color: this.from, weights: this.original };
    report.target = this.to;
    this.plan = {
      router,
      routerSpec,
      destination: this.settings.colors.destination,
      from: this.from,
      to: this.to,
      steps: this.settings.steps,
    };
    this.analysis = analysisFor(this.settings, this.inputs, this.to);
  }

  /** Deploys the image to the idle color and gives it its pods back if an earlier switch scaled it down. */
  async prepareIdle(): Promise<SessionResult | undefined> {
    const { session, settings, inputs, from, to } = this;
    const { live, routed } = this.start;
    session.reporter.info(
      `${routed}: live ${describeColorWeights(live, settings.colors.destination)}. ${this.decision.resumed ? `Resuming this run's switch from ${from} to ${to}` : `Active ${from}; switching to ${to}`} in ${settings.steps.length === 1 ? 'one step' : `steps ${settings.steps.join(', ')}%`}.`,
    );
    await session.phase({ phase: 'prepare', color: to, weight: live[settings.colors.destination[to]] });
    if (settings.image) {
      const deployed = await deployTarget(session, {
        workload: settings.colors.workload[to],
        image: settings.image,
        container: inputs.container,
        timeoutMs: inputs['rollout-timeout'],
      });
      if (!deployed.ok) return this.fail(deployed.reason);
    }
    const scaled = await scaleUpIdle(session, {
      idle: settings.colors.workload[to],
      live: settings.colors.workload[from],
      timeoutMs: inputs['rollout-timeout'],
    });
    if (!scaled.ok) return this.fail(scaled.reason);
    if (scaled.replicas > 0) this.start.report.scaledUp = scaled.replicas;
    return undefined;
  }

  /** Warms up, smoke tests and analyses the idle color while traffic has not moved (not in a dry run). */
  async checkIdle(): Promise<SessionResult | undefined> {
    const { session, settings, inputs, to } = this;
    if (session.dryRun) return undefined;
    if (inputs['warmup-url'] && inputs['warmup-requests'] > 0) {
      await warmUp({
        url: inputs['warmup-url'],
        requests: inputs['warmup-requests'],
        timeoutMs: inputs['warmup-timeout'],
        reporter: session.reporter,
        signal: session.signal,
      });
    }
    if (inputs['smoke-command']) {
      const failed = await runSmokeTest({
        argv: inputs['smoke-command'],
        env: {
          TARGET_COLOR: to,
          NAMESPACE: settings.colors.workload[to].namespace,
          SERVICE: inputs.service,
          VERSION: settings.version ?? '',
        },
        timeoutMs: inputs['smoke-timeout'],
        runner: this.start.run.runner,
        reporter: session.reporter,
        signal: session.signal,
      });
      if (failed) return this.fail(`${failed}; traffic was not moved`);
    }
    if (this.analysis && inputs['pre-switch-analysis']) {
      const result = await this.analyse(`Analysis of ${to} before the switch`, inputs['step-analysis-duration']);
      if (result.phase !== 'Successful')
        return this.fail(`Analysis of ${to} before the switch ${result.phase}: ${describeFailure(result)}; traffic was not moved`);
    }
    return undefined;
  }

  /**
   * Switches traffic step by step, analysing between steps, then validates: a failed analysis
   * switches back (or stops, with auto-rollback off); an error or a cancel switches back and throws.
   */
  async switchTraffic(): Promise<SessionResult | undefined> {
    try {
      return (await this.takeSteps()) ?? (await this.validate());
    } catch (error) {
      if (!this.session.dryRun)
        await switchBackAfterError(
          this.session,
          this.plan,
          this.original,
          this.inputs['auto-rollback'],
          error,
          this.settings.colors.workload[this.from],
        );
      throw error;
    }
  }

  private async takeSteps(): Promise<SessionResult | undefined> {
    const { session, settings, inputs, plan, to } = this;
    const at = () => new Date(this.clock.now()).toISOString();
    for (let i = 0; i < plan.steps.length; i++) {
      const notReady = await notReadyFor(session, to, settings.colors.workload[to], plan.steps[i]!);
      if (notReady) {
        if (sameWeights(this.current, this.original)) return this.fail(`${notReady}; traffic was not moved`);
        return await this.backOrStop(notReady);
      }
      const step = await takeStep(session, plan, i, this.current, at);
      this.current = step.weights;
      if (step.weight < 100 && this.analysis && !session.dryRun) {
        const startedMs = this.clock.now();
        const result = await this.analyse(`Analysis at ${to} ${step.weight}%`, inputs['step-analysis-duration']);
        Object.assign(step.timeline, timelineOf(result), { heldMs: this.clock.now() - startedMs });
        if (result.phase !== 'Successful')
          return await this.backOrStop(`Analysis at ${to} ${step.weight}% ${result.phase}: ${describeFailure(result)}`);
      }
    }
    return undefined;
  }

  private async validate(): Promise<SessionResult | undefined> {
    const { session, inputs, to } = this;
    if (!this.analysis || inputs['validation-duration'] <= 0 || session.dryRun) return undefined;
    await session.phase({ phase: 'validate' });
    const startedMs = this.clock.now();
    const result = await this.analyse(`Validation of ${to} after the switch`, inputs['validation-duration']);
    const last = session.event.timeline.at(-1);
    if (last) Object.assign(last, timelineOf(result), { heldMs: this.clock.now() - startedMs });
    if (result.phase !== 'Successful')
      return await this.backOrStop(`Validation of ${to} after the switch ${result.phase}: ${describeFailure(result)}`);
    return undefined;
  }

  /** A dry run ends here: it says what it would have done. */
  endDryRun(): SessionResult | undefined {
    const { session, inputs, plan, from, to } = this;
    if (!session.dryRun) return undefined;
    session.reporter.info(
      `Dry run: nothing was changed. ${this.start.routed} would route ${describeColorWeights(weightsAt(plan, 100), plan.destination)}.`,
    );
    if (inputs['scale-down-after'] !== undefined)
      session.reporter.info(
        `Dry run: would scale ${describeRef(deploymentRef(this.settings.colors.workload[from]))} to 0 after ${formatDuration(inputs['scale-down-after'])}.`,
      );
    return finish(
      this.start,
      { outcome: 'planned', result: 'planned', outputs: outputs(from, from, 'planned') },
      { color: to, weights: weightsAt(plan, 100) },
    );
  }

  /** The old color: kept warm for an instant switch back, or scaled down after a delay. */
  async retireOld(): Promise<undefined> {
    const delayMs = this.inputs['scale-down-after'];
    if (delayMs === undefined) return undefined;
    await scaleDownOld(this.session, this.settings.colors.workload[this.from], delayMs, this.clock);
    this.start.report.scaledDown = true;
    return undefined;
  }

  /** Reads the end state back before claiming it: the new color takes all traffic and has ready pods. */
  async confirmSwitched(): Promise<SessionResult> {
    const { session, plan, from, to } = this;
    const differences = await verifyClaim(session.client, plan.router, this.settings.colors, { weights: weightsAt(plan, 100), color: to });
    if (differences.length > 0)
      return this.fail(
        `Switched traffic to ${to}, but reading it back does not agree: ${differences.join('; ')}`,
        await plan.router.read(),
      );
    const switchedAt = await switchedAtOf(session);
    session.reporter.info(`Switched: ${to} takes all traffic (${describeColorWeights(this.current, plan.destination)}).`);
    return finish(
      this.start,
      { outcome: 'succeeded', result: 'switched', outputs: outputs(to, from, 'switched', switchedAt) },
      { color: to, weights: this.current },
    );
  }

  /** The run fails where it is: traffic stays at `weights` (default: as this run found it). */
  private fail(reason: string, weights: Weights = this.start.live): SessionResult {
    this.session.reporter.error(reason);
    const { from } = this;
    return finish(
      this.start,
      { outcome: 'failed', result: 'failed', reason, outputs: outputs(from, from, 'failed') },
      { color: liveColor(weights, this.plan.destination), weights },
    );
  }

  /** After a failed check mid-switch: traffic back to the old color (read back), or, with auto-rollback off, left where it is. */
  private async backOrStop(why: string): Promise<SessionResult> {
    const { session, settings, plan, from, current } = this;
    const { destination } = plan;
    if (!this.inputs['auto-rollback']) {
      return this.fail(
        `${why}; auto-rollback is off, so traffic stays at ${describeColorWeights(current, destination)}: run the rollback action (mode: traffic) to return it to ${from}`,
        current,
      );
    }
    const oldNotReady = await notReadyFor(session, from, settings.colors.workload[from], 100);
    if (oldNotReady) {
      return this.fail(
        `${why}; not switching back to ${from}: ${oldNotReady}. Traffic stays at ${describeColorWeights(current, destination)}: give ${from} ready pods, then run the rollback action (mode: traffic)`,
        current,
      );
    }
    const back = await switchBack(session, plan, this.original);
    const differences = await verifyClaim(session.client, plan.router, settings.colors, { weights: this.original, color: from });
    if (differences.length > 0)
      return this.fail(`${why}; traffic was switched back to ${from}, but reading it back does not agree: ${differences.join('; ')}`, back);
    const reason = `${why}; traffic switched back to ${from} (${describeColorWeights(back, destination)})`;
    session.reporter.error(reason);
    session.event.timeline = [
      ...session.event.timeline,
      { name: `back to ${from}`, weight: 0, startedAt: new Date(this.clock.now()).toISOString() },
    ];
    return finish(
      this.start,
      { outcome: 'rolled-back', result: 'rolled-back', reason, outputs: outputs(from, from, 'rolled-back') },
      { color: from, weights: back },
    );
  }

  private async analyse(title: string, durationMs: number | undefined): Promise<AnalysisResult> {
    const { run } = this.start;
    const result = await analyse(this.analysis!, {
      title,
      durationMs,
      reporter: this.session.reporter,
      secrets: run.secrets,
      signal: this.session.signal,
      clock: this.clock,
      env: run.env,
    });
    this.start.report.analyses.push({ title, result });
    return result;
  }
}

function outputs(active: string, previous: string, result: string, switchedAt?: string): FlowOutputs {
  return { 'active-color': active, 'previous-color': previous, result, 'switched-at': switchedAt ?? '' };
}

/**
 * The switch stopped on an error or a cancel: put traffic back where this run found it, unless
 * another run has taken the lock (then the traffic is its business) or, on an error, auto-rollback
 * is off. A cancel always puts traffic back: the run will not finish the switch.
 */
async function switchBackAfterError(
  session: DeliverySession,
  plan: SwitchPlan,
  original: Weights,
  autoRollback: boolean,
  error: unknown,
  oldWorkload: DeploymentName,
): Promise<void> {
  const cancelled = session.signal.aborted;
  if (!cancelled && !autoRollback) return;
  const why = cancelled
    ? 'the run was cancelled mid-switch'
    : `the switch failed (${error instanceof Error ? error.message : String(error)})`;
  try {
    const holder = await readLockHolder(session.client, {
      namespace: session.event.namespace ?? plan.router.ref.namespace,
      service: session.event.service,
    });
    if (holder && holder.holder !== session.runId) {
      session.reporter.error(`${why}, but run ${holder.holder} now holds the lock: leaving traffic to it`);
      return;
    }
    const notReady = await notReadyFor(session, plan.from, oldWorkload, 100);
    if (notReady) {
      session.reporter.error(
        `${why}, but not switching back to ${plan.from}: ${notReady}. Traffic stays where it is: give ${plan.from} ready pods, then run the rollback action (mode: traffic).`,
      );
      return;
    }
    session.reporter.warn(`${why}: switching traffic back to ${plan.from}`);
    await switchBack(session, plan, original);
  } catch (backError) {
    session.reporter.error(
      `${why}, and switching back failed too: ${backError instanceof Error ? backError.message : String(backError)}. Run the rollback action (mode: traffic).`,
    );
  }
}

/** Waits `delayMs` (the old color stays warm meanwhile), then scales it to zero as a recorded `scale` change. */
async function scaleDownOld(
  session: DeliverySession,
  workload: { namespace: string; name: string },
  delayMs: number,
  clock: Clock,
): Promise<void> {
  const ref = deploymentRef(workload);
  if (delayMs > 0) {
    session.reporter.info(`Keeping ${describeRef(ref)} warm for ${formatDuration(delayMs)} before scaling it down`);
    await clock.sleep(delayMs, session.signal);
  }
  const replicas = (await readDeployment(session.client, workload)).spec?.replicas ?? 1;
  await session.change('scale-down', ref, { kind: 'scale', previous: { replicas }, next: { replicas: 0 } }, () =>
    scaleDeployment(session.client, { ...workload, replicas: 0 }),
  );
  session.reporter.info(`Scaled ${describeRef(ref)} from ${replicas} to 0 replicas (the rollback action scales it back up)`);
}

/** When the journal recorded the last weight change as applied: the same answer on every re-run of this run id. */
async function switchedAtOf(session: DeliverySession): Promise<string | undefined> {
  const final = (await session.journal.entries()).find((e) => e.runId === session.runId && e.step === FINAL_STEP);
  return final?.appliedAt;
}
