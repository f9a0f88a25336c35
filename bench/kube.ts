/**
 * The Kubernetes layer against the test cluster: API requests and median wall time for one weight
 * change (read + write) on each router, and for waiting on a Deployment rollout that becomes ready.
 */
import { startTestCluster } from '../test/cluster/server.js';
import { KubeClient } from '../src/core/kube/client.js';
import { setDeploymentImage, waitForDeploymentRollout } from '../src/core/kube/deployment.js';
import { IstioVirtualServiceRouter } from '../src/core/kube/routers/istio-virtual-service.js';
import { HttpRouteRouter } from '../src/core/kube/routers/gateway-httproute.js';
import { ServiceSelectorRouter } from '../src/core/kube/routers/service-selector.js';
import { ReplicaRatioRouter } from '../src/core/kube/routers/replica-ratio.js';
import { ArgoRolloutRouter } from '../src/core/kube/routers/argo-rollout.js';
import type { TrafficRouter } from '../src/core/kube/routers/router.js';
import { splitWeights } from '../src/core/kube/weights.js';
import { median, timeRuns, type BenchRow } from './lib.js';

const RUNS = 15;
const POD_READY_DELAY_MS = 20;

export async function run(): Promise<BenchRow[]> {
  const cluster = await startTestCluster({ podReadyDelayMs: POD_READY_DELAY_MS });
  try {
    const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig });
    await cluster.apply(fixtures());
    const routers: [string, TrafficRouter, number[]][] = [
      [
        'istio hosts',
        new IstioVirtualServiceRouter(client, { namespace: 'shop', name: 'hosts', destinations: ['blue', 'green'] }),
        [10, 90],
      ],
      [
        'istio subsets',
        new IstioVirtualServiceRouter(client, { namespace: 'shop', name: 'subsets', destinations: ['stable', 'canary'] }),
        [10, 90],
      ],
      ['gateway httproute', new HttpRouteRouter(client, { namespace: 'shop', name: 'route', destinations: ['blue', 'green'] }), [10, 90]],
      [
        'service selector',
        new ServiceSelectorRouter(client, { namespace: 'shop', name: 'svc', label: 'color', destinations: ['blue', 'green'] }),
        [0, 100],
      ],
      [
        'replica ratio',
        new ReplicaRatioRouter(client, { namespace: 'shop', stable: 'stable', canary: 'canary', totalReplicas: 4 }),
        [25, 75],
      ],
    ];
    const rows: BenchRow[] = [];
    for (const [name, router, weights] of routers) {
      let turn = 0;
      const counts: number[] = [];
      const once = async () => {
        const before = client.requestCount;
        await router.read();
        await router.write(splitWeights(router.destinations, weights[turn++ % weights.length]!));
        counts.push(client.requestCount - before);
      };
      const times = await timeRuns(RUNS, once);
      rows.push({
        area: 'kube',
        name: `weight change (read + write): ${name}`,
        median: median(times),
        unit: 'ms',
        runs: RUNS,
        note: `${median(counts.slice(1))} API requests`,
      });
    }

    // Argo: each change waits for the controller; alternate abort (0%) and retry back to the first pause (25%).
    const argo = new ArgoRolloutRouter(client, { namespace: 'shop', name: 'ro' });
    await argo.rollout.waitFor('healthy', { timeoutMs: 20_000 });
    await argo.rollout.setImage('app:2');
    await argo.rollout.waitFor('paused', { timeoutMs: 20_000 });
    const argoCounts: number[] = [];
    const argoTimes = await timeRuns(RUNS, async () => {
      const before = client.requestCount;
      await argo.read();
      await argo.write({ stable: 100, canary: 0 });
      argoCounts.push(client.requestCount - before);
      await argo.rollout.retry();
      await argo.rollout.waitFor('paused', { timeoutMs: 20_000 });
    });
    rows.push({
      area: 'kube',
      name: 'weight change (read + abort to 0%, then retry): argo rollout',
      median: median(argoTimes),
      unit: 'ms',
      runs: RUNS,
      note: `${median(argoCounts)} API requests for read + write (the write waits for the controller over a watch); time includes the retry`,
    });

    // A Deployment rollout of 3 replicas that becomes ready (pods Ready after POD_READY_DELAY_MS).
    let image = 0;
    const rolloutCounts: number[] = [];
    const rolloutTimes = await timeRuns(RUNS, async () => {
      const before = client.requestCount;
      await setDeploymentImage(client, { namespace: 'shop', name: 'web', image: `web:${++image}` });
      await waitForDeploymentRollout(client, { namespace: 'shop', name: 'web' }, { timeoutMs: 30_000 });
      rolloutCounts.push(client.requestCount - before);
    });
    rows.push({
      area: 'kube',
      name: 'set image + wait for rollout (3 replicas)',
      median: median(rolloutTimes),
      unit: 'ms',
      runs: RUNS,
      note: `${median(rolloutCounts)} API requests; pod ready delay ${POD_READY_DELAY_MS} ms`,
    });
    return rows;
  } finally {
    await cluster.stop();
  }
}

function fixtures(): object[] {
  const vs = (name: string, route: object[]) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'shop' },
    spec: { hosts: [name], http: [{ route }] },
  });
  const deployment = (name: string, replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    },
  });
  return [
    vs('hosts', [
      { destination: { host: 'blue' }, weight: 100 },
      { destination: { host: 'green' }, weight: 0 },
    ]),
    vs('subsets', [
      { destination: { host: 'subsets', subset: 'stable' }, weight: 100 },
      { destination: { host: 'subsets', subset: 'canary' }, weight: 0 },
    ]),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'subsets', namespace: 'shop' },
      spec: { host: 'subsets', subsets: [{ name: 'stable' }, { name: 'canary' }] },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'route', namespace: 'shop' },
      spec: {
        rules: [
          {
            backendRefs: [
              { name: 'blue', port: 80, weight: 100 },
              { name: 'green', port: 80, weight: 0 },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'svc', namespace: 'shop' },
      spec: { selector: { app: 'svc', color: 'blue' }, ports: [{ port: 80 }] },
    },
    deployment('stable', 4),
    deployment('canary', 0),
    deployment('web', 3),
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'ro', namespace: 'shop' },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'ro' } },
        template: { metadata: { labels: { app: 'ro' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
        strategy: { canary: { steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }] } },
      },
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((rows) => console.table(rows));
}
