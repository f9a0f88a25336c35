import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { StateStore, type PlannedChange } from '../../src/core/kube/state-store.js';
import { startHarness, type KubeHarness } from './harness.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness();
  await h.cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
});
afterAll(async () => {
  await h?.close();
});

const traffic = (runId: string, step: string, to: number): PlannedChange => ({
  runId,
  step,
  strategy: 'canary',
  object: { kind: 'VirtualService', namespace: 'shop', name: 'checkout' },
  change: { kind: 'traffic', router: { type: 'istio', namespace: 'shop', name: 'checkout', destinations: ['stable', 'canary'] }, previous: { stable: 100 - (to - 10), canary: to - 10 }, next: { stable: 100 - to, canary: to } },
});

describe('state journal (ConfigMap pd-state-<service>)', () => {
  test('records planned -> applied, survives a re-read by another client, and is readable YAML', async () => {
    const store = new StateStore(h.client, { namespace: 'shop', service: 'checkout' });
    const image: PlannedChange = {
      runId: 'run-1',
      step: 'image',
      strategy: 'canary',
      object: { kind: 'Deployment', namespace: 'shop', name: 'checkout-canary' },
      change: { kind: 'image', container: 'app', previous: { image: 'checkout:1.0', revision: 3 }, next: { image: 'checkout:1.1' } },
    };
    const recorded = await store.record(image);
    expect(recorded.entry.status).toBe('planned');
    expect((await store.pending()).map((e) => e.id)).toEqual(['run-1/image']);
    await store.markApplied(recorded.id);
    await store.step(traffic('run-1', 'traffic-10', 10), async () => 'ok');

    const reread = new StateStore(h.other, { namespace: 'shop', service: 'checkout' });
    const entries = await reread.entries();
    expect(entries.map((e) => [e.id, e.status])).toEqual([
      ['run-1/image', 'applied'],
      ['run-1/traffic-10', 'applied'],
    ]);
    expect(entries[0]!.change).toEqual(image.change);
    expect(entries[0]!.appliedAt).toBeDefined();
    expect((await reread.lastChange())?.id).toBe('run-1/traffic-10');
    expect((await reread.compensations('run-1')).map((e) => e.id)).toEqual(['run-1/traffic-10', 'run-1/image']);
    expect(await reread.pending()).toEqual([]);

    const cm = h.cluster.get('v1', 'ConfigMap', 'shop', 'pd-state-checkout');
    expect(parse(cm.data['journal.yaml'])[0].change.previous.image).toBe('checkout:1.0');
  });

  test('a re-run with the same run id does not apply a step twice', async () => {
    const store = new StateStore(h.client, { namespace: 'shop', service: 'payments' });
    let applied = 0;
    const first = await store.step(traffic('run-9', 'traffic-20', 20), async () => ++applied);
    expect(first.applied).toBe(true);
    const rerun = await new StateStore(h.other, { namespace: 'shop', service: 'payments' }).step(traffic('run-9', 'traffic-20', 20), async () => ++applied);
    expect(rerun.applied).toBe(false);
    expect(applied).toBe(1);
    const otherRun = await store.step(traffic('run-10', 'traffic-20', 20), async () => ++applied);
    expect(otherRun.applied).toBe(true);
    expect(applied).toBe(2);
    await store.markCompensated(first.entry.id);
    expect((await store.compensations()).map((e) => e.id)).toEqual(['run-10/traffic-20']);
  });

  test('a failed step is recorded as failed with its error', async () => {
    const store = new StateStore(h.client, { namespace: 'shop', service: 'orders' });
    await expect(store.step(traffic('run-3', 'traffic-10', 10), async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const [entry] = await store.entries();
    expect(entry).toMatchObject({ id: 'run-3/traffic-10', status: 'failed', error: 'boom' });
  });

  test('concurrent writers from two clients lose no entry, and the journal stays bounded', async () => {
    const a = new StateStore(h.client, { namespace: 'shop', service: 'cart', maxEntries: 8 });
    const b = new StateStore(h.other, { namespace: 'shop', service: 'cart', maxEntries: 8 });
    await Promise.all([0, 1, 2].map((i) => a.step(traffic('run-a', `t${i}`, 10 + i), async () => undefined)).concat(
      [0, 1, 2].map((i) => b.step(traffic('run-b', `t${i}`, 10 + i), async () => undefined)),
    ));
    const ids = (await a.entries()).map((e) => e.id).sort();
    expect(ids).toEqual(['run-a/t0', 'run-a/t1', 'run-a/t2', 'run-b/t0', 'run-b/t1', 'run-b/t2']);
    for (let i = 3; i < 10; i++) await a.step(traffic('run-a', `t${i}`, 10 + i), async () => undefined);
    const kept = await a.entries();
    expect(kept).toHaveLength(8);
    expect(kept.at(-1)!.id).toBe('run-a/t9');
  });
});
