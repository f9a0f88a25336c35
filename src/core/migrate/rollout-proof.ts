/**
 * Proof from the cluster that the new version runs everywhere before a destructive contract:
 * for each Deployment, the controller has seen its latest spec, every replica is updated and
 * available, and every Pod it selects runs `expectedImage`. Anything short of that is a
 * problem, stated so that a person knows what to wait for.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1LabelSelector, type V1Pod } from '@kubernetes/client-node';
import type { NamespacedName } from '../config/primitives.js';
import { retry } from '../retry.js';

export interface RolloutProof {
  ok: boolean;
  /** One sentence per reason the proof fails. */
  problems: string[];
  deployments: DeploymentEvidence[];
}

export interface DeploymentEvidence {
  deployment: string;
  replicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  /** Pods that run the expected image, and those that do not (name -> images). */
  podsOnExpectedImage: number;
  podsOnOtherImages: Record<string, string[]>;
}

export async function proveRollout(
  kubeConfig: KubeConfig,
  request: { deployments: readonly NamespacedName[]; expectedImage: string; signal?: AbortSignal },
): Promise<RolloutProof> {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const problems: string[] = [];
  const deployments: DeploymentEvidence[] = [];
  for (const target of request.deployments) {
    const label = `${target.namespace}/${target.name}`;
    let deployment: V1Deployment;
    try {
      deployment = await retry(() => apps.readNamespacedDeployment({ name: target.name, namespace: target.namespace }), {
        signal: request.signal,
      });
    } catch (error) {
      problems.push(`Deployment ${label} cannot be read: ${describeApiError(error)}`);
      continue;
    }
    let pods: V1Pod[];
    try {
      const labelSelector = labelSelectorText(deployment.spec?.selector);
      pods = (await retry(() => core.listNamespacedPod({ namespace: target.namespace, labelSelector }), { signal: request.signal })).items;
    } catch (error) {
      problems.push(`the pods of Deployment ${label} cannot be listed: ${describeApiError(error)}`);
      continue;
    }
    const evidence = examine(label, deployment, pods, request.expectedImage);
    deployments.push(evidence.evidence);
    problems.push(...evidence.problems);
  }
  return { ok: problems.length === 0, problems, deployments };
}

function examine(
  label: string,
  deployment: V1Deployment,
  pods: V1Pod[],
  expectedImage: string,
): { evidence: DeploymentEvidence; problems: string[] } {
  const problems: string[] = [];
  const wanted = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const generation = deployment.metadata?.generation ?? 0;
  const observed = status.observedGeneration ?? 0;
  if (observed < generation) {
    problems.push(`Deployment ${label}: the controller has not seen its latest spec yet (generation ${generation}, observed ${observed})`);
  }
  const templateImages = (deployment.spec?.template.spec?.containers ?? []).map((c) => c.image ?? '');
  if (!templateImages.includes(expectedImage)) {
    problems.push(`Deployment ${label} is not set to ${expectedImage}: its pod template runs ${templateImages.join(', ') || 'no image'}`);
  }
  const replicas = status.replicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (!(replicas === wanted && updated === wanted && available === wanted)) {
    problems.push(
      `Deployment ${label} has not finished rolling out: wants ${wanted} replica(s), has ${replicas}, ${updated} updated, ${available} available`,
    );
  }
  const live = pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const onOther: Record<string, string[]> = {};
  let onExpected = 0;
  for (const pod of live) {
    const images = (pod.spec?.containers ?? []).map((c) => c.image ?? '');
    if (images.includes(expectedImage)) onExpected++;
    else onOther[pod.metadata?.name ?? '(unnamed pod)'] = images;
  }
  const stale = Object.entries(onOther);
  if (stale.length > 0) {
    const list = stale
      .slice(0, 5)
      .map(([name, images]) => `${name} (${images.join(', ')})`)
      .join(', ');
    problems.push(`Deployment ${label}: ${stale.length} pod(s) still run another version: ${list}${stale.length > 5 ? ', …' : ''}`);
  }
  if (onExpected < wanted) {
    problems.push(`Deployment ${label}: ${onExpected} pod(s) run ${expectedImage}, ${wanted} wanted`);
  }
  return {
    evidence: {
      deployment: label,
      replicas,
      updatedReplicas: updated,
      availableReplicas: available,
      podsOnExpectedImage: onExpected,
      podsOnOtherImages: onOther,
    },
    problems,
  };
}

/** A Deployment's selector as the labelSelector query parameter. */
export function labelSelectorText(selector: V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector?.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(',');
    switch (expression.operator) {
      case 'In':
        parts.push(`${expression.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${expression.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(expression.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${expression.key}`);
        break;
      default:
        throw new Error(`unknown label selector operator ${expression.operator}`);
    }
  }
  if (parts.length === 0) throw new Error('the Deployment has an empty selector: it would select every pod');
  return parts.join(',');
}

function describeApiError(error: unknown): string {
  const { code, body, message } = (error ?? {}) as { code?: unknown; body?: unknown; message?: unknown };
  if (code === 404) return 'not found';
  if (code === 401 || code === 403) return `access denied (HTTP ${code}): the kubeconfig needs get on deployments and list on pods`;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return `HTTP ${String(code)}: ${status.message}`;
    } catch {
      // not JSON
    }
  }
  return typeof message === 'string' ? message : String(error);
}
