import { parse as parseYaml } from 'yaml';
import { KubeClient } from '../../src/core/kube/client.js';
import type { TestCluster } from '../cluster/server.js';

/**
 * Shared pieces of the reliability suite: a recorder of every traffic weight the cluster stored
 * (a real watch on the routers, not our own bookkeeping), a seeded ~20 % fault plan on every API
 * request but watches, and snapshots of the end state to compare a faulty run with a clean one.
 */

/** Every non-watch API request: the pattern the fault plan hits (a RegExp is tested against `path?query`). */
export const API_EXCEPT_WATCHES = /^(?!.*[?&]watch=(true|1))\/apis?\//;

export interface FaultPlan {
  ids: number[];
  /** Faults injected so far, by kind. */
  injected(): { '503': number; '429': number; drop: number; total: number };
  remove(): void;
}

/**
 * About 20 % of requests fail: 8 % answer 503, 6 % of the rest 429 with Retry-After (seconds), 7 % of
 * the rest have their connection dropped without an answer. Drawn from the cluster's seeded RNG.
 */
export function injectFaults(cluster: TestCluster, seed: number, retryAfterSeconds = 1, path: RegExp = API_EXCEPT_WATCHES): FaultPlan {
  cluster.faults.seed(seed);
  const ids = [
    cluster.faults.add({ path, status: 503, probability: 0.08 }),
    cluster.faults.add({ path, status: 429, retryAfterSeconds, probability: 0.06 }),
    cluster.faults.add({ path, drop: true, probability: 0.07 }),
  ];
  return {
    ids,
    injected() {
      const [s503, s429, drop] = ids.map((id) => cluster.faults.hits(id)) as [number, number, number];
      return { '503': s503, '429': s429, drop, total: s503 + s429 + drop };
    },
    remove() {
      for (const id of ids) cluster.faults.remove(id);
    },
  };
}

export interface WeightWrite {
  name: string;
  resourceVersion: string;
  /** Weights of each HTTP route that splits traffic, as stored. */
  routes: number[][];
}

/**
 * Watches VirtualServices of a namespace and records every version the server stored: each write
 * of weights, seen from outside the flow. `stop()` ends the watch.
 */
export async function recordWeights(
  cluster: TestCluster,
  namespace: string,
): Promise<{ writes: WeightWrite[]; stop(): void; errors: unknown[] }> {
  const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig });
  const writes: WeightWrite[] = [];
  const errors: unknown[] = [];
  const controller = await client.watch(
    `/apis/networking.istio.io/v1/namespaces/${namespace}/virtualservices`,
    {},
    (type, object) => {
      if (type !== 'ADDED' && type !== 'MODIFIED') return;
      const vs = object as { metadata: { name: string; resourceVersion: string }; spec: { http?: { route?: { weight?: number }[] }[] } };
      const routes = (vs.spec.http ?? []).filter((h) => (h.route ?? []).length > 1).map((h) => h.route!.map((r) => r.weight ?? 0));
      writes.push({ name: vs.metadata.name, resourceVersion: vs.metadata.resourceVersion, routes });
    },
    (error) => {
      if (error) errors.push(error);
    },
  );
  return { writes, errors, stop: () => controller.abort() };
}

/** A parsed journal ConfigMap `pd-state-<service>`. */
export function journalOf(
  cluster: TestCluster,
  namespace: string,
  service: string,
): { id: string; runId: string; step: string; status: string; change: { kind: string } }[] {
  const cm = cluster.get('v1', 'ConfigMap', namespace, `pd-state-${service}`);
  return cm?.data?.['journal.yaml'] ? (parseYaml(cm.data['journal.yaml']) as never) : [];
}

/** Steps and statuses, with the run id and the per-step hash suffix (`#abc`) taken out, so two runs can be compared. */
export function journalShape(cluster: TestCluster, namespace: string, service: string): string[] {
  return journalOf(cluster, namespace, service).map((e) => `${e.step.replace(/#\w+$/, '')}:${e.change.kind}:${e.status}`);
}

export function deploymentState(cluster: TestCluster, namespace: string, name: string): { image: string; replicas: number } | undefined {
  const d = cluster.get('apps/v1', 'Deployment', namespace, name);
  return d ? { image: d.spec.template.spec.containers[0].image, replicas: d.spec.replicas } : undefined;
}

export function leaseHolder(cluster: TestCluster, namespace: string, service: string): string | undefined {
  return cluster.get('coordination.k8s.io/v1', 'Lease', namespace, `pd-lock-${service}`)?.spec?.holderIdentity ?? undefined;
}

/** Write requests (anything but GET) since index `since` of the request log. */
export function writesSince(cluster: TestCluster, since = 0): string[] {
  return cluster.requests
    .slice(since)
    .filter((r) => r.method !== 'GET' && !r.path.endsWith('accessreviews'))
    .map((r) => `${r.method} ${r.path} ${r.status}`);
}

/** Makes a Lease look abandoned: its holder last renewed it `agoMs` ago (what a SIGKILLed runner leaves once the lease duration passes). */
export async function expireLease(cluster: TestCluster, namespace: string, service: string, agoMs = 10 * 60_000): Promise<void> {
  const lease = cluster.get('coordination.k8s.io/v1', 'Lease', namespace, `pd-lock-${service}`);
  if (!lease) return;
  const longAgo = new Date(Date.now() - agoMs).toISOString().replace('Z', '000Z');
  await cluster.apply({
    ...lease,
    metadata: { name: lease.metadata.name, namespace },
    spec: { ...lease.spec, renewTime: longAgo, acquireTime: longAgo },
  });
}

export async function until(check: () => boolean, timeoutMs: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
