/**
 * What blue-green, canary, rolling and rollback share around their own steps: the Kubernetes
 * client, the service's lock, the journal of changes, and the notifications. One run
 * (runDeliverySession) is: open client -> preflight -> take the lock -> notify start -> the flow's
 * work -> notify the end -> release; a dry run takes no lock and applies no change. The post step
 * (postDeliverySession, after the job, also when cancelled) undoes the changes of an unfinished run
 * that carry live traffic and releases its lock.
 */
import { InputError } from '../config/input-error.js';
import { formatDuration } from '../config/primitives.js';
import { type FlowContext, FlowFailure, type FlowOutputs } from '../flow.js';
import { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { describeIdentity } from '../kube/kubeconfig.js';
import { releaseLockIfHeldBy, ServiceLock } from '../kube/lease-lock.js';
import { describeRef, type ObjectRef } from '../kube/object-ref.js';
import type { NeededPermission } from '../kube/permissions.js';
import { checkPermissions, MissingPermissionsError } from '../kube/preflight.js';
import { type Change, type JournalEntry, Journal } from '../kube/journal.js';
import type { DeploymentEvent, Outcome, Strategy } from '../notify/event.js';
import { notificationsFromInputs, type DeploymentNotifications, type NotifyInputs } from '../notify/from-inputs.js';
import type { Reporter } from '../reporter.js';
import { compensate, type Compensation } from './compensate.js';

/** The parsed cluster, run and notify inputs that every delivery action has (src/core/specs/common.ts). */
export interface SessionInputs extends NotifyInputs {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  service: string;
  'dry-run': boolean;
  'lock-timeout': number;
  /** How long the Lease outlives the last renewal (ms). Default 60 s. */
  'lease-duration'?: number;
  /** The release this run belongs to (empty: the run id, unless the flow finds the one it continues). */
  release?: string;
}

export type SessionOutcome = Extract<Outcome, 'succeeded' | 'paused' | 'failed' | 'rolled-back' | 'planned'>;

export interface SessionResult {
  outcome: SessionOutcome;
  /** The action's own result word: switched, promoted, aborted, rolled-back… */
  result: string;
  outputs: FlowOutputs;
  /** Why it failed or was rolled back; becomes the step's error message. */
  reason?: string;
  /** The step fails though the outcome is not a failure: a person must look (a canary paused on an Inconclusive analysis). */
  attention?: boolean;
}

export interface SessionOptions {
  inputs: SessionInputs;
  strategy: Extract<Strategy, 'blue-green' | 'canary' | 'rolling' | 'rollback'>;
  context: FlowContext;
  image?: string;
  version?: string;
  /** Take the lock from a live holder (rollback of a cancelled run), and say so. */
  force?: boolean;
  /** For tests: a client built elsewhere (the inputs' kubeconfig is used otherwise). */
  client?: KubeClient;
  /**
   * What the run's plan needs from the API server (delivery/needed-permissions.ts), asked before
   * the first write (the preflight). May read (the journal), never write.
   */
  permissions?: (client: KubeClient) => NeededPermission[] | Promise<NeededPermission[]>;
  /**
   * Reads the flow makes before the lock, once the preflight has vouched for them (rollback with
   * force names the live holder it takes the lock over from). Never a write.
   */
  beforeLock?: (client: KubeClient) => Promise<void>;
}

export interface DeliverySession {
  readonly client: KubeClient;
  readonly journal: Journal;
  readonly runId: string;
  /**
   * The release every change of this run is journaled under: the `release` input, else the run id.
   * A flow that continues an earlier run's release (canary promote, abort) sets it to that release
   * before its first change.
   */
  release: string;
  readonly dryRun: boolean;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
  readonly notify: DeploymentNotifications;
  /** Fill phase, weight, color and timeline as the flow goes; phase() sends it. */
  event: DeploymentEvent;
  /** Merge `update` into the event and notify the phase (Slack thread, deployment status). */
  phase(update: Partial<DeploymentEvent>): Promise<void>;
  /**
   * Record the change as planned, apply it, mark it applied: the change is on the cluster before it
   * is made, so a rollback or a resumed run can see it. Idempotent per run id and step: a step this
   * run already applied is skipped (`applied: false`). In a dry run, reports the plan and applies nothing.
   */
  change<T>(
    step: string,
    object: ObjectRef,
    change: Change,
    apply: () => Promise<T>,
  ): Promise<{ applied: boolean; result?: T; entry?: JournalEntry }>;
}

const FINISHED = 'delivery-finished';
/** Set once the run holds the lock: before it, the run changed nothing, and its post step has nothing to do. */
const STARTED = 'delivery-started';

export async function runDeliverySession(
  options: SessionOptions,
  work: (session: DeliverySession) => Promise<SessionResult>,
): Promise<FlowOutputs> {
  const { inputs, context, strategy } = options;
  const dryRun = inputs['dry-run'];
  const client = options.client ?? openClient(inputs, context);
  const journal = new Journal(client, { namespace: inputs.namespace, service: inputs.service });
  const notify = notificationsFromInputs(inputs, context, { deploymentTracker: context.deploymentTracker });
  const started = Date.now();

  const event = () =>
    notify.newEvent({
      service: inputs.service,
      namespace: inputs.namespace,
      strategy,
      image: options.image,
      version: options.version,
      dryRun,
    });
  let lock: ServiceLock | undefined;
  if (options.permissions) {
    try {
      await preflight(client, await options.permissions(client), dryRun, context.reporter);
    } catch (error) {
      throw await ended(notify, context, { ...event(), durationMs: Date.now() - started }, error);
    }
  }
  if (!dryRun) {
    try {
      await options.beforeLock?.(client);
      lock = await ServiceLock.acquire(client, {
        namespace: inputs.namespace,
        service: inputs.service,
        holder: context.runId,
        timeoutMs: inputs['lock-timeout'],
        ...(inputs['lease-duration'] === undefined ? {} : { leaseDurationSeconds: Math.round(inputs['lease-duration'] / 1000) }),
        force: options.force,
        reporter: context.reporter,
        onLost: (holder) =>
          context.reporter.error(`Lost the lock of ${inputs.service} to run ${holder.holder}: stopping before the next change.`),
      });
    } catch (error) {
      // Another run holds the service, or the cluster cannot be reached: nothing was changed, and
      // the run still ends with `result`, a summary and a final notification saying why.
      throw await ended(notify, context, { ...event(), durationMs: Date.now() - started }, error);
    }
    context.state.set(STARTED, 'true');
  }

  const session: DeliverySession = {
    client,
    journal,
    runId: context.runId,
    release: inputs.release ?? context.runId,
    dryRun,
    reporter: context.reporter,
    signal: context.signal,
    notify,
    event: event(),
    async phase(update) {
      session.event = { ...session.event, ...update, durationMs: Date.now() - started };
      await notify.notifyPhase(session.event);
    },
    async change(step, object, change, apply) {
      if (dryRun) {
        context.reporter.info(`[dry run] would ${step}: ${describeRef(object)} ${describeChange(change)}`);
        return { applied: false };
      }
      if (lock?.lost) throw new Error(`the lock of ${inputs.service} was taken by another run; not applying ${step}`);
      context.signal.throwIfAborted();
      const done = await journal.step({ runId: context.runId, release: session.release, step, strategy, object, change }, apply);
      if (!done.applied) context.reporter.info(`${step}: already applied by this run (${context.runId}); not applying it twice`);
      return { applied: done.applied, result: done.result, entry: done.entry };
    },
  };

  try {
    await notify.notifyStart(session.event);
    const result = await work(session);
    session.event = {
      ...session.event,
      phase: 'done',
      outcome: result.outcome,
      result: result.result,
      reason: result.reason,
      durationMs: Date.now() - started,
    };
    await notify.notifyEnd(session.event);
    if (result.outcome === 'failed' || result.outcome === 'rolled-back' || result.attention) {
      throw new FlowFailure(result.reason ?? `${strategy} ${result.result}`, result.outputs);
    }
    return result.outputs;
  } catch (error) {
    if (error instanceof FlowFailure) throw error;
    throw await ended(notify, context, { ...session.event, durationMs: Date.now() - started }, error);
  } finally {
    // A cancelled run is not finished: its post step puts traffic back where the run found it.
    if (!context.signal.aborted) context.state.set(FINISHED, 'true');
    if (lock) {
      await lock
        .release()
        .catch((e: Error) => context.reporter.warn(`could not release the lock of ${inputs.service}: ${e.message} (it expires by itself)`));
    }
    context.reporter.debug(`${strategy}: ${client.requestCount} Kubernetes API requests in ${formatDuration(Date.now() - started)}`);
  }
}

/** What the post step of an unfinished run undoes: the changes that carry live traffic. */
export interface PostOptions extends Omit<SessionOptions, 'image' | 'version' | 'force'> {
  /**
   * The kinds of change that carry live traffic in this flow. Default `traffic` (router weights):
   * an image on an idle color or a canary Deployment serves nothing the router does not send it.
   * A rolling update's `image` is its traffic: the Deployment serves the service throughout.
   */
  undoes?: readonly Change['kind'][];
  /** Wait this long for a workload put back to roll out (an `image` undone); without it, the post step ends after the write. */
  rolloutTimeoutMs?: number;
}

/**
 * The post step of a delivery action. When the main step did not finish (cancelled, or its process
 * was killed), undoes this run's applied changes that carry live traffic (`undoes`) in reverse,
 * newest first, so the service is where it was recorded before the run began; then releases the
 * lock if this run still holds it. Other changes (an image on an idle color, a canary Deployment)
 * carry no traffic and are left for a person or the rollback action to decide on.
 */
export async function postDeliverySession(options: PostOptions): Promise<Compensation[]> {
  const { inputs, context } = options;
  const undoes = options.undoes ?? ['traffic'];
  const wait = options.rolloutTimeoutMs === undefined ? undefined : { timeoutMs: options.rolloutTimeoutMs };
  // A run that failed before it took the lock (bad input, the cluster unreachable, the lock held)
  // changed nothing: its post step neither hides that first error nor raises a second one for it.
  if (context.state.get(STARTED) !== 'true' || context.state.get(FINISHED) === 'true' || inputs['dry-run']) return [];
  const client = options.client ?? openClient(inputs, context);
  const journal = new Journal(client, { namespace: inputs.namespace, service: inputs.service });
  const undone: Compensation[] = [];
  for (const entry of await journal.compensations(context.runId)) {
    if (!undoes.includes(entry.change.kind)) continue;
    context.reporter.warn(`The run did not finish: undoing ${entry.step} (${describeRef(entry.object)})`);
    undone.push(await compensate(client, entry, { reporter: context.reporter, wait }));
    await journal.markCompensated(entry.id);
  }
  const released = await releaseLockIfHeldBy(client, { namespace: inputs.namespace, service: inputs.service, holder: context.runId });
  if (released) context.reporter.info(`Released the lock of ${inputs.service} held by this run.`);
  // A run cancelled cleanly already notified its end; only a run that was killed left work here.
  if (undone.length === 0 && !released) return undone;
  const notify = notificationsFromInputs(inputs, context, { deploymentTracker: context.deploymentTracker });
  const event = notify.newEvent({ service: inputs.service, namespace: inputs.namespace, strategy: options.strategy });
  const reason = undone.length ? `restored: ${undone.map(describeRestored).join('; ')}` : 'nothing to restore';
  await notify
    .notifyEnd({ ...event, phase: 'cancelled', outcome: 'cancelled', result: 'cancelled', reason })
    .catch((e: Error) => context.reporter.warn(context.secrets.redact(e.message)));
  return undone;
}

/**
 * A run that ended on an error rather than a result: the final notification (and the summary)
 * says so, and the error comes back as a FlowFailure with `result` (failed, or cancelled), so the
 * workflow can branch on it. Bad input stays an InputError (the CLI's exit code 2), with `result`
 * set by the runner all the same.
 */
async function ended(notify: DeploymentNotifications, context: FlowContext, event: DeploymentEvent, error: unknown): Promise<Error> {
  const reason = context.secrets.redact(error instanceof Error ? error.message : String(error));
  const cancelled = context.signal.aborted;
  await notify
    .notifyEnd({ ...event, phase: 'done', outcome: cancelled ? 'cancelled' : 'failed', result: cancelled ? 'cancelled' : 'failed', reason })
    .catch((e: Error) => context.reporter.warn(`could not send the final notification: ${context.secrets.redact(e.message)}`));
  if (error instanceof InputError) return error;
  return new FlowFailure(reason, { result: cancelled ? 'cancelled' : 'failed' });
}

/** The preflight: every permission asked at once; a dry run only warns of what is missing. */
async function preflight(client: KubeClient, needed: NeededPermission[], dryRun: boolean, reporter: Reporter): Promise<void> {
  let result: Awaited<ReturnType<typeof checkPermissions>>;
  try {
    result = await checkPermissions(client, needed);
  } catch (error) {
    // An API server that does not serve SelfSubjectAccessReview (authorization.k8s.io/v1) cannot be asked.
    if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    reporter.warn(
      'preflight: the cluster does not serve SelfSubjectAccessReview (authorization.k8s.io/v1), so permissions were not checked before the first write',
    );
    return;
  }
  reporter.debug(`preflight: ${result.requests} access reviews in ${result.durationMs} ms`);
  if (!result.missing.length) return;
  const error = new MissingPermissionsError(result.missing, describeIdentity(client.kubeConfig));
  if (!dryRun) throw error;
  reporter.warn(`[dry run] a real run would stop here: ${error.message}`);
}

function openClient(inputs: SessionInputs, context: FlowContext): KubeClient {
  return KubeClient.fromKubeconfig({ kubeconfig: inputs.kubeconfig, context: inputs.context, reporter: context.reporter });
}

/** One undo of the post step in words: `traffic of VirtualService shop/checkout: …`, `Deployment shop/checkout: app back to …`. */
function describeRestored(undone: Compensation): string {
  const { change, object } = undone.entry;
  if (change.kind === 'traffic') return `traffic of ${describeRef(object)}: ${undone.after}`;
  if (change.kind === 'image') return `${describeRef(object)}: ${change.container} back to ${undone.after}`;
  return `${describeRef(object)}: ${undone.after}`;
}

function describeChange(change: Change): string {
  switch (change.kind) {
    case 'traffic':
      return `weights ${JSON.stringify(change.previous)} -> ${JSON.stringify(change.next)}`;
    case 'image':
      return `container ${change.container}: ${change.previous.image} -> ${change.next.image}`;
    case 'scale':
      return `replicas ${change.previous.replicas} -> ${change.next.replicas}`;
    case 'undo':
      return `revision ${change.previous.revision ?? '?'} -> ${change.next.revision}`;
    case 'argo':
      return `${change.action}: ${change.previous.weight}% -> ${change.next.weight}% canary`;
    case 'migration':
      return 'migration';
  }
}
