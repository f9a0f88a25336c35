import { stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCanary, type CanaryInputs } from '../../src/core/canary/index.js';
import { FlowFailure, type FlowOutputs } from '../../src/core/flow.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { runRollback } from '../../src/core/rollback/flow.js';
import { canarySpec } from '../../src/core/specs/canary.js';
import { rollbackSpec } from '../../src/core/specs/rollback.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
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
import { killAtWrite, runWrites, startCli } from './kill-support.js';
import { deploymentState, expireLease, journalOf, leaseHolder } from './support.js';

/**
 * A canary in its own process, SIGKILLed at every write boundary in turn. Odd kill points: a re-run
 * with the same run id resumes and ends exactly where an uninterrupted run ends (promoted), applying
 * no step twice. Even kill points: once the lease expires, the rollback takes the lock over and
 * puts back the state before the run; a new canary can then be started.
 */

let cluster: TestCluster;
let client: KubeClient;
const tally = { killPoints: 0, restored: 0, resumed: 0, rolledBack: 0, newAfterRollback: false, held: [] as string[] };

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 5, progressDeadlineMs: 5000 });
  client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry: { baseDelayMs: 20, maxDelayMs: 200 } });
});
afterAll(async () => {
  console.log(
    `[reliability] canary kill points tried: ${tally.killPoints}, states restored: ${tally.restored} (${tally.resumed} resumed, ${tally.rolledBack} rolled back)\n  ${tally.held.join('\n  ')}`,
  );
  await cluster?.stop();
});

const CONFIG = stringifyYaml({
  routing: ISTIO_ROUTING,
  workloads: WORKLOADS,
  steps: [{ setWeight: 10 }, { pause: { duration: '100ms' } }, { setWeight: 50 }, { pause: { duration: '100ms' } }],
});
const raw = (namespace: string, runId = `kill-${namespace}`) => ({
  namespace,
  service: 'checkout',
  image: CANARY_IMAGE,
  config: CONFIG,
  'run-id': runId,
  'lock-timeout': '5s',
  'rollout-timeout': '30s',
});

function state(namespace: string) {
  const vs = cluster.get('networking.istio.io/v1', 'VirtualService', namespace, 'checkout');
  return {
    weights: vs.spec.http[0].route.map((r: { weight: number }) => r.weight) as number[],
    stable: deploymentState(cluster, namespace, 'checkout'),
    canary: deploymentState(cluster, namespace, 'checkout-canary'),
  };
}

/** A FlowFailure keeps its outputs; any other error (a refusal before the walk) has none. */
async function settle(promise: Promise<FlowOutputs>): Promise<{ outputs: FlowOutputs; error?: Error }> {
  try {
    return { outputs: await promise };
  } catch (error) {
    if (error instanceof FlowFailure) return { outputs: error.outputs, error };
    if (error instanceof Error) return { outputs: {}, error };
    throw error;
  }
}

const canary = (namespace: string, runId: string) =>
  settle(
    runCanary(parseInputs(canarySpec, raw(namespace, runId)) as CanaryInputs, flowContext(runId), {
      client,
      clock: scaledClock(),
      env: {},
    }),
  );

const BEFORE = { weights: [100, 0], stable: { image: STABLE_IMAGE, replicas: 4 }, canary: { image: STABLE_IMAGE, replicas: 0 } };

test('killed at every write boundary, a resumed run or the rollback leaves a known, recorded state', async () => {
  await cluster.apply(meshObjects('cnk0'));
  const since = cluster.requests.length;
  const clean = startCli(cluster, 'canary', raw('cnk0'));
  await clean.exited;
  expect(clean.child.exitCode, clean.log()).toBe(0);
  const promoted = state('cnk0');
  expect(promoted).toEqual({
    weights: [100, 0],
    stable: { image: CANARY_IMAGE, replicas: 4 },
    canary: { image: CANARY_IMAGE, replicas: 0 },
  });
  const cleanSteps = journalOf(cluster, 'cnk0', 'checkout').map((e) => e.step.replace(/#\w+$/, ''));
  const total = runWrites(cluster, since).length;
  expect(total).toBeGreaterThanOrEqual(12);

  for (let n = 1; n <= total; n++) {
    const ns = `cnk${n}`;
    await cluster.apply(meshObjects(ns));
    const point = await killAtWrite(cluster, 'canary', raw(ns), n);
    expect(point, `write ${n} of ${total}`).toBeDefined();
    tally.killPoints++;
    const s = state(ns);
    tally.held.push(`#${n} after ${point!.served} writes, held ${point!.held}: ${JSON.stringify(s.weights)}`);
    expect(s.weights[0]! + s.weights[1]!).toBe(100);
    expect(leaseHolder(cluster, ns, 'checkout')).toBe(`kill-${ns}`);

    if (n % 2 === 1) {
      // The re-run of the same job: same run id, so the lock is its own and applied steps are skipped.
      const resumed = await canary(ns, `kill-${ns}`);
      expect(resumed.error, `${point!.held}: ${resumed.error?.message}`).toBeUndefined();
      expect(resumed.outputs.result).toBe('promoted');
      expect(state(ns), point!.held).toEqual(promoted);
      const steps = journalOf(cluster, ns, 'checkout').map((e) => e.step.replace(/#\w+$/, ''));
      expect(steps).toEqual(cleanSteps);
      expect(
        journalOf(cluster, ns, 'checkout').map((e) => `${e.step.replace(/#\w+$/, '')}:${e.status}`),
        point!.held,
      ).toEqual(cleanSteps.map((step) => `${step}:applied`));
      tally.resumed++;
    } else {
      await expireLease(cluster, ns, 'checkout');
      const context = flowContext(`rb-${ns}`);
      const rolled = await settle(
        runRollback(
          parseInputs(rollbackSpec, {
            kubeconfig: cluster.kubeconfig,
            namespace: ns,
            service: 'checkout',
            'lock-timeout': '5s',
            'rollout-timeout': '30s',
          }),
          context,
          { client },
        ),
      );
      const log = (context.reporter as unknown as { entries: { message: string }[] }).entries.map((e) => e.message).join('\n');
      expect(log).toContain(`taking the lock over from run kill-${ns}: its lease expired`);
      const journal = journalOf(cluster, ns, 'checkout');
      // Something written back: rolled-back; everything found already as before the release (killed
      // before its recorded change reached the cluster): nothing-to-do, with the journal settled.
      expect(rolled.outputs.result, log).toBe(/^Undoing /m.test(log) ? 'rolled-back' : 'nothing-to-do');
      expect(journal.every((e) => e.status === 'compensated')).toBe(true);
      expect(state(ns), `${point!.held}\n${log}`).toEqual(BEFORE);
      // What the canary's own record says must not contradict the cluster: a new canary can start.
      const record = canaryRecord(cluster, ns);
      if (journal.length) {
        expect(record === undefined || !['progressing', 'paused'].includes(String(record.state)), JSON.stringify(record)).toBe(true);
      } else if (record) {
        // Killed after the record was written and before the journal: nothing changed, the rollback
        // refuses to guess, and the record names the dead run; the canary's abort settles it.
        expect(record).toMatchObject({ state: 'progressing', runId: `kill-${ns}`, weight: 0 });
        const refused = await canary(ns, `other-${ns}`);
        expect(refused.error?.message ?? '').toMatch(
          /A canary of .* \(release kill-cnk\d+, started by run kill-cnk\d+\) is progressing .*abort it \(action: abort\)/,
        );
        const abort = await settle(
          runCanary(parseInputs(canarySpec, { ...raw(ns, `abort-${ns}`), action: 'abort' }) as CanaryInputs, flowContext(`abort-${ns}`), {
            client,
            clock: scaledClock(),
            env: {},
          }),
        );
        expect(abort.outputs.result).toBe('aborted');
        expect(state(ns)).toEqual(BEFORE);
      }
      if (journal.length && !tally.newAfterRollback) {
        // Once (it takes a whole canary): a new canary by another run starts and promotes.
        const next = await canary(ns, `next-${ns}`);
        expect(next.error?.message).toBeUndefined();
        expect(state(ns)).toEqual(promoted);
        tally.newAfterRollback = true;
      }
      tally.rolledBack++;
    }
    expect(leaseHolder(cluster, ns, 'checkout')).toBeUndefined();
    tally.restored++;
  }
  expect(tally.restored).toBe(total);
}, 300_000);
