import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { runCanary, type CanaryInputs } from '../../src/core/canary/index.js';
import type { Clock } from '../../src/core/metrics/clock.js';
import { runInfoFromEnv, type FlowContext, type FlowOutputs, FlowFailure } from '../../src/core/flow.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { Secrets } from '../../src/core/secrets.js';
import { canarySpec } from '../../src/core/specs/canary.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { sleepMs } from '../../src/core/retry.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { FIXED_DAY, httpTraffic, startPrometheus, toOpenMetrics, type PrometheusServer } from '../support/prometheus.js';

/**
 * The canary against the test API server and a real Prometheus holding a fixed day of traffic.
 * Time for pauses and analyses is a scaled clock: it starts at T0 (FIXED_DAY + 1 h) and runs
 * 1000 times faster than the wall clock, so a 10-minute pause takes 0.6 s and the background
 * analysis measures while a pause holds, as it would in production. The data is constant for
 * minutes around every evaluation time, so each verdict is known.
 *
 * Services in the data (label version="canary"):
 *  - checkout: healthy, 0.1% errors throughout;
 *  - payments: 0.1% errors until T0 + 6 min, then 8%;
 *  - search:   0.1% errors until T0 + 10 min, then 5%;
 */
export const T0 = FIXED_DAY + 3600;
export const SCALE = 1000;

export function scaledClock(startSeconds = T0, scale = SCALE): Clock {
  const realStart = performance.now();
  return {
    now: () => Math.round(startSeconds * 1000 + (performance.now() - realStart) * scale),
    sleep: (ms, signal) => sleepMs(ms / scale, signal),
  };
}

export async function startCanaryPrometheus(): Promise<PrometheusServer> {
  const span = { from: FIXED_DAY, to: FIXED_DAY + 4 * 3600, stepSeconds: 15, rps: 20, version: 'canary' };
  return startPrometheus({
    openMetrics: toOpenMetrics(
      httpTraffic({ ...span, service: 'checkout', errorRatio: () => 0.001 }),
      httpTraffic({ ...span, service: 'payments', errorRatio: (t) => (t > T0 + 6 * 60 ? 0.08 : 0.001) }),
      httpTraffic({ ...span, service: 'search', errorRatio: (t) => (t > T0 + 10 * 60 ? 0.05 : 0.001) }),
    ),
  });
}

const ERROR_RATIO =
  'sum(rate(http_requests_total{service="{{args.service}}",version="canary",code="500"}[2m])) / sum(rate(http_requests_total{service="{{args.service}}",version="canary"}[2m]))';

/** Metric templates in the validate action's format: a gate, and the seeds' "error rate above 2% for 2 minutes" trigger. */
export const TEMPLATES = {
  'error-rate': {
    kind: 'AnalysisTemplate',
    spec: {
      args: [{ name: 'service' }],
      metrics: [{ name: 'error-rate', successCondition: 'result[0] < 0.01', provider: { prometheus: { query: ERROR_RATIO } } }],
    },
  },
  'error-trigger': {
    args: [{ name: 'service' }],
    metrics: [
      {
        name: 'error-rate-2m',
        interval: '30s',
        successCondition: 'result[0] <= 0.02',
        provider: { prometheus: { query: `min_over_time((${ERROR_RATIO})[2m:15s])` } },
      },
    ],
  },
};

export const ISTIO_ROUTING = { istio: { virtualService: 'checkout', route: 'primary' } };
export const WORKLOADS = { stable: 'checkout', canary: 'checkout-canary' };

/** An analysis step: the error-rate gate for `service`. */
export const gate = (service: string) => ({
  analysis: { templates: [{ templateName: 'error-rate' }], args: [{ name: 'service', value: service }] },
});

/** A config with the seeds' shape: 10% -> 25% -> 50% -> 75%, a gate after 10% (on `service`) and after 25% (on `service25`). */
export function config(service: string, overrides: Record<string, unknown> = {}, service25 = service): Record<string, unknown> {
  return {
    routing: ISTIO_ROUTING,
    workloads: WORKLOADS,
    templates: TEMPLATES,
    steps: [
      { setWeight: 10 },
      { pause: { duration: '2m' } },
      gate(service),
      { setWeight: 25 },
      { pause: { duration: '5m' } },
      gate(service25),
      { setWeight: 50 },
      { pause: { duration: '1m' } },
      { setWeight: 75 },
    ],
    ...overrides,
  };
}

export const STABLE_IMAGE = 'registry.example.com/checkout:1.0.0';
export const CANARY_IMAGE = 'registry.example.com/checkout:1.1.0';

export function deploymentObject(namespace: string, name: string, track: string, replicas: number, image = STABLE_IMAGE) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: 'checkout', track } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'checkout', track } },
      template: {
        metadata: { labels: { app: 'checkout', track } },
        spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

/** The stable and canary Deployments, an Istio VirtualService with stable/canary subsets and its DestinationRule, a Gateway API HTTPRoute. */
export function meshObjects(namespace: string): object[] {
  return [
    deploymentObject(namespace, 'checkout', 'stable', 4),
    deploymentObject(namespace, 'checkout-canary', 'canary', 0),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'checkout', namespace },
      spec: {
        hosts: ['checkout'],
        http: [
          {
            name: 'primary',
            route: [
              { destination: { host: 'checkout', subset: 'stable' }, weight: 100 },
              { destination: { host: 'checkout', subset: 'canary' }, weight: 0 },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'checkout', namespace },
      spec: {
        host: 'checkout',
        subsets: [
          { name: 'stable', labels: { track: 'stable' } },
          { name: 'canary', labels: { track: 'canary' } },
        ],
      },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'checkout', namespace },
      spec: {
        parentRefs: [{ name: 'public' }],
        rules: [
          {
            name: 'main',
            backendRefs: [
              { name: 'checkout-stable', port: 8080, weight: 100 },
              { name: 'checkout-canary', port: 8080, weight: 0 },
            ],
          },
        ],
      },
    },
  ];
}

export interface Harness {
  cluster: TestCluster;
  prom: PrometheusServer;
  client: KubeClient;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const [cluster, prom] = await Promise.all([startTestCluster({ podReadyDelayMs: 5, progressDeadlineMs: 1500 }), startCanaryPrometheus()]);
  const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry: { baseDelayMs: 10, maxDelayMs: 100 } });
  return {
    cluster,
    prom,
    client,
    stop: async () => {
      await Promise.all([cluster.stop(), prom.stop()]);
    },
  };
}

export interface RunResult {
  outputs: FlowOutputs;
  error?: Error;
  reporter: MemoryReporter;
  context: FlowContext;
}

export function flowContext(runId: string): FlowContext {
  const state = new Map<string, string>();
  return {
    reporter: new MemoryReporter(),
    secrets: new Secrets(),
    runId,
    signal: new AbortController().signal,
    state: { get: (key) => state.get(key) ?? '', set: (key, value) => void state.set(key, value) },
    run: runInfoFromEnv({}),
  };
}

/** Runs the canary flow in-process as the action would (inputs parsed from strings), catching FlowFailure. */
export async function runCanaryFlow(
  h: Harness,
  raw: Record<string, string | object | undefined>,
  options: { runId: string; clock?: Clock; context?: FlowContext } = { runId: 'run-1' },
): Promise<RunResult> {
  const strings: Record<string, string | undefined> = { 'prometheus-address': h.prom.url, 'lock-timeout': '5s', 'rollout-timeout': '20s' };
  for (const [key, value] of Object.entries(raw)) strings[key] = typeof value === 'object' ? stringifyYaml(value) : value;
  const inputs = parseInputs(canarySpec, strings) as CanaryInputs;
  const context = options.context ?? flowContext(options.runId);
  try {
    // One client per run with the run's reporter, as the action builds it: its warnings (another field manager owns what we write) reach the run.
    const client = KubeClient.fromKubeconfig({
      kubeconfig: h.cluster.kubeconfig,
      retry: { baseDelayMs: 10, maxDelayMs: 100 },
      reporter: context.reporter,
    });
    const outputs = await runCanary(inputs, context, { client, clock: options.clock ?? scaledClock(), env: {} });
    return { outputs, reporter: context.reporter as MemoryReporter, context };
  } catch (error) {
    if (error instanceof FlowFailure) return { outputs: error.outputs, error, reporter: context.reporter as MemoryReporter, context };
    throw error;
  }
}

/** Live weights of the VirtualService's primary route: [stable, canary]. */
export function istioWeights(cluster: TestCluster, namespace: string): number[] {
  const vs = cluster.get('networking.istio.io/v1', 'VirtualService', namespace, 'checkout');
  return vs.spec.http[0].route.map((r: { weight: number }) => r.weight);
}

export function deploymentOf(cluster: TestCluster, namespace: string, name: string): { replicas: number; image: string; ready: number } {
  const d = cluster.get('apps/v1', 'Deployment', namespace, name);
  return { replicas: d.spec.replicas, image: d.spec.template.spec.containers[0].image, ready: d.status?.readyReplicas ?? 0 };
}

/** The journal entries of a namespace's service, as the cluster holds them. */
export function journal(
  cluster: TestCluster,
  namespace: string,
  service = 'checkout',
): { step: string; runId: string; status: string; change: { kind: string } }[] {
  const cm = cluster.get('v1', 'ConfigMap', namespace, `pd-state-${service}`);
  return cm ? (parseYaml(cm.data['journal.yaml']) as never) : [];
}

export function canaryRecord(cluster: TestCluster, namespace: string, service = 'checkout'): Record<string, unknown> | undefined {
  const cm = cluster.get('v1', 'ConfigMap', namespace, `pd-canary-${service}`);
  return cm ? (parseYaml(cm.data['canary.yaml']) as Record<string, unknown>) : undefined;
}
