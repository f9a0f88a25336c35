import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LockTimeoutError, ServiceLock, readLockHolder, releaseLockIfHeldBy } from '../../src/core/kube/lease-lock.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { startHarness, type KubeHarness } from './harness.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness();
  await h.cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
});
afterAll(async () => {
  await h?.close();
});

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

describe('service lock (Lease)', () => {
  test('a second run waits, then fails naming the holder and since when; after release it gets the lock', async () => {
    const first = await ServiceLock.acquire(h.client, {
      namespace: 'shop',
      service: 'checkout',
      holder: 'run-1',
      leaseDurationSeconds: 30,
    });
    const lease = h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-checkout');
    expect(lease.spec.holderIdentity).toBe('run-1');
    expect(lease.spec.leaseDurationSeconds).toBe(30);
    expect(lease.spec.acquireTime).toMatch(MICRO_TIME);
    expect(lease.spec.renewTime).toMatch(MICRO_TIME);
    expect(lease.spec.leaseTransitions).toBe(0);

    const reporter = new MemoryReporter();
    const started = Date.now();
    const error = await ServiceLock.acquire(h.other, {
      namespace: 'shop',
      service: 'checkout',
      holder: 'run-2',
      timeoutMs: 400,
      pollMs: 100,
      reporter,
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Lease shop/pd-lock-checkout: held by run run-1 since ${lease.spec.acquireTime.slice(0, 19)}.*lease 30s\\); gave up after waiting`,
      ),
    );
    expect(reporter.messages('info')[0]).toContain('held by run run-1');

    const waiting = ServiceLock.acquire(h.other, { namespace: 'shop', service: 'checkout', holder: 'run-2', timeoutMs: 5000, pollMs: 50 });
    await new Promise((r) => setTimeout(r, 150));
    expect(await first.release()).toBe(true);
    const second = await waiting;
    const taken = h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-checkout');
    expect(taken.spec.holderIdentity).toBe('run-2');
    expect(taken.spec.leaseTransitions).toBe(1);
    expect(await second.release()).toBe(true);
    expect(await readLockHolder(h.client, { namespace: 'shop', service: 'checkout' })).toBeUndefined();
  });

  test("a dead holder's expired lease is taken over, counting the transition", async () => {
    const past = new Date(Date.now() - 120_000).toISOString().replace('Z', '000Z');
    await h.cluster.apply({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'pd-lock-payments', namespace: 'shop' },
      spec: { holderIdentity: 'run-dead', leaseDurationSeconds: 60, acquireTime: past, renewTime: past, leaseTransitions: 4 },
    });
    const reporter = new MemoryReporter();
    const lock = await ServiceLock.acquire(h.client, {
      namespace: 'shop',
      service: 'payments',
      holder: 'run-7',
      timeoutMs: 1000,
      reporter,
    });
    const lease = h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-payments');
    expect(lease.spec.holderIdentity).toBe('run-7');
    expect(lease.spec.leaseTransitions).toBe(5);
    expect(new Date(lease.spec.acquireTime).getTime()).toBeGreaterThan(Date.now() - 10_000);
    expect(reporter.messages('warn')[0]).toMatch(/taking the lock over from run run-dead: its lease expired/);
    await lock.release();
  });

  test('two runs racing for a free lock: exactly one wins', async () => {
    const results = await Promise.allSettled(
      ['run-a', 'run-b'].map((holder, i) =>
        ServiceLock.acquire(i === 0 ? h.client : h.other, { namespace: 'shop', service: 'cart', holder, timeoutMs: 300, pollMs: 50 }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const holder = await readLockHolder(h.client, { namespace: 'shop', service: 'cart' });
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(LockTimeoutError);
    expect((lost.reason as Error).message).toContain(`held by run ${holder!.holder}`);
    await (won[0] as PromiseFulfilledResult<ServiceLock>).value.release();
  });

  test('force takes a live lock (rollback of a cancelled run); the old holder notices on renewal and its release is a no-op', async () => {
    const lost: string[] = [];
    const old = await ServiceLock.acquire(h.client, {
      namespace: 'shop',
      service: 'search',
      holder: 'run-old',
      onLost: (x) => lost.push(x.holder),
    });
    const rollback = await ServiceLock.acquire(h.other, {
      namespace: 'shop',
      service: 'search',
      holder: 'rollback-1',
      force: true,
      timeoutMs: 100,
    });
    await old.renew();
    expect(old.lost).toBe(true);
    expect(lost).toEqual(['rollback-1']);
    expect(await old.release()).toBe(false);
    expect((await readLockHolder(h.client, { namespace: 'shop', service: 'search' }))?.holder).toBe('rollback-1');
    expect(await releaseLockIfHeldBy(h.client, { namespace: 'shop', service: 'search', holder: 'run-old' })).toBe(false);
    expect(await releaseLockIfHeldBy(h.client, { namespace: 'shop', service: 'search', holder: 'rollback-1' })).toBe(true);
    await rollback.release();
  });

  test('renewal moves renewTime forward in the background', async () => {
    const lock = await ServiceLock.acquire(h.client, { namespace: 'shop', service: 'renewed', holder: 'run-r', leaseDurationSeconds: 3 });
    const before = h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-renewed').spec.renewTime;
    await new Promise((r) => setTimeout(r, 1300));
    const after = h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-renewed').spec.renewTime;
    expect(after).toMatch(MICRO_TIME);
    expect(new Date(after).getTime()).toBeGreaterThan(new Date(before).getTime());
    expect(await lock.release()).toBe(true);
  });
});
