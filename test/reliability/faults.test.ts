import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { runCanary, type CanaryInputs } from '../../src/core/canary/index.js';
import { FlowFailure, type FlowOutputs } from '../../src/core/flow.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { runRollback } from '../../src/core/rollback/flow.js';
import { runValidate } from '../../src/core/validate/flow.js';
import { canarySpec } from '../../src/core/specs/canary.js';
import { rollbackSpec } from '../../src/core/specs/rollback.js';
import { validateSpec } from '../../src/core/specs/validate.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import {
  colorDeployments,
  fakeClock,
  hostsInputs,
  hostsVirtualService,
  inputs as blueGreenInputs,
  testContext,
} from '../blue-green/harness.js';
import { runBlueGreen } from '../../src/core/blue-green/flow.js';
import { CANARY_IMAGE, ISTIO_ROUTING, WORKLOADS, meshObjects, scaledClock, flowContext } from '../canary/harness.js';
import { httpTraffic, startPrometheus, toOpenMetrics } from '../support/prometheus.js';
import { deploymentState, injectFaults, journalShape, leaseHolder, recordWeights, type WeightWrite } from './support.js';

/**
 * ~20 % of API requests fail (503, 429 with Retry-After, dropped connections; seeded), and each
 * flow still ends exactly where a clean run of it ends: same weights, images, replicas, journal
 * statuses, lock released. Every weight the server stored (seen by a watch) sums to 100.
 */

let cluster: TestCluster;
let client: KubeClient;
const injected: Record<string, number> = {};

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 5, progressDeadlineMs: 3000 });
  // The action's retry policy (5 attempts, full jitter, Retry-After honoured), with shorter waits.
  client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry: { baseDelayMs: 20, maxDelayMs: 200 } });
});
afterAll(async () => {
  console.log(`[reliability] faults injected: ${JSON.stringify(injected)}, total ${Object.values(injected).reduce((s, n) => s + n, 0)}`);
  await cluster?.stop();
});

function everyWeightSums100(writes: WeightWrite[]): void {
  expect(writes.length).toBeGreaterThan(0);
  for (const w of writes)
    for (const route of w.routes)
      expect(
        route.reduce((s, n) => s + n, 0),
        `${w.name}@${w.resourceVersion}: ${route}`,
      ).toBe(100);
}

/** The weights of the first split route, each change once (the watch sees other edits of the object too). */
function sequence(writes: WeightWrite[]): string[] {
  const out: string[] = [];
  for (const w of writes) {
    const text = w.routes[0]!.join('/');
    if (out.at(-1) !== text) out.push(text);
  }
  return out;
}

async function settle<T>(promise: Promise<T>): Promise<{ outputs: FlowOutputs; error?: unknown }> {
  try {
    return { outputs: (await promise) as FlowOutputs };
  } catch (error) {
    if (error instanceof FlowFailure) return { outputs: error.outputs, error };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Blue-green: deploy the idle color, 10 -> 50 -> 100, scale the old color down.

function blueGreenRaw(service: string): Record<string, string> {
  return hostsInputs(service, {
    image: 'registry.example.com/app:2.0.0',
    steps: '10,50,100',
    'scale-down-after': '0s',
    'rollout-timeout': '30s',
    'run-id': `bg-${service}`,
  });
}

async function blueGreenRun(service: string) {
  await cluster.apply([...colorDeployments(service), hostsVirtualService(service)]);
  const context = testContext(`bg-${service}`);
  const result = await settle(runBlueGreen(blueGreenInputs(blueGreenRaw(service)), context, { client, clock: fakeClock(Date.now()) }));
  return { ...result, context };
}

function blueGreenEnd(service: string) {
  const vs = cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', service);
  return {
    weights: vs.spec.http[0].route.map((r: { weight: number }) => r.weight),
    blue: deploymentState(cluster, 'shop-blue', service),
    green: deploymentState(cluster, 'shop-green', service),
    journal: journalShape(cluster, 'shop', service),
    lock: leaseHolder(cluster, 'shop', service),
  };
}

describe('blue-green under injected API failures', () => {
  test('ends as a clean run ends, every stored weight sums to 100', async () => {
    const clean = await blueGreenRun('bgclean');
    expect(clean.error).toBeUndefined();
    const expected = blueGreenEnd('bgclean');
    expect(expected.weights).toEqual([0, 100]);
    expect(expected.green).toEqual({ image: 'registry.example.com/app:2.0.0', replicas: 2 });
    expect(expected.blue!.replicas).toBe(0);

    const recorder = await recordWeights(cluster, 'shop');
    const faults = injectFaults(cluster, 12);
    let faulty: Awaited<ReturnType<typeof blueGreenRun>>;
    try {
      faulty = await blueGreenRun('bgfaulty');
    } finally {
      injected['blue-green'] = faults.injected().total;
      faults.remove();
      recorder.stop();
    }
    expect(faulty.error, String(faulty.error)).toBeUndefined();
    expect(faulty.outputs).toEqual(
      clean.outputs.result === 'switched' ? { ...clean.outputs, 'switched-at': faulty.outputs['switched-at'] } : clean.outputs,
    );
    expect(blueGreenEnd('bgfaulty')).toEqual(expected);
    expect(injected['blue-green']).toBeGreaterThanOrEqual(5);
    const mine = recorder.writes.filter((w) => w.name === 'bgfaulty');
    everyWeightSums100(mine);
    // 100/0 as created, then 90/10, 50/50, 0/100: no step written twice, none skipped.
    expect(sequence(mine)).toEqual(['100/0', '90/10', '50/50', '0/100']);
  });
});

// ---------------------------------------------------------------------------------------------
// Canary: image + scale-up, 10 % -> pause -> 50 % -> pause, promote.

const CANARY_CONFIG = {
  routing: ISTIO_ROUTING,
  workloads: WORKLOADS,
  steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: { duration: '1m' } }],
};

async function canaryRun(namespace: string) {
  await cluster.apply(meshObjects(namespace));
  const raw = {
    namespace,
    service: 'checkout',
    image: CANARY_IMAGE,
    config: stringifyYaml(CANARY_CONFIG),
    'run-id': `cn-${namespace}`,
    'lock-timeout': '5s',
    'rollout-timeout': '30s',
  };
  const context = flowContext(`cn-${namespace}`);
  return settle(runCanary(parseInputs(canarySpec, raw) as CanaryInputs, context, { client, clock: scaledClock(), env: {} }));
}

function canaryEnd(namespace: string) {
  const vs = cluster.get('networking.istio.io/v1', 'VirtualService', namespace, 'checkout');
  return {
    weights: vs.spec.http[0].route.map((r: { weight: number }) => r.weight),
    stable: deploymentState(cluster, namespace, 'checkout'),
    canary: deploymentState(cluster, namespace, 'checkout-canary'),
    journal: journalShape(cluster, namespace, 'checkout'),
    lock: leaseHolder(cluster, namespace, 'checkout'),
  };
}

describe('canary under injected API failures', () => {
  test('promotes to the same end state as a clean run, every stored weight sums to 100', async () => {
    const clean = await canaryRun('cnclean');
    expect(clean.error).toBeUndefined();
    const expected = canaryEnd('cnclean');
    expect(expected).toMatchObject({ weights: [100, 0], stable: { image: CANARY_IMAGE, replicas: 4 }, canary: { replicas: 0 } });

    const recorder = await recordWeights(cluster, 'cnfaulty');
    const faults = injectFaults(cluster, 7);
    let faulty: Awaited<ReturnType<typeof canaryRun>>;
    try {
      faulty = await canaryRun('cnfaulty');
    } finally {
      injected.canary = faults.injected().total;
      faults.remove();
      recorder.stop();
    }
    expect(faulty.error, String(faulty.error)).toBeUndefined();
    expect(faulty.outputs).toEqual(clean.outputs);
    expect(canaryEnd('cnfaulty')).toEqual(expected);
    expect(injected.canary).toBeGreaterThanOrEqual(5);
    everyWeightSums100(recorder.writes);
    expect(sequence(recorder.writes)).toEqual(['100/0', '90/10', '50/50', '100/0']);
  });
});

// ---------------------------------------------------------------------------------------------
// Rollback of a finished blue-green switch: traffic back, scale back up, image back.

async function rollbackRun(service: string) {
  const raw = {
    kubeconfig: cluster.kubeconfig,
    namespace: 'shop',
    service,
    'lock-timeout': '10s',
    'rollout-timeout': '30s',
    reason: 'reliability',
  };
  const context = testContext(`rb-${service}`);
  return settle(runRollback(parseInputs(rollbackSpec, raw), context, { client }));
}

describe('rollback under injected API failures', () => {
  test('undoes the switch to the same end state as a clean rollback', async () => {
    for (const service of ['rbclean', 'rbfaulty']) expect((await blueGreenRun(service)).error).toBeUndefined();
    const clean = await rollbackRun('rbclean');
    expect(clean.error).toBeUndefined();
    const expected = blueGreenEnd('rbclean');
    expect(expected).toMatchObject({
      weights: [100, 0],
      blue: { image: 'registry.example.com/app:1.0.0', replicas: 2 },
      green: { image: 'registry.example.com/app:1.0.0', replicas: 2 },
    });
    expect(expected.journal.every((e) => e.endsWith(':compensated'))).toBe(true);

    const recorder = await recordWeights(cluster, 'shop');
    const faults = injectFaults(cluster, 99);
    let faulty: Awaited<ReturnType<typeof rollbackRun>>;
    try {
      faulty = await rollbackRun('rbfaulty');
    } finally {
      injected.rollback = faults.injected().total;
      faults.remove();
      recorder.stop();
    }
    expect(faulty.error, String(faulty.error)).toBeUndefined();
    expect(faulty.outputs.result).toBe(clean.outputs.result);
    expect((faulty.outputs.actions as unknown[]).length).toBe((clean.outputs.actions as unknown[]).length);
    expect(blueGreenEnd('rbfaulty')).toEqual(expected);
    expect(injected.rollback).toBeGreaterThanOrEqual(3);
    everyWeightSums100(recorder.writes.filter((w) => w.name === 'rbfaulty'));
  });
});

// ---------------------------------------------------------------------------------------------
// Validate with Prometheus stopped: never a pass.

describe('validate with Prometheus gone', () => {
  test('a stopped Prometheus fails the step (never a pass), naming the error', async () => {
    const now = Math.floor(Date.now() / 1000 / 15) * 15;
    const prom = await startPrometheus({
      openMetrics: toOpenMetrics(
        httpTraffic({ service: 'checkout', from: now - 1800, to: now + 600, stepSeconds: 15, rps: 20, errorRatio: () => 0.001 }),
      ),
    });
    const metrics = `metrics: [{ name: errors, consecutiveErrorLimit: 0, successCondition: "result[0] < 0.01", provider: { prometheus: { query: 'sum(rate(http_requests_total{service="checkout",code="500"}[2m])) / sum(rate(http_requests_total{service="checkout"}[2m]))' } } }]`;
    const inputs = parseInputs(validateSpec, { metrics, 'prometheus-address': prom.url });
    const up = await settle(runValidate(inputs, flowContext('v-up'), {}));
    expect(up.outputs.result).toBe('Successful');
    await prom.stop();
    const down = await settle(runValidate(inputs, flowContext('v-down'), {}));
    expect(down.error).toBeInstanceOf(FlowFailure);
    expect(['Error', 'Inconclusive', 'Failed']).toContain(down.outputs.result);
    expect((down.error as Error).message).toMatch(/^Metric validation (Error|Inconclusive|Failed)/);
  });
});
