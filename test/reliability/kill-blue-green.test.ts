import { afterAll, beforeAll, expect, test } from 'vitest';
import { FlowFailure } from '../../src/core/flow.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { runRollback } from '../../src/core/rollback/flow.js';
import { rollbackSpec } from '../../src/core/specs/rollback.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { colorDeployments, hostsInputs, hostsVirtualService, testContext } from '../blue-green/harness.js';
import { killAtWrite, runWrites, startCli } from './kill-support.js';
import { deploymentState, expireLease, journalOf, leaseHolder } from './support.js';

/**
 * A blue-green switch in its own process, SIGKILLed at every write boundary in turn (the n-th
 * write held, then the kill). Afterwards its Lease is left as a dead runner leaves it; once the
 * lease has expired, the rollback action takes the lock over without force and puts back exactly
 * the state before the run: weights, both colors' images and replicas; every entry compensated.
 */

let cluster: TestCluster;
let client: KubeClient;
const tally = { killPoints: 0, restored: 0, held: [] as string[] };

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 5, progressDeadlineMs: 5000 });
  client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry: { baseDelayMs: 20, maxDelayMs: 200 } });
});
afterAll(async () => {
  console.log(
    `[reliability] blue-green kill points tried: ${tally.killPoints}, states restored: ${tally.restored}\n  ${tally.held.join('\n  ')}`,
  );
  await cluster?.stop();
});

const OLD = 'registry.example.com/app:1.0.0';
const NEW = 'registry.example.com/app:2.0.0';

function raw(service: string): Record<string, string> {
  return hostsInputs(service, {
    image: NEW,
    steps: '10,50,100',
    'scale-down-after': '0s',
    'rollout-timeout': '30s',
    'lock-timeout': '5s',
    'run-id': `kill-${service}`,
  });
}

function state(service: string) {
  const vs = cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', service);
  return {
    weights: vs.spec.http[0].route.map((r: { weight: number }) => r.weight) as number[],
    blue: deploymentState(cluster, 'shop-blue', service),
    green: deploymentState(cluster, 'shop-green', service),
  };
}

const BEFORE = { weights: [100, 0], blue: { image: OLD, replicas: 2 }, green: { image: OLD, replicas: 2 } };

test('killed at every write boundary, the rollback restores exactly the state before the run', async () => {
  // A clean run in a process: how many writes a whole switch makes, and where it ends.
  await cluster.apply([...colorDeployments('bgk0'), hostsVirtualService('bgk0')]);
  const since = cluster.requests.length;
  const clean = startCli(cluster, 'blue-green', raw('bgk0'));
  await clean.exited;
  expect(clean.child.exitCode, clean.log()).toBe(0);
  expect(state('bgk0')).toEqual({ weights: [0, 100], blue: { image: OLD, replicas: 0 }, green: { image: NEW, replicas: 2 } });
  const total = runWrites(cluster, since).length;
  expect(total).toBeGreaterThanOrEqual(15); // 5 journal entries x 2 writes + image + 3 weights + scale

  for (let n = 1; n <= total; n++) {
    const service = `bgk${n}`;
    await cluster.apply([...colorDeployments(service), hostsVirtualService(service)]);
    const point = await killAtWrite(cluster, 'blue-green', raw(service), n);
    expect(point, `write ${n} of ${total}`).toBeDefined();
    tally.killPoints++;
    tally.held.push(`#${n} after ${point!.served} writes, held ${point!.held}: ${JSON.stringify(state(service).weights)}`);
    // The dead run still holds the lock; nothing moved weights off 100 in total.
    expect(leaseHolder(cluster, 'shop', service)).toBe(`kill-${service}`);
    const s = state(service);
    expect(s.weights[0]! + s.weights[1]!).toBe(100);

    // Its lease runs out (the runner is gone): the next run takes the lock over without force.
    await expireLease(cluster, 'shop', service);
    const context = testContext(`rb-${service}`);
    let result: string;
    try {
      const outputs = await runRollback(
        parseInputs(rollbackSpec, {
          kubeconfig: cluster.kubeconfig,
          namespace: 'shop',
          service,
          'lock-timeout': '5s',
          'rollout-timeout': '30s',
        }),
        context,
        { client },
      );
      result = String(outputs.result);
    } catch (error) {
      if (!(error instanceof FlowFailure)) throw error;
      result = String(error.outputs.result);
    }
    const log = context.reporter.entries.map((e) => e.message).join('\n');
    expect(log).toContain(`taking the lock over from run kill-${service}: its lease expired`);
    const journal = journalOf(cluster, 'shop', service);
    if (journal.length === 0) {
      // Killed before anything was recorded: nothing was changed either, and the rollback refuses to guess.
      expect(result).toBe('nothing-to-do');
    } else {
      // Killed before its recorded change reached the cluster, the objects are already as before the
      // release: nothing is written, and the journal says it is undone.
      expect(result, log).toBe(/^Undoing /m.test(log) ? 'rolled-back' : 'nothing-to-do');
      expect(journal.map((e) => e.status)).toEqual(journal.map(() => 'compensated'));
    }
    expect(state(service), `killed at write ${n}: ${point!.held}\n${log}`).toEqual(BEFORE);
    expect(leaseHolder(cluster, 'shop', service)).toBeUndefined();
    tally.restored++;
  }
  expect(tally.restored).toBe(total);
}, 300_000);
