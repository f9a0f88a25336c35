import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { Journal, type PlannedChange } from '../../src/core/kube/journal.js';
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
  change: {
    kind: 'traffic',
    router: { type: 'istio', namespace: 'shop', name: 'checkout', destinations: ['stable', 'canary'] },
    previous: { stable: 100 - (to - 10), canary: to - 10 },
    next: { stable: 100 - to, canary: to },
  },
});

describe('journal (ConfigMap pd-state-<service>)', () => {
  test('records planned -> applied, survives a re-read by another client, and is readable YAML', async () => {
    const store = new Journal(h.client, { namespace: 'shop', service: 'checkout' });
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

    const reread = new Journal(h.other, { namespace: 'shop', service: 'checkout' });
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
    const store = new Journal(h.client, { namespace: 'shop', service: 'payments' });
    let applied = 0;
    const first = await store.step(traffic('run-9', 'traffic-20', 20), async () => ++applied);
    expect(first.applied).toBe(true);
    const rerun = await new Journal(h.other, { namespace: 'shop', service: 'payments' }).step(
      traffic('run-9', 'traffic-20', 20),
      async () => ++applied,
    );
    expect(rerun.applied).toBe(false);
    expect(applied).toBe(1);
    const otherRun = await store.step(traffic('run-10', 'traffic-20', 20), async () => ++applied);
    expect(otherRun.applied).toBe(true);
    expect(applied).toBe(2);
    await store.markCompensated(first.entry.id);
    expect((await store.compensations()).map((e) => e.id)).toEqual(['run-10/traffic-20']);
  });

  test('a failed step is recorded as failed with its error', async () => {
    const store = new Journal(h.client, { namespace: 'shop', service: 'orders' });
    await expect(store.step(traffic('run-3', 'traffic-10', 10), async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const [entry] = await store.entries();
    expect(entry).toMatchObject({ id: 'run-3/traffic-10', status: 'failed', error: 'boom' });
  });

  test('concurrent writers from two clients lose no entry, and the journal stays bounded', async () => {
    const a = new Journal(h.client, { namespace: 'shop', service: 'cart', maxEntries: 8 });
    const b = new Journal(h.other, { namespace: 'shop', service: 'cart', maxEntries: 8 });
    await Promise.all(
      [0, 1, 2]
        .map((i) => a.step(traffic('run-a', `t${i}`, 10 + i), async () => undefined))
        .concat([0, 1, 2].map((i) => b.step(traffic('run-b', `t${i}`, 10 + i), async () => undefined))),
    );
    const ids = (await a.entries()).map((e) => e.id).sort();
    expect(ids).toEqual(['run-a/t0', 'run-a/t1', 'run-a/t2', 'run-b/t0', 'run-b/t1', 'run-b/t2']);
    for (let i = 3; i < 10; i++) await a.step(traffic('run-a', `t${i}`, 10 + i), async () => undefined);
    const kept = await a.entries();
    expect(kept.length).toBeLessThanOrEqual(8);
    expect(kept.at(-1)!.id).toBe('run-a/t9');
    // run-a's consecutive weight changes fold into one entry that still answers for each step.
    expect(kept.some((e) => e.folds?.includes('run-a/t3'))).toBe(true);
    expect(new Set(kept.flatMap((e) => [e.id, ...(e.folds ?? [])]).filter((id) => id.startsWith('run-a/')))).toEqual(
      new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `run-a/t${i}`)),
    );
  });

  test('when every attempt reads no journal and then loses the race to create it, record fails instead of returning as if recorded', async () => {
    const store = new Journal(h.client, { namespace: 'shop', service: 'raced' });
    await store.step(traffic('run-0', 'traffic-10', 10), async () => 'ok');
    // Each read says the ConfigMap is missing, and each create finds it already there (AlreadyExists from the server).
    h.cluster.faults.add({ method: 'GET', path: '/api/v1/namespaces/shop/configmaps/pd-state-raced', status: 404, times: 5 });
    await expect(store.record(traffic('run-1', 'traffic-20', 20))).rejects.toThrow(
      'ConfigMap shop/pd-state-raced: could not be created: each of 5 attempts found it missing and then already created by someone else; nothing was recorded',
    );
    expect((await store.entries()).map((e) => e.id)).toEqual(['run-0/traffic-10']);
  });

  test('past its limit the journal folds traffic within a release and drops superseded releases, never the open one', async () => {
    const store = new Journal(h.client, { namespace: 'shop', service: 'compact', maxEntries: 6 });
    const release = (name: string, change: PlannedChange): PlannedChange => ({ ...change, release: name });
    // Scale changes do not fold: the old release cannot shrink below the limit, so it is dropped whole.
    for (let r = 1; r <= 5; r++) {
      await store.step(
        {
          runId: 'run-old',
          release: 'rel-old',
          step: `scale-${r}`,
          strategy: 'canary',
          object: { kind: 'Deployment', namespace: 'shop', name: 'checkout-canary' },
          change: { kind: 'scale', previous: { replicas: r - 1 }, next: { replicas: r } },
        },
        async () => 'ok',
      );
    }
    for (let w = 10; w <= 90; w += 10)
      await store.step(release('rel-new', traffic(w < 50 ? 'run-start' : 'run-promote', `w${w}`, w)), async () => 'ok');
    const entries = await store.entries();
    expect(entries.every((e) => e.release === 'rel-new')).toBe(true);
    const folded = entries.filter((e) => e.folds?.length);
    expect(folded.length).toBeGreaterThan(0);
    // Undoing it still restores the state before the release's first change: 100/0.
    const first = entries[0]!.change;
    expect(first.kind === 'traffic' && first.previous).toEqual({ stable: 100, canary: 0 });
    const last = entries.at(-1)!.change;
    expect(last.kind === 'traffic' && last.next).toEqual({ stable: 10, canary: 90 });
    // A resumed run still finds a folded step as applied, and does not apply it twice.
    expect((await store.record(release('rel-new', traffic('run-start', 'w20', 20)))).alreadyApplied).toBe(true);
  });
});
