import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ServiceLock, readLockHolder } from '../../src/core/kube/lease-lock.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { blueGreenFixtures, clientFor, deliver, journaledWeights, liveWeights, rollBack } from './harness.js';

/** The rollback takes the service lock, so it cannot race a deployment in progress. */
let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 20 });
});
afterAll(async () => {
  await cluster?.stop();
});

describe('racing a deployment that holds the lock', () => {
  const t = { namespace: 'race', service: 'orders' };
  const f = blueGreenFixtures(t);

  test('waits, then fails naming the holder and changes nothing; with force it takes over and says so', async () => {
    await cluster.apply(f.objects);
    await deliver(cluster, t, { runId: 'run-800', strategy: 'blue-green' }, (s) =>
      journaledWeights(s, 'switch', f.router, { [f.blue]: 0, [f.green]: 100 }),
    );
    const deploying = await ServiceLock.acquire(clientFor(cluster), { namespace: t.namespace, service: t.service, holder: 'run-801' });
    try {
      const started = Date.now();
      const waited = await rollBack(cluster, t, { 'lock-timeout': '1s' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(waited.outputs).toEqual({ result: 'failed', actions: [] });
      expect(waited.failure!.message).toMatch(/^Lease race\/pd-lock-orders: held by run run-801 since .*gave up after waiting 1s/);
      expect(waited.log).toContain('held by run run-801');
      expect(liveWeights(cluster, t)).toEqual([0, 100]);

      const forced = await rollBack(
        cluster,
        t,
        { 'lock-timeout': '1s', force: 'true', reason: 'run-801 was cancelled' },
        { runId: 'run-802' },
      );
      expect(forced.failure).toBeUndefined();
      expect(forced.outputs.result).toBe('rolled-back');
      expect(liveWeights(cluster, t)).toEqual([100, 0]);
      expect(forced.context.reporter.messages('warn')).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^force: taking over the lock of orders from run run-801 \(held since .*\)\. If that run is still alive it stops before its next change\.$/,
          ),
          expect.stringMatching(/^Lease race\/pd-lock-orders: taking the lock over from run run-801: force was set$/),
        ]),
      );
      expect(forced.summary).toContain('force: took the service lock over from run run-801, which still held it.');
      // The deploying run finds out at its next renewal, and stops before its next change.
      await deploying.renew();
      expect(deploying.lost).toBe(true);
      // The rollback released the lock when it finished.
      expect(await readLockHolder(clientFor(cluster), t)).toBeUndefined();
    } finally {
      await deploying.release();
    }
  });

  test('a lock left by a run that died (lease expired) is taken without force', async () => {
    const t2 = { namespace: 'race', service: 'billing' };
    const f2 = blueGreenFixtures(t2);
    await cluster.apply(f2.objects);
    await deliver(cluster, t2, { runId: 'run-810', strategy: 'blue-green' }, (s) =>
      journaledWeights(s, 'switch', f2.router, { [f2.blue]: 0, [f2.green]: 100 }),
    );
    const longAgo = new Date(Date.now() - 10 * 60_000).toISOString().replace('Z', '000Z');
    await cluster.apply({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'pd-lock-billing', namespace: 'race' },
      spec: { holderIdentity: 'run-811', leaseDurationSeconds: 60, acquireTime: longAgo, renewTime: longAgo, leaseTransitions: 0 },
    });
    const run = await rollBack(cluster, t2, { 'lock-timeout': '1s' });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('rolled-back');
    expect(run.log).toMatch(/taking the lock over from run run-811: its lease expired/);
    expect(run.summary).not.toContain('force: took');
    expect(liveWeights(cluster, t2)).toEqual([100, 0]);
  });
});
