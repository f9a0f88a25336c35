/**
 * Deployments as kubectl handles them: set a container's image (setDeploymentImage), scale through
 * the scale subresource (scaleDeployment), put back an older ReplicaSet's pod template as
 * `kubectl rollout undo` does (undoDeployment), and wait for a rollout by the rules of
 * `kubectl rollout status` (waitForDeploymentRollout), saying which pods are not ready when it
 * fails. Every write is a guarded patch. RolloutFailedError and WaitOptions serve ArgoRollout too.
 */
import type { V1Deployment, V1Pod, V1PodTemplateSpec, V1ReplicaSet, V1Scale } from '@kubernetes/client-node';
import { canonicalJson } from '../canonical-json.js';
import { formatDuration } from '../config/primitives.js';
import type { KubeClient } from './client.js';
import { KubeObjectError } from './errors.js';
import { guardedPatch } from './guarded-patch.js';
import { warnForeignOwners } from './field-owners.js';
import { JSON_PATCH, pointer, type JsonPatchOp } from './json-patch.js';
import { describeRef, type ObjectRef } from './object-ref.js';
import { WaitTimeoutError, watchUntil } from './watch-until.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const POD_TEMPLATE_HASH = 'pod-template-hash';
/** Annotations `kubectl rollout undo` keeps from the Deployment rather than copying from the ReplicaSet. */
const ANNOTATIONS_NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

export interface DeploymentName {
  namespace: string;
  name: string;
}

export function deploymentRef(d: DeploymentName): ObjectRef {
  return { kind: 'Deployment', namespace: d.namespace, name: d.name };
}

export function readDeployment(client: KubeClient, d: DeploymentName): Promise<V1Deployment> {
  return client.call('get', deploymentRef(d), () => client.apps.readNamespacedDeployment({ name: d.name, namespace: d.namespace }));
}

export function revisionOf(object: { metadata?: { annotations?: Record<string, string> } }): number | undefined {
  const value = object.metadata?.annotations?.[REVISION_ANNOTATION];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export interface ImageChange {
  container: string;
  previousImage: string;
  image: string;
  /** The Deployment's revision before the change (what an undo returns to). */
  previousRevision: number | undefined;
  /** False when the container already ran that image. */
  changed: boolean;
}

/**
 * Sets one container's image (the named one, or the first), guarded by the resourceVersion read.
 * With `replicas`, the same patch sets them too: pods that come up with a new template are a
 * rollout, which the progress deadline watches (a bare scale-up of a finished Deployment is not).
 */
export async function setDeploymentImage(
  client: KubeClient,
  d: DeploymentName & { image: string; container?: string; replicas?: number },
): Promise<ImageChange> {
  const ref = deploymentRef(d);
  let change: ImageChange | undefined;
  await guardedPatch<V1Deployment>({
    ref,
    read: () => readDeployment(client, d),
    resourceVersionOf: (dep) => dep.metadata?.resourceVersion,
    plan: (dep) => {
      const { index, name, image } = findContainer(ref, dep.spec?.template, d.container);
      change = { container: name, previousImage: image, image: d.image, previousRevision: revisionOf(dep), changed: image !== d.image };
      const ops: JsonPatchOp[] = change.changed
        ? [{ op: 'replace', path: pointer('spec', 'template', 'spec', 'containers', index, 'image'), value: d.image }]
        : [];
      if (d.replicas !== undefined && dep.spec?.replicas !== d.replicas)
        ops.push({ op: 'replace', path: pointer('spec', 'replicas'), value: d.replicas });
      warnForeignOwners(client, ref, dep, ops, 'to roll out the release');
      return ops;
    },
    send: (ops) =>
      client.call('patch', ref, () =>
        client.apps.patchNamespacedDeployment({ name: d.name, namespace: d.namespace, body: ops }, JSON_PATCH),
      ),
  });
  return change!;
}

export function findContainer(
  ref: ObjectRef,
  template: V1PodTemplateSpec | undefined,
  container: string | undefined,
): { index: number; name: string; image: string } {
  const containers = template?.spec?.containers ?? [];
  const index = container === undefined ? 0 : containers.findIndex((c) => c.name === container);
  const found = containers[index];
  if (index < 0 || !found) {
    throw new KubeObjectError(
      ref,
      container === undefined
        ? 'has no containers'
        : `has no container ${container}; its containers are ${containers.map((c) => c.name).join(', ')}`,
    );
  }
  return { index, name: found.name, image: found.image ?? '' };
}

/** Where a Deployment's rollout stands, by the rules of `kubectl rollout status`. */
export type RolloutState =
  | { state: 'done'; message: string }
  | { state: 'progressing'; message: string }
  | { state: 'failed'; reason: string; message: string };

export function deploymentRolloutState(dep: V1Deployment): RolloutState {
  const name = dep.metadata?.name ?? '';
  const generation = dep.metadata?.generation ?? 0;
  const status = dep.status ?? {};
  if (generation > (status.observedGeneration ?? 0))
    return { state: 'progressing', message: 'waiting for the deployment spec update to be observed' };
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      state: 'failed',
      reason: 'ProgressDeadlineExceeded',
      message: progressing.message ?? `deployment "${name}" exceeded its progress deadline`,
    };
  }
  const desired = dep.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated >= desired && replicas <= updated && available >= updated)
    return { state: 'done', message: `deployment "${name}" successfully rolled out` };
  return { state: 'progressing', message: rolloutSummary(dep) };
}

/**
 * "2/3 updated, 1 unavailable" (+ old replicas still running, + a ReplicaFailure condition's
 * message, e.g. the ResourceQuota that refused the new pods). The counts are the ones
 * `kubectl rollout status` decides on.
 */
export function rolloutSummary(dep: V1Deployment): string {
  const status = dep.status ?? {};
  const desired = dep.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const old = Math.max(0, (status.replicas ?? 0) - updated);
  const parts = [`${updated}/${desired} updated`, `${status.unavailableReplicas ?? 0} unavailable`];
  if (old > 0) parts.push(`${old} old still running`);
  const failure = status.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (failure) parts.push(`ReplicaFailure: ${failure.message ?? failure.reason ?? ''}`);
  return parts.join(', ');
}

/**
 * Why the newest ReplicaSet's pods are not available: "ImagePullBackOff on pod x",
 * "CrashLoopBackOff on pods x, y", "Pending on pod z". Lists the pods of that ReplicaSet only
 * (its selector includes pod-template-hash). Undefined when nothing is known or the list fails.
 */
export async function diagnosePods(client: KubeClient, dep: V1Deployment): Promise<string | undefined> {
  try {
    const replicaSets = await listOwnedReplicaSets(client, dep);
    const revision = revisionOf(dep);
    const newest =
      replicaSets.find((rs) => revisionOf(rs) === revision) ?? replicaSets.sort((a, b) => (revisionOf(b) ?? 0) - (revisionOf(a) ?? 0))[0];
    const matchLabels = newest?.spec?.selector?.matchLabels;
    if (!newest || !matchLabels) return undefined;
    return await describeNotReadyPods(client, dep.metadata!.namespace!, matchLabels);
  } catch {
    return undefined;
  }
}

/** "ImagePullBackOff on pod x; Pending on pods y, z" for the pods matching `matchLabels` that are not Ready. */
export async function describeNotReadyPods(
  client: KubeClient,
  namespace: string,
  matchLabels: Record<string, string>,
): Promise<string | undefined> {
  const pods = await listPodsMatching(client, namespace, matchLabels);
  const byReason = new Map<string, string[]>();
  for (const pod of pods) {
    const reason = notReadyReason(pod);
    if (reason) byReason.set(reason, [...(byReason.get(reason) ?? []), pod.metadata?.name ?? '?']);
  }
  if (byReason.size === 0) return undefined;
  return [...byReason]
    .map(
      ([reason, names]) =>
        `${reason} on pod${names.length > 1 ? 's' : ''} ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`,
    )
    .join('; ');
}

/** The pods matching `matchLabels` in `namespace` (a label selector; it names no object). */
export async function listPodsMatching(client: KubeClient, namespace: string, matchLabels: Record<string, string>): Promise<V1Pod[]> {
  const labelSelector = Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await client.call('list', { kind: 'Pod', namespace, name: `(${labelSelector})` }, () =>
    client.core.listNamespacedPod({ namespace, labelSelector }),
  );
  return pods.items;
}

function notReadyReason(pod: V1Pod): string | undefined {
  if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return undefined;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of statuses) {
    const waiting = c.state?.waiting?.reason;
    if (waiting && waiting !== 'PodInitializing' && waiting !== 'ContainerCreating') return waiting;
    const terminated = c.state?.terminated?.reason;
    if (terminated && terminated !== 'Completed') return terminated;
  }
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unschedulable) return unschedulable.reason ?? 'Unschedulable';
  return pod.status?.phase === 'Pending' ? 'Pending' : 'not Ready';
}

/** The rollout failed (ProgressDeadlineExceeded, or the Argo Rollout was aborted or degraded). */
export class RolloutFailedError extends Error {
  override readonly name = 'RolloutFailedError';
  constructor(
    readonly ref: ObjectRef,
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`${describeRef(ref)}: rollout failed: ${reason}: ${detail}`);
  }
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/**
 * Waits until the Deployment's current revision is fully rolled out (kubectl rollout status rules).
 * Throws RolloutFailedError on ProgressDeadlineExceeded and WaitTimeoutError on timeout.
 * Returns the revision rolled out.
 */
export async function waitForDeploymentRollout(
  client: KubeClient,
  d: DeploymentName,
  options: WaitOptions,
): Promise<{ revision: number | undefined }> {
  const ref = deploymentRef(d);
  let last: V1Deployment | undefined;
  try {
    return await watchRollout(client, d, options, (dep) => (last = dep));
  } catch (error) {
    // Say why the new pods are not available (ImagePullBackOff on pod x), read when the wait ends.
    if (
      last &&
      (error instanceof WaitTimeoutError || (error instanceof RolloutFailedError && error.reason === 'ProgressDeadlineExceeded'))
    ) {
      const why = await diagnosePods(client, last);
      if (error instanceof WaitTimeoutError)
        throw new WaitTimeoutError(ref, `${error.lastProgress}${why ? ` (${why})` : ''}`, options.timeoutMs);
      throw new RolloutFailedError(ref, error.reason, `${error.detail} (${rolloutSummary(last)}${why ? `; ${why}` : ''})`);
    }
    throw error;
  }
}

/**
 * waitForDeploymentRollout, its end in words: undefined when the rollout finished, else why not (the
 * failed rollout's message, or `<Deployment> <what> within rollout-timeout <t>: <last progress>`).
 * A cancel (the signal) still throws.
 */
export async function rolloutProblem(
  client: KubeClient,
  d: DeploymentName,
  options: WaitOptions & { what: string },
): Promise<string | undefined> {
  try {
    await waitForDeploymentRollout(client, d, options);
    return undefined;
  } catch (error) {
    if (error instanceof RolloutFailedError) return error.message;
    if (error instanceof WaitTimeoutError)
      return `${describeRef(deploymentRef(d))} ${options.what} within rollout-timeout ${formatDuration(options.timeoutMs)}: ${error.lastProgress}`;
    throw error;
  }
}

function watchRollout(
  client: KubeClient,
  d: DeploymentName,
  options: WaitOptions,
  seen: (dep: V1Deployment) => void,
): Promise<{ revision: number | undefined }> {
  const ref = deploymentRef(d);
  return watchUntil<V1Deployment, { revision: number | undefined }>({
    client,
    ref,
    collectionPath: `/apis/apps/v1/namespaces/${encodeURIComponent(d.namespace)}/deployments`,
    read: () => readDeployment(client, d),
    resourceVersionOf: (dep) => dep.metadata?.resourceVersion,
    decide: (dep) => {
      seen(dep);
      const state = deploymentRolloutState(dep);
      if (state.state === 'failed') throw new RolloutFailedError(ref, state.reason, state.message);
      return state.state === 'done' ? { done: true, value: { revision: revisionOf(dep) } } : { done: false, progress: state.message };
    },
    ...options,
  });
}

export interface UndoResult {
  /** The revision whose pod template is now the Deployment's (it becomes a new revision once rolled out). */
  toRevision: number;
  /** Images of that template, by container. */
  images: Record<string, string>;
  /** True when the Deployment already had that template: nothing was changed. */
  skipped: boolean;
}

/**
 * `kubectl rollout undo [--to-revision]`: copy the pod template of the ReplicaSet with the previous
 * (or the given) revision, minus its pod-template-hash label, into the Deployment, together with
 * that ReplicaSet's annotations. Guarded by the resourceVersion read.
 */
export async function undoDeployment(client: KubeClient, d: DeploymentName & { toRevision?: number }): Promise<UndoResult> {
  const ref = deploymentRef(d);
  let result: UndoResult | undefined;
  let replicaSets: V1ReplicaSet[] = [];
  await guardedPatch<V1Deployment>({
    ref,
    // The ReplicaSets are listed with each read, so a retried undo decides on a fresh history.
    read: async () => {
      const dep = await readDeployment(client, d);
      if (dep.spec?.paused) throw new KubeObjectError(ref, 'is paused; resume it before rolling back (as kubectl rollout undo requires)');
      replicaSets = await listOwnedReplicaSets(client, dep);
      return dep;
    },
    resourceVersionOf: (dep) => dep.metadata?.resourceVersion,
    plan: (dep) => {
      const target = pickRevision(ref, replicaSets, d.toRevision);
      const template = serialize(target.rs.spec?.template);
      delete template.metadata?.labels?.[POD_TEMPLATE_HASH];
      const images = Object.fromEntries(
        (template.spec?.containers ?? []).map((c: { name: string; image?: string }) => [c.name, c.image ?? '']),
      );
      const skipped = sameTemplate(serialize(dep.spec?.template), template);
      result = { toRevision: target.revision, images, skipped };
      if (skipped) return [];
      const annotations: Record<string, string> = {};
      for (const [k, v] of Object.entries(dep.metadata?.annotations ?? {})) if (ANNOTATIONS_NOT_COPIED.has(k)) annotations[k] = v;
      for (const [k, v] of Object.entries(target.rs.metadata?.annotations ?? {})) if (!ANNOTATIONS_NOT_COPIED.has(k)) annotations[k] = v;
      return [
        { op: 'replace', path: pointer('spec', 'template'), value: template },
        { op: dep.metadata?.annotations ? 'replace' : 'add', path: pointer('metadata', 'annotations'), value: annotations },
      ];
    },
    send: (ops) =>
      client.call('patch', ref, () =>
        client.apps.patchNamespacedDeployment({ name: d.name, namespace: d.namespace, body: ops }, JSON_PATCH),
      ),
  });
  return result!;
}

/** ReplicaSets whose controller is this Deployment (by owner uid), as kubectl rollout history lists them. */
export async function listOwnedReplicaSets(client: KubeClient, dep: V1Deployment): Promise<V1ReplicaSet[]> {
  const namespace = dep.metadata!.namespace!;
  const matchLabels = dep.spec?.selector?.matchLabels ?? {};
  const labelSelector = Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const list = await client.call('list', { kind: 'ReplicaSet', namespace, name: `(owned by Deployment ${dep.metadata!.name})` }, () =>
    client.apps.listNamespacedReplicaSet({ namespace, labelSelector: labelSelector || undefined }),
  );
  return list.items.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === dep.metadata?.uid));
}

function pickRevision(ref: ObjectRef, replicaSets: V1ReplicaSet[], toRevision: number | undefined): { rs: V1ReplicaSet; revision: number } {
  const withRevision = replicaSets
    .map((rs) => ({ rs, revision: revisionOf(rs) }))
    .filter((x): x is { rs: V1ReplicaSet; revision: number } => x.revision !== undefined)
    .sort((a, b) => b.revision - a.revision);
  if (toRevision !== undefined) {
    const found = withRevision.find((x) => x.revision === toRevision);
    if (!found) {
      throw new KubeObjectError(
        ref,
        `has no revision ${toRevision} in its history (revisions ${withRevision.map((x) => x.revision).join(', ') || 'none'})`,
      );
    }
    return found;
  }
  const previous = withRevision[1];
  if (!previous)
    throw new KubeObjectError(
      ref,
      `has no previous revision to roll back to (revisions ${withRevision.map((x) => x.revision).join(', ') || 'none'})`,
    );
  return previous;
}

/** Plain JSON of a typed client-node model (Dates as strings), for comparing and patching. */
function serialize<T>(value: T): any {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function sameTemplate(a: any, b: any): boolean {
  const strip = (t: any) => {
    const copy = structuredClone(t ?? {});
    delete copy.metadata?.labels?.[POD_TEMPLATE_HASH];
    return canonicalJson(copy, { dropNull: true });
  };
  return strip(a) === strip(b);
}

/** Scales through the scale subresource, guarded by the resourceVersion read. Returns the replicas before. */
export async function scaleDeployment(client: KubeClient, d: DeploymentName & { replicas: number }): Promise<{ previousReplicas: number }> {
  if (!Number.isInteger(d.replicas) || d.replicas < 0)
    throw new RangeError(`${describeRef(deploymentRef(d))}: replicas must be a whole number >= 0, got ${d.replicas}`);
  const ref = deploymentRef(d);
  let previousReplicas = 0;
  await guardedPatch<V1Scale>({
    ref,
    read: () => client.call('get', ref, () => client.apps.readNamespacedDeploymentScale({ name: d.name, namespace: d.namespace })),
    resourceVersionOf: (scale) => scale.metadata?.resourceVersion,
    plan: (scale) => {
      previousReplicas = scale.spec?.replicas ?? 0;
      return previousReplicas === d.replicas ? [] : [{ op: 'replace', path: pointer('spec', 'replicas'), value: d.replicas }];
    },
    send: (ops) =>
      client.call('scale', ref, () =>
        client.apps.patchNamespacedDeploymentScale({ name: d.name, namespace: d.namespace, body: ops }, JSON_PATCH),
      ),
  });
  return { previousReplicas };
}
