/**
 * actions/blue-green: find the live color on the router, deploy and check the idle one, switch
 * traffic to it (at once or in steps, each step journaled before it is written), validate, and
 * switch back when the new color fails. `blueGreen()` lists the steps; steps.ts takes them.
 */
import { blueGreenPermissions } from '../delivery/needed-permissions.js';
import { postDeliverySession, runDeliverySession, type DeliverySession, type SessionResult } from '../delivery/session.js';
import type { Flow, FlowContext, FlowOutputs } from '../flow.js';
import type { KubeClient } from '../kube/client.js';
import { type Clock, realClock } from '../metrics/clock.js';
import { commandEnvironment, spawnCommandRunner, type CommandRunner } from '../command-runner.js';
import { blueGreenSpec } from '../specs/blue-green.js';
import { checkAnalysis } from '../delivery/analysis.js';
import { analysisFor } from './analysis.js';
import { COLORS } from './colors.js';
import { settingsFromInputs, type BlueGreenInputs } from './settings.js';
import { BlueGreenSwitch, confirmDone, readTraffic, refuse, type BlueGreenRun } from './steps.js';

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

/** Checks every input and analysis, then runs the switch in a delivery session (lock, journal, notifications). */
export async function runBlueGreen(inputs: BlueGreenInputs, context: FlowContext, options: BlueGreenOptions = {}): Promise<FlowOutputs> {
  const env = options.env ?? process.env;
  const settings = await settingsFromInputs(inputs, env.GITHUB_WORKSPACE ?? process.cwd());
  // Every argument and query checked for both colors before anything is written.
  for (const color of COLORS) {
    const analysis = analysisFor(settings, inputs, color);
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
      permissions: () =>
        blueGreenPermissions({
          namespace: inputs.namespace,
          service: inputs.service,
          router: settings.router,
          workloads: COLORS.map((c) => settings.colors.workload[c]),
        }),
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

/**
 * One blue-green run as a short list of named steps, as Argo Rollouts' rolloutBlueGreen()
 * reconciles: read where traffic is and decide; prepare the idle color; check it while traffic
 * has not moved; switch step by step and validate (a failure or a cancel switches back); retire
 * the old color; confirm by reading back. Each step returns the run's end when the run stops
 * there, or undefined to go on.
 */
async function blueGreen(session: DeliverySession, run: BlueGreenRun): Promise<SessionResult> {
  const start = await readTraffic(session, run);
  const { decision } = start;
  if (decision.kind === 'refuse') return refuse(start, decision);
  if (decision.kind === 'done') return await confirmDone(start, decision);
  const bg = new BlueGreenSwitch(start, decision);
  return (
    (await bg.prepareIdle()) ??
    (await bg.checkIdle()) ??
    (await bg.switchTraffic()) ??
    bg.endDryRun() ??
    (await bg.retireOld()) ??
    (await bg.confirmSwitched())
  );
}
