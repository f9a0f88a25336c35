import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { deployment, waitFor } from '../cluster/helpers.js';
import { runBlueGreen, type BlueGreenOptions } from '../../src/core/blue-green/flow.js';
import type { Clock } from '../../src/core/metrics/clock.js';
import { type FlowContext, type FlowOutputs, FlowFailure } from '../../src/core/flow.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { Journal, type JournalEntry } from '../../src/core/kube/journal.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { Secrets } from '../../src/core/secrets.js';
import { blueGreenSpec } from '../../src/core/specs/blue-green.js';
import { parseInputs, type ParsedInputs } from '../../src/core/specs/spec.js';

/** A test cluster, two clients on it (ours and "another writer"), and helpers to run the flow as the action does. */
export interface BlueGreenHarness {
  cluster: TestCluster;
  client: KubeClient;
  other: KubeClient;
  close(): Promise<void>;
}

export async function startBlueGreenHarness(): Promise<BlueGreenHarness> {
  const cluster = await startTestCluster({ podReadyDelayMs: 5, progressDeadlineMs: 400 });
  const retry = { baseDelayMs: 10, maxDelayMs: 100 };
  const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry });
  const other = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry });
  return { cluster, client, other, close: () => cluster.stop() };
}

export type Inputs = ParsedInputs<typeof blueGreenSpec>;

export function inputs(raw: Record<string, string>): Inputs {
  return parseInputs(blueGreenSpec, { 'lock-timeout': '2s', ...raw });
}

/** A clock the analysis runs on: `sleep` moves it forward at once, so minutes of analysis take milliseconds. */
export function fakeClock(startMs: number): Clock & { elapsed(): number } {
  let now = startMs;
  return {
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      now += ms;
      await new Promise((r) => setImmediate(r));
    },
    elapsed: () => now - startMs,
  };
}

export interface TestContext extends FlowContext {
  reporter: MemoryReporter;
  controller: AbortController;
  stateMap: Map<string, string>;
}

export function testContext(runId: string): TestContext {
  const controller = new AbortController();
  const stateMap = new Map<string, string>();
  return {
    reporter: new MemoryReporter(),
    secrets: new Secrets(),
    runId,
    signal: controller.signal,
    controller,
    stateMap,
    state: { get: (key) => stateMap.get(key) ?? '', set: (key, value) => void stateMap.set(key, value) },
    run: {
      serverUrl: 'https://github.com',
      repository: 'shop/checkout',
      runId,
      runAttempt: '1',
      actor: 'octocat',
      sha: 'abc123',
      ref: 'refs/heads/main',
      runUrl: '',
    },
  };
}

export interface Outcome {
  outputs: FlowOutputs;
  failure?: FlowFailure;
  context: TestContext;
}

/** Runs the flow; a FlowFailure is returned (with its outputs), any other error is thrown. */
export async function runFlow(
  h: BlueGreenHarness,
  raw: Record<string, string>,
  runId: string,
  options: BlueGreenOptions & { context?: TestContext } = {},
): Promise<Outcome> {
  const context = options.context ?? testContext(runId);
  try {
    const outputs = await runBlueGreen(inputs(raw), context, { client: h.client, ...options });
    return { outputs, context };
  } catch (error) {
    if (error instanceof FlowFailure) return { outputs: error.outputs, failure: error, context };
    throw error;
  }
}

export async function journal(h: BlueGreenHarness, namespace: string, service: string): Promise<JournalEntry[]> {
  return new Journal(h.client, { namespace, service }).entries();
}

// ---------------------------------------------------------------------------------------------
// Fixtures: the seed's layout, each color a Deployment in its own namespace, one router in `shop`.

export const hostOf = (service: string, color: string) => `${service}-${color}.shop-${color}.svc.cluster.local`;

export function colorDeployments(service: string, image = 'registry.example.com/app:1.0.0', replicas = 2): object[] {
  return ['blue', 'green'].map((color) => {
    const d = deployment(service, image, replicas);
    d.metadata.namespace = `shop-${color}`;
    return d;
  });
}

/** A VirtualService whose route "primary" sends `blueWeight`% to the blue host and the rest to green, with retries and a timeout. */
export function hostsVirtualService(service: string, blueWeight = 100): object {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: service, namespace: 'shop' },
    spec: {
      hosts: [`${service}.example.com`],
      http: [
        {
          name: 'primary',
          route: [
            { destination: { host: hostOf(service, 'blue'), port: { number: 80 } }, weight: blueWeight },
            { destination: { host: hostOf(service, 'green'), port: { number: 80 } }, weight: 100 - blueWeight },
          ],
          timeout: '30s',
          retries: { attempts: 3, perTryTimeout: '10s', retryOn: '5xx,reset' },
        },
      ],
    },
  };
}

/** Inputs for the hosts layout. */
export function hostsInputs(service: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    namespace: 'shop',
    service,
    router: 'istio',
    'route-rule': 'primary',
    blue: hostOf(service, 'blue'),
    green: hostOf(service, 'green'),
    'blue-workload': `shop-blue/${service}`,
    'green-workload': `shop-green/${service}`,
    ...extra,
  };
}

export function liveVirtualService(h: BlueGreenHarness, service: string): any {
  return h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', service);
}

/** Weights of the primary route as `{ blue, green }`. */
export function liveHostWeights(h: BlueGreenHarness, service: string): { blue: number; green: number } {
  const route = liveVirtualService(h, service).spec.http[0].route as { destination: { host: string }; weight: number }[];
  const weightOf = (color: string) => route.find((r) => r.destination.host === hostOf(service, color))!.weight;
  return { blue: weightOf('blue'), green: weightOf('green') };
}

/** Requests that changed something (anything but GET/LIST/WATCH), as `METHOD path`, optionally only under `pathPart`. */
export function writes(h: BlueGreenHarness, pathPart = ''): string[] {
  return h.cluster.requests
    .filter((r) => r.method !== 'GET' && !r.path.endsWith('accessreviews') && r.path.includes(pathPart))
    .map((r) => `${r.method} ${r.path}`);
}

export const vsPath = (service: string) => `/apis/networking.istio.io/v1/namespaces/shop/virtualservices/${service}`;

/** Waits until the test cluster's controllers have finished with these Deployments (their status stops changing). */
export async function settled(h: BlueGreenHarness, ...deployments: [namespace: string, name: string][]): Promise<void> {
  for (const [namespace, name] of deployments) {
    await waitFor(
      () => {
        const d = h.cluster.get('apps/v1', 'Deployment', namespace, name);
        const s = d?.status ?? {};
        return (
          s.observedGeneration === d?.metadata.generation &&
          s.availableReplicas === d?.spec.replicas &&
          s.updatedReplicas === d?.spec.replicas &&
          s.replicas === d?.spec.replicas
        );
      },
      5000,
      `Deployment ${namespace}/${name} to settle`,
    );
  }
}
