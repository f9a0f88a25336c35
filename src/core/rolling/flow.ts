/**
 * actions/rolling: roll one Deployment out to a new image by its own RollingUpdate strategy, the
 * image change journaled before it is made, the analysis run during and after the rollout, the
 * end state read back before it is claimed; a failed rollout, a failed analysis or a cancel puts
 * the previous image back. `rolling()` lists the steps; steps.ts takes them. The post step undoes
 * the image of a run that was killed mid-rollout.
 */
import type { Flow, FlowContext, FlowOutputs } from '../flow.js';
import { rollingPermissions } from '../delivery/needed-permissions.js';
import { postDeliverySession, runDeliverySession, type DeliverySession, type SessionResult } from '../delivery/session.js';
import type { KubeClient } from '../kube/client.js';
import { describeRef } from '../kube/object-ref.js';
import { deploymentRef } from '../kube/deployment.js';
import { type Clock, realClock } from '../metrics/clock.js';
import { rollingSpec } from '../specs/rolling.js';
import { decide } from './decide.js';
import { type RollingInputs, type RollingSettings, settingsFromInputs } from './settings.js';
import { confirmCurrent, confirmDone, readDeploymentState, readTarget, refuse, RollingUpdate, type RollingRun } from './steps.js';

/** What tests may replace; the action uses the defaults. */
export interface RollingOptions {
  /** A client built elsewhere (default: from the kubeconfig input). */
  client?: KubeClient;
  /** Clock of the analysis (default: the real one). */
  clock?: Clock;
  /** Environment of the analysis' env references and the workspace. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Checks every input and the analysis, then runs the rollout in a delivery session (lock, journal, notifications). */
export async function runRolling(inputs: RollingInputs, context: FlowContext, options: RollingOptions = {}): Promise<FlowOutputs> {
  const env = options.env ?? process.env;
  const settings = await settingsFromInputs(inputs, { workspace: env.GITHUB_WORKSPACE ?? process.cwd(), env, secrets: context.secrets });
  return runDeliverySession(
    {
      inputs,
      strategy: 'rolling',
      context,
      image: settings.image,
      version: settings.version,
      client: options.client,
      permissions: () => rollingPermissions({ namespace: inputs.namespace, service: inputs.service, deployment: settings.deployment }),
      // A Deployment that is missing, Recreate or paused, or a container not named among several,
      // stops the run before it takes the lock: it writes nothing at all.
      beforeLock: (client) => checkTarget(client, inputs, settings),
    },
    (session) => rolling(session, { inputs, settings, clock: options.clock ?? realClock, env, secrets: context.secrets }),
  );
}

export const rollingFlow: Flow<typeof rollingSpec> = {
  spec: rollingSpec,
  main: (inputs, context) => runRolling(inputs, context),
  post: async (inputs, context) => {
    // A rolling update's image is its traffic: a run killed mid-rollout would leave Kubernetes
    // rolling an image that was never validated.
    await postDeliverySession({
      inputs,
      strategy: 'rolling',
      context,
      undoes: ['image'],
      rolloutTimeoutMs: inputs['rollout-timeout'],
    });
  },
};

/**
 * One rolling run as a short list of named steps: read the Deployment and decide; refuse, confirm
 * a rollout this run id made, or wait for an image already set; else set the image, end a dry run,
 * roll out with the analysis alongside, and confirm by reading back.
 */
async function rolling(session: DeliverySession, run: RollingRun): Promise<SessionResult> {
  const start = await readDeploymentState(session, run);
  const { decision } = start;
  if (decision.kind === 'refuse') return refuse(start, decision);
  if (decision.kind === 'done') return await confirmDone(start, decision);
  if (decision.kind === 'current') return await confirmCurrent(start, decision);
  const update = new RollingUpdate(start, decision);
  return (await update.setImage()) ?? update.endDryRun() ?? (await update.rollOut()) ?? (await update.confirmRolledOut());
}

/** The checks of decide.ts that need no journal, made before the lock (decide again under it). */
async function checkTarget(client: KubeClient, inputs: RollingInputs, settings: RollingSettings): Promise<void> {
  const deployment = await readTarget(client, settings, inputs.service);
  const name = describeRef(deploymentRef(settings.deployment));
  const decision = decide({ deployment, name, image: settings.image, container: inputs.container, journal: [], runId: '' });
  if (decision.kind === 'refuse') throw new Error(decision.reason);
}
