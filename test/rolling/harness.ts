/**
 * Shared pieces of the rolling tests: a test cluster (its Deployment controller rolls pods; an
 * image whose tag holds `fail-rollout` never gets ready pods), the flow run in-process as the
 * action runs it, the rollback action after it, and what the cluster holds.
 */
import { type FlowOutputs, FlowFailure } from '../../src/core/flow.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { Journal, type JournalEntry } from '../../src/core/kube/journal.js';
import type { Clock } from '../../src/core/metrics/clock.js';
import { runRolling, type RollingOptions } from '../../src/core/rolling/flow.js';
import type { RollingInputs } from '../../src/core/rolling/settings.js';
import { rollingSpec } from '../../src/core/specs/rolling.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { type TestContext, testContext } from '../blue-green/harness.js';
import { waitFor } from '../cluster/helpers.js';
import { startTestCluster, type TestCluster, type TestClusterOptions } from '../cluster/server.js';

export const OLD = 'registry.example.com/checkout:1.0.0';
export const NEW = 'registry.example.com/checkout:2.0.0';
/** Pods of this image stay ImagePullBackOff (test/cluster README, "Making a rollout fail"). */
export const BROKEN = 'registry.example.com/checkout:2.0.0-fail-rollout';

export interface Harness {
  cluster: TestCluster;
  client: KubeClient;
  close(): Promise<void>;
}

export async function startHarness(options: TestClusterOptions = {}): Promise<Harness> {
  const cluster = await startTestCluster({ podReadyDelayMs: 5, progressDeadlineMs: 400, ...options });
  const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry: { baseDelayMs: 10, maxDelayMs: 100 } });
  return { cluster, client, close: () => cluster.stop() };
}

// The in-process context of a flow run is blue-green's: the same runner facts, reporter and step state.
export { type TestContext, testContext };

export function inputs(raw: Record<string, string>): RollingInputs {
  return parseInputs(rollingSpec, { 'lock-timeout': '2s', ...raw });
}

export interface Outcome {
  outputs: FlowOutputs;
  failure?: FlowFailure;
  context: TestContext;
  /** Every log line and summary, as one text. */
  text: string;
}

/** Runs the flow in-process; a FlowFailure is returned (with its outputs), any other error is thrown. */
export async function roll(
  h: Harness,
  raw: Record<string, string>,
  runId: string,
  options: RollingOptions & { context?: TestContext } = {},
): Promise<Outcome> {
  const context = options.context ?? testContext(runId);
  try {
    const outputs = await runRolling(inputs(raw), context, { client: h.client, env: {}, ...options });
    return { outputs, context, text: context.reporter.text() };
  } catch (error) {
    if (error instanceof FlowFailure) return { outputs: error.outputs, failure: error, context, text: context.reporter.text() };
    throw error;
  }
}

/** A clock the analysis runs on: `sleep` moves it forward at once, so minutes of analysis take milliseconds. */
export function fakeClock(startMs: number): Clock {
  let now = startMs;
  return {
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      now += ms;
      await new Promise((r) => setImmediate(r));
    },
  };
}

/** A RollingUpdate Deployment (the API server's default strategy) in `namespace`, its pods labelled app=<name>. */
export function deploymentObject(
  namespace: string,
  name: string,
  o: { image?: string; replicas?: number; strategy?: 'RollingUpdate' | 'Recreate'; sidecar?: boolean } = {},
): object {
  const containers = [{ name: 'app', image: o.image ?? OLD, ports: [{ containerPort: 8080 }] }];
  if (o.sidecar) containers.push({ name: 'proxy', image: 'registry.example.com/proxy:1.0.0', ports: [{ containerPort: 15001 }] });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: name } },
      ...(o.strategy ? { strategy: { type: o.strategy } } : {}),
      template: { metadata: { labels: { app: name } }, spec: { containers } },
    },
  };
}

/** Applies the Deployment and waits until its controller has rolled it out. */
export async function deployed(h: Harness, namespace: string, name: string, o: Parameters<typeof deploymentObject>[2] = {}): Promise<void> {
  await h.cluster.apply([deploymentObject(namespace, name, o)]);
  await settled(h, namespace, name);
}

export function live(h: Harness, namespace: string, name: string): any {
  return h.cluster.get('apps/v1', 'Deployment', namespace, name);
}

export function imageOf(h: Harness, namespace: string, name: string, container = 'app'): string {
  return live(h, namespace, name).spec.template.spec.containers.find((c: { name: string }) => c.name === container).image;
}

export function revisionOf(h: Harness, namespace: string, name: string): string {
  return live(h, namespace, name).metadata.annotations?.['deployment.kubernetes.io/revision'];
}

/** The images of the Deployment's pods (all of them, whatever ReplicaSet), sorted. */
export function podImages(h: Harness, namespace: string, name: string): string[] {
  return h.cluster
    .list('v1', 'Pod', namespace)
    .filter((p: any) => p.metadata.labels?.app === name)
    .map((p: any) => p.spec.containers[0].image)
    .sort();
}

/** Waits until the controllers are done with the Deployment: every replica updated and available, no old one left. */
export async function settled(h: Harness, namespace: string, name: string): Promise<void> {
  await waitFor(
    () => {
      const d = live(h, namespace, name);
      const s = d?.status ?? {};
      const wanted = d?.spec.replicas;
      return (
        s.observedGeneration === d?.metadata.generation &&
        s.availableReplicas === wanted &&
        s.updatedReplicas === wanted &&
        s.replicas === wanted
      );
    },
    10_000,
    `Deployment ${namespace}/${name} to settle`,
  );
}

export async function journal(h: Harness, namespace: string, service: string): Promise<JournalEntry[]> {
  return new Journal(h.client, { namespace, service }).entries();
}

/** Requests that changed something (not GET, not the preflight's access reviews) since `since`, as `METHOD path`. */
export function writesSince(h: Harness, since: number, o: { leases?: boolean } = {}): string[] {
  return h.cluster.requests
    .slice(since)
    .filter((r) => r.method !== 'GET' && !r.path.endsWith('accessreviews') && (o.leases !== false || !r.path.includes('/leases')))
    .map((r) => `${r.method} ${r.path}`);
}
