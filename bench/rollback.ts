/**
 * The rollback against the test cluster: time from its start until traffic is restored (the traffic
 * compensation written to the router), and until it is done (every entry marked, workloads rolled out), with the API requests it
 * took, after a blue-green switch and after a canary stopped at 50% (image, scale, three weights).
 */
import { KubeClient } from '../src/core/kube/client.js';
import { runRollback } from '../src/core/rollback/flow.js';
import { startTestCluster, type TestCluster } from '../test/cluster/server.js';
import {
  blueGreenFixtures,
  canaryFixtures,
  deliver,
  flowContext,
  journaledImage,
  journaledScale,
  journaledWeights,
  rollbackInputs,
  type Target,
} from '../test/rollback/harness.js';
import { median, type BenchRow } from './lib.js';

const RUNS = 10;
const POD_READY_DELAY_MS = 20;

interface Sample {
  trafficMs: number;
  totalMs: number;
  trafficRequests: number;
  totalRequests: number;
}

export async function run(): Promise<BenchRow[]> {
  const cluster = await startTestCluster({ podReadyDelayMs: POD_READY_DELAY_MS });
  try {
    const bg = { namespace: 'bench-bg', service: 'checkout' };
    const bgFixtures = blueGreenFixtures(bg);
    await cluster.apply(bgFixtures.objects);
    const blueGreen = await samples(cluster, bg, (i) =>
      deliver(cluster, bg, { runId: `run-bg-${i}`, strategy: 'blue-green' }, (s) =>
        journaledWeights(s, 'switch', bgFixtures.router, { [bgFixtures.blue]: 0, [bgFixtures.green]: 100 }),
      ),
    );

    const cn = { namespace: 'bench-canary', service: 'payments' };
    const cnFixtures = canaryFixtures(cn);
    await cluster.apply(cnFixtures.objects);
    const canary = await samples(cluster, cn, (i) =>
      deliver(cluster, cn, { runId: `run-canary-${i}`, strategy: 'canary' }, async (s) => {
        await journaledImage(s, cnFixtures.canary, `payments:${i + 2}.0`);
        await journaledScale(s, cnFixtures.canary, 1);
        for (const weight of [10, 25, 50])
          await journaledWeights(s, `traffic-${weight}`, cnFixtures.router, { stable: 100 - weight, canary: weight });
      }),
    );

    return [
      row('blue-green switch (Istio hosts): start to traffic restored', blueGreen, 'traffic'),
      row('canary at 50% (Istio subsets; image, scale, 3 weights): start to traffic restored', canary, 'traffic'),
      row('canary at 50%: start to done (scale and image undone, rollout waited for)', canary, 'total'),
    ];
  } finally {
    await cluster.stop();
  }
}

/** One unmeasured round, then RUNS rounds of: record a run, roll it back, measured. */
async function samples(cluster: TestCluster, target: Target, record: (i: number) => Promise<void>): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i <= RUNS; i++) {
    await record(i);
    const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig });
    const context = flowContext(`run-rollback-${target.service}-${i}`);
    let traffic: { at: number; requests: number } | undefined;
    const started = performance.now();
    const outputs = await runRollback(rollbackInputs(cluster, target), context, {
      client,
      onUndone: (action) => {
        if (action.layer === 'traffic' && !traffic) traffic = { at: performance.now(), requests: client.requestCount };
      },
    });
    const totalMs = performance.now() - started;
    if (outputs.result !== 'rolled-back' || !traffic) throw new Error(`rollback ${i} did not restore traffic: ${JSON.stringify(outputs)}`);
    if (i > 0)
      out.push({ trafficMs: traffic.at - started, totalMs, trafficRequests: traffic.requests, totalRequests: client.requestCount });
  }
  return out;
}

function row(name: string, s: Sample[], what: 'traffic' | 'total'): BenchRow {
  const ms = s.map((x) => (what === 'traffic' ? x.trafficMs : x.totalMs));
  const requests = median(s.map((x) => (what === 'traffic' ? x.trafficRequests : x.totalRequests)));
  return {
    area: 'rollback',
    name,
    median: median(ms),
    unit: 'ms',
    runs: s.length,
    note: `${requests} API requests (lock, journal, reads, writes); pod ready delay ${POD_READY_DELAY_MS} ms`,
  };
}
