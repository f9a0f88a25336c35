import { formatDuration } from '../config/primitives.js';
import { blueGreenPermissions } from '../delivery/needed-permissions.js';
import { createRouter, withRecordedPin } from '../delivery/router-spec.js';
import { postDeliverySession, runDeliverySession, type DeliverySession, type SessionResult } from '../delivery/session.js';
import type { Flow, FlowContext, FlowOutputs } from '../flow.js';
import type { KubeClient } from '../kube/client.js';
import { deploymentRef, readDeployment, scaleDeployment, type DeploymentName } from '../kube/deployment.js';
import { readLockHolder } from '../kube/lease-lock.js';
import { describeRef } from '../kube/object-ref.js';
import { sameWeights, type Weights } from '../kube/weights.js';
import type { AnalysisResult } from '../metrics/result.js';
import { commandEnvironment, spawnCommandRunner, type CommandRunner } from '../migrate/command-runner.js';
import { sleepMs } from '../retry.js';
import type { Secrets } from '../secrets.js';
import { blueGreenSpec } from '../specs/blue-green.js';
import { analyse, analysisArgs, checkAnalysis, describeFailure, timelineOf, type Analysis, type Clock } from './analysis.js';
import { COLOURS, describeColourWeights, liveColour, type Colour } from './colours.js';
import { decide, FINAL_STEP } from './decide.js';
import { deployTarget } from './deploy-target.js';
import { notReadyFor, scaleUpIdle } from './ready-colour.js';
import { settingsFromInputs, type BlueGreenInputs, type BlueGreenSettings } from './settings.js';
import { runSmokeTest } from './smoke-test.js';
import { switchSummary, type SwitchReport } from './summary.js';
import { switchBack, takeStep, weightsAt, type SwitchPlan } from './switch-traffic.js';
import { verifyClaim } from './verify-switch.js';
import { warmUp } from './warm-up.js';

/** What tests and benchmarks may replace; the action uses the defaults. */
export interface BlueGreenOptions {
  /** A client built elsewhere (default: from the kubeconfig input). */
  client?: KubeClient;
  /** Clock of the analysis and the scale-down delay (default: the real one). */
  clock?: Clock;
  commandRunner?: CommandRunner;
  /** Environment of the smoke test, the analysis' env references and the workspace. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

const realClock: Clock = { now: Date.now, sleep: sleepMs };

/**
 * actions/blue-green: find the live colour on the router, deploy and check the idle one, switch
 * traffic to it (at once or in steps, each step journaled before it is written), validate, and
 * switch back when the new colour fails. The seed's deploy-blue-green.sh, as a typed program.
 */
export async function runBlueGreen(inputs: BlueGreenInputs, context: FlowContext, options: BlueGreenOptions = {}): Promise<FlowOutputs> {
  const env = options.env ?? process.env;
  const settings = await settingsFromInputs(inputs, env.GITHUB_WORKSPACE ?? process.cwd());
  // Every argument and query checked for both colours before anything is written.
  for (const colour of COLOURS) {
    const analysis = analysisFor(settings, inputs, colour);
    if (analysis) checkAnalysis(analysis, context.secrets, env);
  }
  return runDeliverySession(
    {
      inputs,
      strategy: 'blue-green',
      context,
      image: settings.image,
      version: settings.version,
      client: options.client,
      permissions: () => blueGreenPermissions({ namespace: inputs.namespace, service: inputs.service, router: settings.router, workloads: COLOURS.map((c) => settings.colours.workload[c]) }),
    },
    (session) =>
      blueGreen(session, {
        inputs,
        settings,
        clock: options.clock ?? realClock,
        runner: options.commandRunner ?? spawnCommandRunner(commandEnvironment(env)),
        env,
        secrets: context.secrets,
      }),
  );
}

export const blueGreenFlow: Flow<typeof blueGreenSpec> = {
  spec: blueGreenSpec,
  main: (inputs, context) => runBlueGreen(inputs, context),
  post: async (inputs, context) => {
    await postDeliverySession({ inputs, strategy: 'blue-green', context });
  },
};

interface Run {
  inputs: BlueGreenInputs;
  settings: BlueGreenSettings;
  clock: Clock;
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  secrets: Secrets;
}

function analysisFor(settings: BlueGreenSettings, inputs: BlueGreenInputs, target: Colour): Analysis | undefined {
  if (!settings.analysis) return undefined;
  const workload = settings.colours.workload[target];
  const builtIn = {
    service: inputs.service,
    namespace: workload.namespace,
    color: target,
    workload: workload.name,
    destination: settings.colours.destination[target],
    version: settings.version,
  };
  return {
    spec: settings.analysis,
    args: analysisArgs(settings.analysis, builtIn, inputs['analysis-args']),
    defaults: { prometheusAddress: inputs['prometheus-address'], prometheusToken: inputs['prometheus-token'] },
  };
}

async function blueGreen(session: DeliverySession, run: Run): Promise<SessionResult> {
  const { inputs, settings, clock } = run;
  const at = () => new Date(clock.now()).toISOString();
  const routerSpec = withRecordedPin(settings.router, await session.journal.entries(), session.runId, 'blue-green');
  const router = createRouter(session.client, routerSpec);
  const { destination } = settings.colours;
  const routed = router.describe();

  const live = await router.read();
  const mine = (await session.journal.entries()).filter((e) => e.runId === session.runId && e.strategy === 'blue-green');
  const decision = decide({ live, destination, mine, routed: describeRef(router.ref), runId: session.runId });
  const report: SwitchReport = {
    service: inputs.service,
    namespace: inputs.namespace,
    routed,
    colours: settings.colours,
    before: { colour: liveColour(live, destination), weights: live },
    image: settings.image,
    result: '',
    analyses: [],
    dryRun: session.dryRun,
    rollbackAction: rollbackActionOf(run.env),
  };
  const finish = (result: SessionResult, after?: { colour?: Colour; weights: Weights }): SessionResult => {
    report.result = result.result;
    if (after) report.after = after;
    session.notify.summary.write(switchSummary(report));
    return result;
  };

  if (decision.kind === 'refuse') {
    session.reporter.error(decision.reason);
    const active = decision.active ?? '';
    return finish({ outcome: 'failed', result: 'failed', reason: decision.reason, outputs: outputs(active, active, 'failed') });
  }
  if (decision.kind === 'done') {
    session.reporter.info(`Run ${session.runId} already switched traffic to ${decision.to} at ${decision.switchedAt}, and ${routed} still routes ${describeColourWeights(live, destination)}: nothing to do.`);
    report.target = decision.to;
    report.before = { colour: decision.from, weights: weightsAt({ destination, from: decision.from, to: decision.to }, 0) };
    const differences = await verifyClaim(session.client, router, settings.colours, { weights: live, colour: decision.to });
    if (differences.length > 0) {
      const reason = `Run ${session.runId} switched traffic to ${decision.to}, but reading it back does not agree: ${differences.join('; ')}`;
      session.reporter.error(reason);
      return finish({ outcome: 'failed', result: 'failed', reason, outputs: outputs(decision.to, decision.from, 'failed') }, { colour: decision.to, weights: live });
    }
    return finish(
      { outcome: 'succeeded', result: 'switched', outputs: outputs(decision.to, decision.from, 'switched', decision.switchedAt) },
      { colour: decision.to, weights: live },
    );
  }

  const { from, to, original } = decision;
  report.before = { colour: from, weights: original };
  report.target = to;
  const plan: SwitchPlan = { router, routerSpec, destination, from, to, steps: settings.steps };
  const fail = (reason: string, weights: Weights = live): SessionResult => {
    session.reporter.error(reason);
    return finish({ outcome: 'failed', result: 'failed', reason, outputs: outputs(from, from, 'failed') }, { colour: liveColour(weights, destination), weights });
  };
  session.reporter.info(
    `${routed}: live ${describeColourWeights(live, destination)}. ${decision.resumed ? `Resuming this run's switch from ${from} to ${to}` : `Active ${from}; switching to ${to}`} in ${settings.steps.length === 1 ? 'one step' : `steps ${settings.steps.join(', ')}%`}.`,
  );
  await session.phase({ phase: 'prepare', colour: to, weight: live[destination[to]] });

  // 2. Deploy the idle colour.
  if (settings.image) {
    const deployed = await deployTarget(session, { workload: settings.colours.workload[to], image: settings.image, container: inputs.container, timeoutMs: inputs['rollout-timeout'] });
    if (!deployed.ok) return fail(deployed.reason);
  }
  // An idle colour scaled down by an earlier switch gets its pods back before any traffic.
  const scaled = await scaleUpIdle(session, { idle: settings.colours.workload[to], live: settings.colours.workload[from], timeoutMs: inputs['rollout-timeout'] });
  if (!scaled.ok) return fail(scaled.reason);
  if (scaled.replicas > 0) report.scaledUp = scaled.replicas;
  const analysis = analysisFor(settings, inputs, to);
  const analyseTarget = async (title: string, durationMs: number | undefined): Promise<AnalysisResult> => {
    const result = await analyse(analysis!, { title, durationMs, reporter: session.reporter, secrets: run.secrets, signal: session.signal, clock, env: run.env });
    report.analyses.push({ title, result });
    return result;
  };

  // 3, 4. Warm up, smoke test and analyse the idle colour; traffic has not moved yet.
  if (!session.dryRun) {
    if (inputs['warmup-url'] && inputs['warmup-requests'] > 0) {
      await warmUp({ url: inputs['warmup-url'], requests: inputs['warmup-requests'], timeoutMs: inputs['warmup-timeout'], reporter: session.reporter, signal: session.signal });
    }
    if (inputs['smoke-command']) {
      const failed = await runSmokeTest({
        argv: inputs['smoke-command'],
        env: { TARGET_COLOR: to, NAMESPACE: settings.colours.workload[to].namespace, SERVICE: inputs.service, VERSION: settings.version ?? '' },
        timeoutMs: inputs['smoke-timeout'],
        runner: run.runner,
        reporter: session.reporter,
        signal: session.signal,
      });
      if (failed) return fail(`${failed}; traffic was not moved`);
    }
    if (analysis && inputs['pre-switch-analysis']) {
      const result = await analyseTarget(`Analysis of ${to} before the switch`, inputs['step-analysis-duration']);
      if (result.phase !== 'Successful') return fail(`Analysis of ${to} before the switch ${result.phase}: ${describeFailure(result)}; traffic was not moved`);
    }
  }

  // 5, 6. Switch, step by step, then validate; any failure (or a cancel) puts traffic back.
  let current = live;
  const backOrStop = async (why: string): Promise<SessionResult> => {
    if (!inputs['auto-rollback']) {
      return fail(`${why}; auto-rollback is off, so traffic stays at ${describeColourWeights(current, destination)}: run the rollback action (mode: traffic) to return it to ${from}`, current);
    }
    const oldNotReady = await notReadyFor(session, from, settings.colours.workload[from], 100);
    if (oldNotReady) {
      return fail(`${why}; not switching back to ${from}: ${oldNotReady}. Traffic stays at ${describeColourWeights(current, destination)}: give ${from} ready pods, then run the rollback action (mode: traffic)`, current);
    }
    const back = await switchBack(session, plan, original);
    const differences = await verifyClaim(session.client, router, settings.colours, { weights: original, colour: from });
    if (differences.length > 0) return fail(`${why}; traffic was switched back to ${from}, but reading it back does not agree: ${differences.join('; ')}`, back);
    const reason = `${why}; traffic switched back to ${from} (${describeColourWeights(back, destination)})`;
    session.reporter.error(reason);
    session.event.timeline = [...session.event.timeline, { name: `back to ${from}`, weight: 0, startedAt: at() }];
    return finish({ outcome: 'rolled-back', result: 'rolled-back', reason, outputs: outputs(from, from, 'rolled-back') }, { colour: from, weights: back });
  };
  try {
    for (let i = 0; i < plan.steps.length; i++) {
      const notReady = await notReadyFor(session, to, settings.colours.workload[to], plan.steps[i]!);
      if (notReady) {
        if (sameWeights(current, original)) return fail(`${notReady}; traffic was not moved`);
        return await backOrStop(notReady);
      }
      const step = await takeStep(session, plan, i, current, at);
      current = step.weights;
      if (step.weight < 100 && analysis && !session.dryRun) {
        const startedMs = clock.now();
        const result = await analyseTarget(`Analysis at ${to} ${step.weight}%`, inputs['step-analysis-duration']);
        Object.assign(step.timeline, timelineOf(result), { heldMs: clock.now() - startedMs });
        if (result.phase !== 'Successful') return await backOrStop(`Analysis at ${to} ${step.weight}% ${result.phase}: ${describeFailure(result)}`);
      }
    }
    if (analysis && inputs['validation-duration'] > 0 && !session.dryRun) {
      await session.phase({ phase: 'validate' });
      const startedMs = clock.now();
      const result = await analyseTarget(`Validation of ${to} after the switch`, inputs['validation-duration']);
      const last = session.event.timeline.at(-1);
      if (last) Object.assign(last, timelineOf(result), { heldMs: clock.now() - startedMs });
      if (result.phase !== 'Successful') return await backOrStop(`Validation of ${to} after the switch ${result.phase}: ${describeFailure(result)}`);
    }
  } catch (error) {
    if (!session.dryRun) await switchBackAfterError(session, plan, original, inputs['auto-rollback'], error, settings.colours.workload[from]);
    throw error;
  }

  if (session.dryRun) {
    session.reporter.info(`Dry run: nothing was changed. ${routed} would route ${describeColourWeights(weightsAt(plan, 100), destination)}.`);
    if (inputs['scale-down-after'] !== undefined) session.reporter.info(`Dry run: would scale ${describeRef(deploymentRef(settings.colours.workload[from]))} to 0 after ${formatDuration(inputs['scale-down-after'])}.`);
    return finish({ outcome: 'planned', result: 'planned', outputs: outputs(from, from, 'planned') }, { colour: to, weights: weightsAt(plan, 100) });
  }

  // 7. The old colour: kept warm for an instant switch back, or scaled down after a delay.
  if (inputs['scale-down-after'] !== undefined) {
    await scaleDownOld(session, settings.colours.workload[from], inputs['scale-down-after'], clock);
    report.scaledDown = true;
  }
  const differences = await verifyClaim(session.client, router, settings.colours, { weights: weightsAt(plan, 100), colour: to });
  if (differences.length > 0) return fail(`Switched traffic to ${to}, but reading it back does not agree: ${differences.join('; ')}`, await router.read());
  const switchedAt = await switchedAtOf(session);
  session.reporter.info(`Switched: ${to} takes all traffic (${describeColourWeights(current, destination)}).`);
  return finish({ outcome: 'succeeded', result: 'switched', outputs: outputs(to, from, 'switched', switchedAt) }, { colour: to, weights: current });
}

function outputs(active: string, previous: string, result: string, switchedAt?: string): FlowOutputs {
  return { 'active-color': active, 'previous-color': previous, result, 'switched-at': switchedAt ?? '' };
}

/**
 * The switch stopped on an error or a cancel: put traffic back where this run found it, unless
 * another run has taken the lock (then the traffic is its business) or, on an error, auto-rollback
 * is off. A cancel always puts traffic back: the run will not finish the switch.
 */
async function switchBackAfterError(session: DeliverySession, plan: SwitchPlan, original: Weights, autoRollback: boolean, error: unknown, oldWorkload: DeploymentName): Promise<void> {
  const cancelled = session.signal.aborted;
  if (!cancelled && !autoRollback) return;
  const why = cancelled ? 'the run was cancelled mid-switch' : `the switch failed (${error instanceof Error ? error.message : String(error)})`;
  try {
    const holder = await readLockHolder(session.client, { namespace: session.event.namespace ?? plan.router.ref.namespace, service: session.event.service });
    if (holder && holder.holder !== session.runId) {
      session.reporter.error(`${why}, but run ${holder.holder} now holds the lock: leaving traffic to it`);
      return;
    }
    const notReady = await notReadyFor(session, plan.from, oldWorkload, 100);
    if (notReady) {
      session.reporter.error(`${why}, but not switching back to ${plan.from}: ${notReady}. Traffic stays where it is: give ${plan.from} ready pods, then run the rollback action (mode: traffic).`);
      return;
    }
    session.reporter.warn(`${why}: switching traffic back to ${plan.from}`);
    await switchBack(session, plan, original);
  } catch (backError) {
    session.reporter.error(`${why}, and switching back failed too: ${backError instanceof Error ? backError.message : String(backError)}. Run the rollback action (mode: traffic).`);
  }
}

/** Waits `delayMs` (the old colour stays warm meanwhile), then scales it to zero as a recorded `scale` change. */
async function scaleDownOld(session: DeliverySession, workload: { namespace: string; name: string }, delayMs: number, clock: Clock): Promise<void> {
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

/** The rollback action of the same release as this one (the runner says which: GITHUB_ACTION_REPOSITORY and _REF). */
function rollbackActionOf(env: NodeJS.ProcessEnv): string {
  const repository = env.GITHUB_ACTION_REPOSITORY;
  return repository ? `${repository}/actions/rollback@${env.GITHUB_ACTION_REF || 'main'}` : '<owner>/<repo>/actions/rollback@<version>';
}
