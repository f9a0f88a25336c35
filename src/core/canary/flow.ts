/**
 * The canary action: `start` deploys the canary and walks the steps, `promote` continues a paused
 * (or interrupted) canary, `abort` sends all traffic back to stable, `status` only reports.
 * Everything the run will use is read and checked before the first write: the config, every
 * analysis, and the live objects the router and workloads name.
 */
import { canonicalJson } from '../canonical-json.js';
import { InputError } from '../config/input-error.js';
import { canaryPermissions } from '../delivery/needed-permissions.js';
import { postDeliverySession, runDeliverySession } from '../delivery/session.js';
import type { Flow, FlowContext, FlowOutputs } from '../flow.js';
import { KubeClient } from '../kube/client.js';
import { type Clock, realClock } from '../metrics/clock.js';
import { canarySpec } from '../specs/canary.js';
import type { ParsedInputs } from '../specs/spec.js';
import { canaryReleaseOf, CanaryRecordStore, type CanaryRecord } from './canary-record.js';
import { readFileOrInline } from '../config/file-or-inline.js';
import { checkAnalyses, parseCanaryConfig, type CanaryConfig } from './config.js';
import { canaryStatus } from './status.js';
import { createTarget, routerSpecOf } from './targets.js';
import { CanaryWalk, stepNumber } from './walk.js';

export type CanaryInputs = ParsedInputs<typeof canarySpec>;

export interface CanaryRunOptions {
  /** A client built elsewhere (tests); otherwise from the kubeconfig input. */
  client?: KubeClient;
  /** Time for pauses and analyses (tests run a 10-minute pause in milliseconds). */
  clock?: Clock;
  /** Where GITHUB_WORKSPACE and the metrics' credentials (valueFrom.env) are read. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export async function runCanary(inputs: CanaryInputs, context: FlowContext, options: CanaryRunOptions = {}): Promise<FlowOutputs> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? realClock;
  const { text, source } = await readFileOrInline('config', inputs.config, env.GITHUB_WORKSPACE ?? process.cwd());
  const config = parseCanaryConfig(text, source);
  const defaults = { prometheusAddress: inputs['prometheus-address'], prometheusToken: inputs['prometheus-token'] };
  checkAnalyses(config, defaults, env);
  if (inputs.action === 'start' && !inputs.image)
    throw new InputError(
      "Invalid inputs of canary:\n  - 'image': is required with action: start (the canary's image, e.g. registry.example.com/checkout:1.25.0)",
    );
  if (inputs.full && inputs.action !== 'promote')
    throw new InputError(`Invalid inputs of canary:\n  - 'full': only applies to action: promote (the action is ${inputs.action})`);
  if (inputs.force && inputs.action !== 'promote')
    throw new InputError(`Invalid inputs of canary:\n  - 'force': only applies to action: promote (the action is ${inputs.action})`);

  if (inputs.action === 'status') {
    const client =
      options.client ?? KubeClient.fromKubeconfig({ kubeconfig: inputs.kubeconfig, context: inputs.context, reporter: context.reporter });
    const record = await new CanaryRecordStore(client, inputs.namespace, inputs.service).read();
    if (record && (record.state === 'progressing' || record.state === 'paused')) checkSameTargets(record, config);
    return canaryStatus({
      client,
      config,
      namespace: inputs.namespace,
      service: inputs.service,
      container: inputs.container,
      reporter: context.reporter,
      rolloutTimeoutMs: inputs['rollout-timeout'],
    });
  }

  const workloads = config.workloads
    ? [config.workloads.stable, config.workloads.canary].map((name) => ({ namespace: inputs.namespace, name }))
    : [];
  const permissions = () =>
    canaryPermissions({
      namespace: inputs.namespace,
      service: inputs.service,
      router: routerSpecOf(config, inputs.namespace, 0),
      workloads,
    });
  return runDeliverySession(
    { inputs, strategy: 'canary', context, image: inputs.image, client: options.client, permissions },
    async (session) => {
      const target = createTarget(session.client, config, inputs.namespace, inputs['rollout-timeout']);
      const records = new CanaryRecordStore(session.client, inputs.namespace, inputs.service, clock.now);
      const live = await target.inspect(inputs.container);
      const record = await records.read();
      const walkOf = (r: CanaryRecord) =>
        new CanaryWalk(
          {
            session,
            config,
            target,
            records,
            rolloutTimeoutMs: inputs['rollout-timeout'],
            analysis: { defaults, env, reporter: session.reporter, secrets: context.secrets, clock },
          },
          r,
        );
      const active = record && (record.state === 'progressing' || record.state === 'paused') ? record : undefined;
      if (active) {
        session.event.image = active.image;
        // Every run that moves this canary (resume, promote, abort) journals under its release.
        const release = canaryReleaseOf(active);
        if (inputs.release !== undefined && inputs.release !== release) {
          throw new InputError(
            `Invalid inputs of canary:\n  - 'release': ${inputs.release} was given, but ${describeActive(active)} belongs to release ${release}. Leave release empty to continue it, or abort it first.`,
          );
        }
        session.release = release;
        checkSameTargets(active, config);
      }

      switch (inputs.action) {
        case 'start': {
          const image = inputs.image!;
          if (active) {
            const ours = active.runId === session.runId || active.startedBy === session.runId;
            if (!ours)
              throw new Error(
                `${describeActive(active)}: promote it (action: promote) or abort it (action: abort) before starting another`,
              );
            checkSameCanary(active, config, image);
            session.reporter.info(
              `Resuming this run's canary at step ${stepNumber(active.stepIndex)} (${active.state}); steps it already applied are not applied again.`,
            );
            return walkOf(active).walk(active.stepIndex);
          }
          if (live.canaryWeight !== 0) {
            throw new Error(
              `${target.router.describe()} sends ${live.canaryWeight}% of traffic to the canary, but no canary is recorded in ${records.ref.kind} ${records.ref.namespace}/${records.ref.name}: run action: abort first`,
            );
          }
          const startedAt = new Date(clock.now()).toISOString();
          const fresh: CanaryRecord = {
            runId: session.runId,
            startedBy: session.runId,
            release: session.release,
            routing: config.routing,
            workloads: config.workloads,
            image,
            container: live.container,
            stableImage: live.stableImage,
            stepsHash: config.stepsHash,
            stepIndex: -1,
            state: 'progressing',
            weight: 0,
            startedAt,
            updatedAt: startedAt,
          };
          return walkOf(fresh).walk(-1);
        }
        case 'promote': {
          if (!active)
            throw new Error(
              `Nothing to promote: ${record ? `the last canary (${record.image}) was ${record.state} by run ${record.runId}` : 'no canary is recorded for this service'}`,
            );
          checkSameCanary(active, config, inputs.image ?? active.image);
          // (An Argo Rollout has one template: what it names is the canary's image, not a stable one.)
          if (active.stableImage && !config.routing.argo && live.stableImage !== active.stableImage) {
            const changed = `the stable workload runs ${live.stableImage} now, not ${active.stableImage} as when the canary started (someone changed it since, e.g. a hotfix): promoting replaces it with ${active.image}`;
            if (!inputs.force)
              throw new Error(`Not promoting: ${changed}. Abort the canary, or promote with force: true if that is intended.`);
            session.reporter.warn(`force: ${changed}.`);
          }
          const walk = walkOf(active);
          if (inputs.full) {
            session.reporter.info(`Promoting fully from step ${active.stepIndex}: the steps left are skipped.`);
            return walk.promoteNow();
          }
          const from = active.state === 'paused' ? active.stepIndex + 1 : active.stepIndex;
          session.reporter.info(
            `Continuing the canary of ${active.image} from step ${stepNumber(from)} (it was ${active.state} at step ${stepNumber(active.stepIndex)}).`,
          );
          return walk.walk(from);
        }
        case 'abort': {
          const r: CanaryRecord = active ??
            record ?? {
              runId: session.runId,
              startedBy: session.runId,
              release: session.release,
              image: live.canaryImage,
              container: live.container,
              stepsHash: config.stepsHash,
              stepIndex: -1,
              state: 'aborted',
              weight: live.canaryWeight,
              startedAt: new Date(clock.now()).toISOString(),
              updatedAt: new Date(clock.now()).toISOString(),
            };
          return walkOf({ ...r, weight: live.canaryWeight }).abort(`by hand (action: abort, run ${session.runId})`, true);
        }
        default:
          throw new Error(`unknown action ${String(inputs.action)}`);
      }
    },
  );
}

/**
 * The post step: when the main step did not finish, the session restores this run's traffic
 * changes; the canary record then says the canary was aborted, so a re-run starts a new canary
 * instead of resuming steps whose traffic was undone.
 */
export async function postCanary(
  inputs: CanaryInputs,
  context: FlowContext,
  options: Pick<CanaryRunOptions, 'client'> = {},
): Promise<void> {
  if (inputs.action === 'status') return;
  const undone = await postDeliverySession({ inputs, strategy: 'canary', context, client: options.client });
  if (undone.length === 0) return;
  const client =
    options.client ?? KubeClient.fromKubeconfig({ kubeconfig: inputs.kubeconfig, context: inputs.context, reporter: context.reporter });
  const records = new CanaryRecordStore(client, inputs.namespace, inputs.service);
  const record = await records.read();
  if (record && record.runId === context.runId && (record.state === 'progressing' || record.state === 'paused')) {
    await records.write({
      ...record,
      state: 'aborted',
      weight: 0,
      reason: 'the run was cancelled; its post step restored the traffic (the canary workload is left running)',
    });
  }
}

function checkSameCanary(active: CanaryRecord, config: CanaryConfig, image: string): void {
  if (active.image !== image)
    throw new Error(`${describeActive(active)}, not of ${image}: abort it first, or promote it without an image input`);
  if (active.stepsHash !== config.stepsHash) {
    throw new Error(
      `${describeActive(active)} with other steps than config ${config.source} has now: give the config it was started with, or abort it`,
    );
  }
}

/**
 * promote, abort and status act on the objects the canary was started with: a config naming
 * another VirtualService or other Deployments would promote or abort the wrong ones and leave the
 * real traffic on a canary scaled to 0. Refused, with the differences listed.
 */
function checkSameTargets(active: CanaryRecord, config: CanaryConfig): void {
  const differences: string[] = [];
  if (active.routing !== undefined && canonicalJson(active.routing) !== canonicalJson(config.routing)) {
    differences.push(
      `routing: started with ${JSON.stringify(active.routing)}, config ${config.source} has ${JSON.stringify(config.routing)}`,
    );
  }
  if (active.workloads !== undefined && canonicalJson(active.workloads) !== canonicalJson(config.workloads ?? null)) {
    differences.push(
      `workloads: started with ${JSON.stringify(active.workloads)}, config ${config.source} has ${JSON.stringify(config.workloads ?? null)}`,
    );
  }
  if (differences.length) {
    throw new Error(
      `${describeActive(active)}, and config ${config.source} names other objects than it was started with:\n  - ${differences.join('\n  - ')}\nGive the config it was started with.`,
    );
  }
}

function describeActive(r: CanaryRecord): string {
  return `A canary of ${r.image} (release ${canaryReleaseOf(r)}, started by run ${r.startedBy}) is ${r.state} at step ${stepNumber(r.stepIndex)} with ${r.weight}% of traffic`;
}

export const canaryFlow: Flow<typeof canarySpec> = {
  spec: canarySpec,
  main: (inputs, context) => runCanary(inputs, context),
  post: (inputs, context) => postCanary(inputs, context),
};
