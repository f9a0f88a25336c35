import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { blueGreenFlow } from '../../src/core/blue-green/flow.js';
import { compensate } from '../../src/core/delivery/compensate.js';
import { Journal } from '../../src/core/kube/journal.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { httpTraffic, startPrometheus, toOpenMetrics, type PrometheusServer } from '../support/prometheus.js';
import { waitFor } from '../cluster/helpers.js';
import {
  colorDeployments,
  hostsInputs,
  hostsVirtualService,
  inputs,
  liveHostWeights,
  startBlueGreenHarness,
  testContext,
  type BlueGreenHarness,
} from './harness.js';

/**
 * A run whose process is killed (SIGKILL: no cleanup of its own) after its first weight step:
 * what it recorded is enough to put traffic back exactly, by `compensate` or by the post step.
 * The child runs on the real clock, so the Prometheus data lies around the present.
 */

let h: BlueGreenHarness;
let prom: PrometheusServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000 / 15) * 15;
  [h, prom] = await Promise.all([
    startBlueGreenHarness(),
    startPrometheus({
      openMetrics: toOpenMetrics(
        httpTraffic({
          service: 'live',
          version: 'green',
          from: now - 1800,
          to: now + 600,
          stepSeconds: 15,
          rps: 20,
          errorRatio: () => 0.001,
        }),
      ),
    }),
  ]);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all([h?.close(), prom?.stop()]);
});

/** Starts the switch in its own process: steps 10, 50, 100, with an analysis at 10 % that keeps measuring (every second, 1000 times). */
function startSwitch(service: string, runId: string): { child: ChildProcess; log: () => string } {
  const raw = hostsInputs(service, {
    steps: '10,50,100',
    'pre-switch-analysis': 'false',
    analysis: `metrics: [{ name: errors, interval: 1s, count: 1000, successCondition: "result[0] < 0.05", provider: { prometheus: { query: 'sum(rate(http_requests_total{service="live",version="{{args.color}}",code="500"}[2m])) / sum(rate(http_requests_total{service="live",version="{{args.color}}"}[2m]))' } } }]`,
    'prometheus-address': prom.url,
    'run-id': runId,
  });
  const argv = Object.entries(raw).flatMap(([name, value]) => [`--${name}`, value]);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/blue-green/run-cli.ts', 'blue-green', ...argv], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PD_KUBECONFIG: h.cluster.kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  children.push(child);
  return { child, log: () => log };
}

/** Kills the child once the journal ConfigMap says its first weight step is applied. */
async function killAfterFirstStep({ child, log }: { child: ChildProcess; log: () => string }, service: string): Promise<ChildProcess> {
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the switch ended before it could be killed: ${log()}`);
      const journal = h.cluster.get('v1', 'ConfigMap', 'shop', `pd-state-${service}`)?.data?.['journal.yaml'] ?? '';
      return /step: traffic-10\n(.*\n)*?\s*status: applied/.test(journal);
    },
    30_000,
    'the first weight step to be applied',
  );
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  return child;
}

test('killed after its first step, the run is undone exactly by compensating its journal entries', async () => {
  await h.cluster.apply([...colorDeployments('killed'), hostsVirtualService('killed')]);
  const child = await killAfterFirstStep(startSwitch('killed', 'run-kill-1'), 'killed');
  expect(child.signalCode).toBe('SIGKILL');
  expect(liveHostWeights(h, 'killed')).toEqual({ blue: 90, green: 10 });
  expect(h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-killed').spec.holderIdentity).toBe('run-kill-1');

  const journal = new Journal(h.client, { namespace: 'shop', service: 'killed' });
  const reporter = new MemoryReporter();
  for (const entry of await journal.compensations('run-kill-1')) {
    await compensate(h.client, entry, { reporter });
    await journal.markCompensated(entry.id);
  }
  expect(liveHostWeights(h, 'killed')).toEqual({ blue: 100, green: 0 });
  expect((await journal.entries()).map((e) => [e.step, e.status])).toEqual([['traffic-10', 'compensated']]);
});

test("killed after its first step, the run's post step puts traffic back and releases the lock", async () => {
  await h.cluster.apply([...colorDeployments('killed2'), hostsVirtualService('killed2')]);
  await killAfterFirstStep(startSwitch('killed2', 'run-kill-2'), 'killed2');
  expect(liveHostWeights(h, 'killed2')).toEqual({ blue: 90, green: 10 });

  // The post step of the killed run: same run id, and no word from main that it finished.
  const context = testContext('run-kill-2');
  // What the killed main step had saved for its post step (the runner keeps a step's state file): it held the lock.
  context.state.set('delivery-started', 'true');
  await blueGreenFlow.post!(inputs({ ...hostsInputs('killed2'), kubeconfig: h.cluster.kubeconfig }), context);
  expect(liveHostWeights(h, 'killed2')).toEqual({ blue: 100, green: 0 });
  expect(h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-killed2').spec.holderIdentity ?? undefined).toBeUndefined();
  expect(context.reporter.messages('warn').join('\n')).toContain('The run did not finish: undoing traffic-10');
});
