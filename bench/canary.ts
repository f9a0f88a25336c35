/**
 * The canary flow against the test cluster and a real Prometheus, on the real clock:
 *  - our overhead per step: a promotion with 1 and with 9 `setWeight` steps (each followed by a
 *    zero-length pause, no analysis), Istio subsets; (time(9) - time(1)) / 8 and the same for
 *    Kubernetes API requests, medians over fresh namespaces;
 *  - from a breach becoming visible in Prometheus to canary weight 0: a background analysis
 *    measuring every 1 s (interval 1s, failureLimit 0) a gauge that jumps above its threshold at a
 *    known second; measured from that second to the moment the VirtualService routes 0% to the canary.
 */
import { stringify as stringifyYaml } from 'yaml';
import { runCanary, type CanaryInputs } from '../src/core/canary/index.js';
import { KubeClient } from '../src/core/kube/client.js';
import { canarySpec } from '../src/core/specs/canary.js';
import { parseInputs } from '../src/core/specs/spec.js';
import { startTestCluster, type TestCluster } from '../test/cluster/server.js';
import { gaugeSeries, startPrometheus, toOpenMetrics } from '../test/support/prometheus.js';
import { flowContext as context, meshObjects } from '../test/canary/harness.js';
import { median, type BenchRow } from './lib.js';

const RUNS = 5;
const INTERVAL = '1s';

function inputs(namespace: string, config: object, prometheus?: string): CanaryInputs {
  return parseInputs(canarySpec, {
    namespace,
    service: 'checkout',
    image: 'registry.example.com/checkout:2.0.0',
    config: stringifyYaml(config),
    'prometheus-address': prometheus,
    'rollout-timeout': '30s',
  }) as CanaryInputs;
}

const routing = { istio: { virtualService: 'checkout', route: 'primary' } };
const workloads = { stable: 'checkout', canary: 'checkout-canary' };

async function settle(cluster: TestCluster, ns: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((cluster.get('apps/v1', 'Deployment', ns, 'checkout')?.status?.readyReplicas ?? 0) >= 4) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function perStep(cluster: TestCluster, client: KubeClient): Promise<BenchRow[]> {
  let n = 0;
  const promote = async (weights: number[]) => {
    const ns = `step-${++n}`;
    await cluster.apply(meshObjects(ns));
    await settle(cluster, ns);
    const steps = weights.flatMap((w) => [{ setWeight: w }, { pause: { duration: '0s' } }]);
    const before = client.requestCount;
    const started = performance.now();
    const outputs = await runCanary(inputs(ns, { routing, workloads, steps }), context(`bench-${n}`), { client, env: {} });
    if (outputs.result !== 'promoted') throw new Error(`expected promoted, got ${String(outputs.result)}`);
    return { ms: performance.now() - started, requests: client.requestCount - before };
  };
  await promote([50]); // warm up
  const one: { ms: number; requests: number }[] = [];
  const nine: { ms: number; requests: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    one.push(await promote([50]));
    nine.push(await promote([10, 20, 30, 40, 50, 60, 70, 80, 90]));
  }
  const stepMs = median(nine.map((r, i) => (r.ms - one[i]!.ms) / 8));
  const stepRequests = median(nine.map((r, i) => (r.requests - one[i]!.requests) / 8));
  return [
    {
      area: 'canary',
      name: 'promotion, 1 setWeight step (Istio subsets, incl. canary + stable rollouts)',
      median: median(one.map((r) => r.ms)),
      unit: 'ms',
      runs: RUNS,
      note: `${median(one.map((r) => r.requests))} API requests`,
    },
    {
      area: 'canary',
      name: 'overhead per step (setWeight + zero pause)',
      median: stepMs,
      unit: 'ms',
      runs: RUNS,
      note: `${stepRequests} API requests per step`,
    },
  ];
}

async function breachToZero(cluster: TestCluster, client: KubeClient): Promise<BenchRow[]> {
  const startS = Math.floor(Date.now() / 1000);
  const firstBreach = startS + 25;
  const breachAt = (i: number) => firstBreach + i * 8;
  const prom = await startPrometheus({
    openMetrics: toOpenMetrics(
      ...Array.from({ length: RUNS }, (_, i) =>
        gaugeSeries('canary_error_ratio', { service: `svc-${i}` }, startS - 600, startS + 600, 1, (t) => (t >= breachAt(i) ? 0.05 : 0.001)),
      ),
    ),
  });
  try {
    const delays: number[] = [];
    const requests: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const ns = `breach-${i}`;
      await cluster.apply(meshObjects(ns));
      await settle(cluster, ns);
      const wait = breachAt(i) * 1000 - 4000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const config = {
        routing,
        workloads,
        templates: {
          trigger: {
            metrics: [
              {
                name: 'error-ratio',
                interval: INTERVAL,
                successCondition: 'result[0] <= 0.02',
                provider: { prometheus: { query: `max(canary_error_ratio{service="svc-${i}"})` } },
              },
            ],
          },
        },
        steps: [{ setWeight: 10 }, { pause: { duration: '1h' } }],
        analysis: { templates: [{ templateName: 'trigger' }] },
      };
      let zeroAt: number | undefined;
      let sawCanary = false;
      const watch = setInterval(() => {
        const w = cluster.get('networking.istio.io/v1', 'VirtualService', ns, 'checkout').spec.http[0].route[1].weight;
        if (w > 0) sawCanary = true;
        if (sawCanary && w === 0 && zeroAt === undefined) zeroAt = Date.now();
      }, 1);
      const before = client.requestCount;
      const outputs = await runCanary(inputs(ns, config, prom.url), context(`breach-${i}`), { client, env: {} }).catch(
        (e: { outputs?: Record<string, unknown> }) => e.outputs,
      );
      clearInterval(watch);
      if (outputs?.result !== 'aborted' || zeroAt === undefined)
        throw new Error(`run ${i}: expected an abort, got ${String(outputs?.result)}`);
      delays.push(zeroAt - breachAt(i) * 1000);
      requests.push(client.requestCount - before);
    }
    return [
      {
        area: 'canary',
        name: `breach visible in Prometheus -> canary weight 0 (background interval ${INTERVAL})`,
        median: median(delays),
        unit: 'ms',
        runs: RUNS,
        note: `min ${Math.round(Math.min(...delays))} ms, max ${Math.round(Math.max(...delays))} ms; ${median(requests)} API requests per run`,
      },
    ];
  } finally {
    await prom.stop();
  }
}

export async function run(): Promise<BenchRow[]> {
  const cluster = await startTestCluster({ podReadyDelayMs: 5 });
  try {
    const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig });
    return [...(await perStep(cluster, client)), ...(await breachToZero(cluster, client))];
  } finally {
    await cluster.stop();
  }
}
