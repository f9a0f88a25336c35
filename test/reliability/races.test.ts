import { stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runBlueGreen } from '../../src/core/blue-green/flow.js';
import { runCanary, type CanaryInputs } from '../../src/core/canary/index.js';
import { FlowFailure, type FlowOutputs } from '../../src/core/flow.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { runRollback } from '../../src/core/rollback/flow.js';
import { canarySpec } from '../../src/core/specs/canary.js';
import { rollbackSpec } from '../../src/core/specs/rollback.js';
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
import {
  CANARY_IMAGE,
  ISTIO_ROUTING,
  STABLE_IMAGE,
  WORKLOADS,
  canaryRecord,
  flowContext,
  meshObjects,
  scaledClock,
} from '../canary/harness.js';
import { deploymentState, journalOf, leaseHolder, recordWeights, until } from './support.js';

/** Two runs on one service, a rollback racing a canary, an outside edit between our read and our write. */

let cluster: TestCluster;
const clients: KubeClient[] = [];
let races = 0;
const newClient = () => {
  const c = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry: { baseDelayMs: 20, maxDelayMs: 200 } });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 5, progressDeadlineMs: 5000 });
});
afterAll(async () => {
  console.log(`[reliability] races run: ${races}`);
  await cluster?.stop();
});

async function settle(promise: Promise<FlowOutputs>): Promise<{ outputs: FlowOutputs; error?: Error }> {
  try {
    return { outputs: await promise };
  } catch (error) {
    if (error instanceof FlowFailure) return { outputs: error.outputs, error };
    if (error instanceof Error) return { outputs: {}, error };
    throw error;
  }
}

const weightsOf = (ns: string, name: string) =>
  cluster.get('networking.istio.io/v1', 'VirtualService', ns, name).spec.http[0].route.map((r: { weight: number }) => r.weight);

test('two blue-green runs on one service: the second fails naming the holder, traffic is switched once', async () => {
  races++;
  await cluster.apply([...colorDeployments('twice'), hostsVirtualService('twice')]);
  const recorder = await recordWeights(cluster, 'shop');
  // The first run's first weight write is slow, so it is still holding the lock when the second starts.
  const slow = cluster.faults.add({
    method: 'PATCH',
    path: '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/twice',
    delayMs: 2500,
    times: 1,
  });
  const raw = (runId: string, lock: string) => hostsInputs('twice', { steps: '50,100', 'run-id': runId, 'lock-timeout': lock });
  const first = settle(
    runBlueGreen(blueGreenInputs(raw('run-a', '5s')), testContext('run-a'), { client: newClient(), clock: fakeClock(Date.now()) }),
  );
  await until(() => leaseHolder(cluster, 'shop', 'twice') === 'run-a', 5000, 'run-a to hold the lock');
  const second = await settle(
    runBlueGreen(blueGreenInputs(raw('run-b', '1s')), testContext('run-b'), { client: newClient(), clock: fakeClock(Date.now()) }),
  );
  const a = await first;
  recorder.stop();
  cluster.faults.remove(slow);
  expect(a.error).toBeUndefined();
  expect(a.outputs.result).toBe('switched');
  expect(second.error?.message).toMatch(/Lease shop\/pd-lock-twice: held by run run-a since .*gave up after waiting 1s/);
  expect(weightsOf('shop', 'twice')).toEqual([0, 100]);
  const seen = recorder.writes.filter((w) => w.name === 'twice').map((w) => w.routes[0]!.join('/'));
  expect(seen.filter((w, i) => w !== seen[i - 1])).toEqual(['100/0', '50/50', '0/100']); // as found, then run-a's two steps, once each
  expect(journalOf(cluster, 'shop', 'twice').map((e) => `${e.runId}:${e.step}:${e.status}`)).toEqual([
    'run-a:traffic-50:applied',
    'run-a:traffic-100:applied',
  ]);
  expect(leaseHolder(cluster, 'shop', 'twice')).toBeUndefined();
});

test('a rollback racing a canary waits for its lock, then undoes it: the end state is the one before the canary', async () => {
  races++;
  const ns = 'race-canary';
  await cluster.apply(meshObjects(ns));
  const config = stringifyYaml({
    routing: ISTIO_ROUTING,
    workloads: WORKLOADS,
    steps: [{ setWeight: 10 }, { pause: { duration: '10m' } }, { setWeight: 50 }, { pause: { duration: '10m' } }],
  });
  const clock = scaledClock(undefined, 2000); // a 10-minute pause holds 300 ms
  const canary = settle(
    runCanary(
      parseInputs(canarySpec, {
        namespace: ns,
        service: 'checkout',
        image: CANARY_IMAGE,
        config,
        'run-id': 'canary-1',
        'lock-timeout': '5s',
        'rollout-timeout': '30s',
      }) as CanaryInputs,
      flowContext('canary-1'),
      { client: newClient(), clock, env: {} },
    ),
  );
  let canaryDone = 0;
  void canary.then(() => (canaryDone = Date.now()));
  await until(
    () => journalOf(cluster, ns, 'checkout').some((e) => e.step.startsWith('step-0-weight-10') && e.status === 'applied'),
    20_000,
    'the canary at 10 %',
  );
  expect(canaryDone).toBe(0);
  const context = flowContext('rollback-1');
  const rollback = await settle(
    runRollback(
      parseInputs(rollbackSpec, {
        kubeconfig: cluster.kubeconfig,
        namespace: ns,
        service: 'checkout',
        'lock-timeout': '20s',
        'rollout-timeout': '30s',
      }),
      context,
      { client: newClient() },
    ),
  );
  const rolledAt = Date.now();
  const c = await canary;
  expect(c.error).toBeUndefined();
  expect(c.outputs.result).toBe('promoted');
  expect(canaryDone).toBeGreaterThan(0);
  expect(canaryDone).toBeLessThanOrEqual(rolledAt);
  expect(rollback.error, rollback.error?.message).toBeUndefined();
  expect(rollback.outputs.result).toBe('rolled-back');
  expect((context.reporter as unknown as { entries: { message: string }[] }).entries.map((e) => e.message).join('\n')).toContain(
    'held by run canary-1',
  );
  // Serialised: the rollback undid the whole promoted canary, not a half-walked one.
  expect(weightsOf(ns, 'checkout')).toEqual([100, 0]);
  expect(deploymentState(cluster, ns, 'checkout')).toEqual({ image: STABLE_IMAGE, replicas: 4 });
  expect(deploymentState(cluster, ns, 'checkout-canary')?.replicas).toBe(0);
  expect(journalOf(cluster, ns, 'checkout').every((e) => e.status === 'compensated')).toBe(true);
  // The release it promoted was undone: its record says so, not "promoted".
  expect(canaryRecord(cluster, ns)).toMatchObject({ state: 'rolled-back' });
  expect(leaseHolder(cluster, ns, 'checkout')).toBeUndefined();
}, 60_000);

test('an outside edit between our read and our write is kept: the write is redone on top of it', async () => {
  races++;
  await cluster.apply([...colorDeployments('edited'), hostsVirtualService('edited')]);
  const vsPath = '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/edited';
  // Our first weight write waits at the server; meanwhile someone edits the VirtualService (timeout and retries).
  const hold = cluster.faults.add({ method: 'PATCH', path: vsPath, delayMs: 600, times: 1 });
  const since = cluster.requests.length;
  const run = settle(
    runBlueGreen(blueGreenInputs(hostsInputs('edited', { steps: '100', 'run-id': 'run-edit' })), testContext('run-edit'), {
      client: newClient(),
      clock: fakeClock(Date.now()),
    }),
  );
  await until(() => cluster.faults.hits(hold) === 1, 10_000, 'our weight write');
  const vs = cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'edited');
  vs.spec.http[0].timeout = '45s';
  vs.spec.http[0].retries.attempts = 7;
  await cluster.apply(vs);
  const outside = cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'edited').metadata.resourceVersion;
  const result = await run;
  cluster.faults.remove(hold);
  expect(result.error).toBeUndefined();
  const live = cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'edited');
  expect(live.spec.http[0].timeout).toBe('45s');
  expect(live.spec.http[0].retries.attempts).toBe(7);
  expect(weightsOf('shop', 'edited')).toEqual([0, 100]);
  expect(Number(live.metadata.resourceVersion)).toBeGreaterThan(Number(outside));
  const patches = cluster.requests
    .slice(since)
    .filter((r) => r.method === 'PATCH' && r.path === vsPath)
    .map((r) => r.status);
  expect(patches[0]).toBeGreaterThanOrEqual(409); // refused: it carried the resourceVersion read before the edit
  expect(patches.at(-1)).toBe(200);
});
