import { afterAll, beforeAll, expect, test } from 'vitest';
import { rollBack } from '../rollback/harness.js';
import {
  BROKEN,
  deployed,
  imageOf,
  journal,
  NEW,
  OLD,
  podImages,
  revisionOf,
  roll,
  settled,
  startHarness,
  writesSince,
  type Harness,
} from './harness.js';

/**
 * What users do every week, one after the other against the same cluster: roll out, then the
 * rollback action puts the previous image back (the journal's `image` entry is in its workload
 * layer); a rolled-back run leaves the rollback nothing to undo; a run that failed before writing
 * leaves it nothing to touch.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ progressDeadlineMs: 400 });
});
afterAll(async () => {
  await h?.close();
});

const target = (service: string) => ({ namespace: 'shop', service });

test('rolled-out, then the rollback action puts the previous image back, rolled out; a second rollback has nothing left', async () => {
  await deployed(h, 'shop', 'checkout');
  const run = await roll(h, { namespace: 'shop', service: 'checkout', image: NEW }, 'run-1');
  expect(run.outputs.result).toBe('rolled-out');

  const rollback = await rollBack(h.cluster, target('checkout'), { reason: 'checkout 2.0.0 breaks the basket' }, { runId: 'run-rb-1' });
  expect(rollback.failure?.message).toBeUndefined();
  expect(rollback.outputs.result).toBe('rolled-back');
  expect(rollback.actions).toEqual([
    expect.objectContaining({ entry: 'run-1/image', object: 'Deployment shop/checkout', before: NEW, after: OLD }),
  ]);
  expect(rollback.log).toContain('Release run-1 (rolling; runs run-1).');
  await settled(h, 'shop', 'checkout');
  expect(imageOf(h, 'shop', 'checkout')).toBe(OLD);
  expect(podImages(h, 'shop', 'checkout')).toEqual([OLD, OLD, OLD]);
  expect(revisionOf(h, 'shop', 'checkout')).toBe('3');
  expect((await journal(h, 'shop', 'checkout')).map((e) => [e.id, e.status])).toEqual([['run-1/image', 'compensated']]);

  const since = h.cluster.requests.length;
  const again = await rollBack(h.cluster, target('checkout'), {}, { runId: 'run-rb-2' });
  expect(again.outputs.result).toBe('nothing-to-do');
  expect(again.log).toContain('Nothing to undo: every change of release run-1 (rolling) is already undone.');
  expect(writesSince(h, since, { leases: false })).toEqual([]);
  expect(imageOf(h, 'shop', 'checkout')).toBe(OLD);
});

test('a rolled-back run, then the rollback action: nothing left to undo, nothing written', async () => {
  await deployed(h, 'shop', 'orders');
  const run = await roll(h, { namespace: 'shop', service: 'orders', image: BROKEN }, 'run-2');
  expect(run.outputs.result).toBe('rolled-back');
  await settled(h, 'shop', 'orders');
  const since = h.cluster.requests.length;
  const rollback = await rollBack(h.cluster, target('orders'), {}, { runId: 'run-rb-3' });
  expect(rollback.failure).toBeUndefined();
  expect(rollback.outputs).toEqual({ result: 'nothing-to-do', actions: [] });
  expect(rollback.log).toContain('Nothing to undo: every change of release run-2 (rolling) is already undone.');
  expect(writesSince(h, since, { leases: false })).toEqual([]);
  expect(imageOf(h, 'shop', 'orders')).toBe(OLD);
});

test('a release rolled out, a later run that failed before writing (Recreate): its rollback touches nothing, the release stays', async () => {
  await deployed(h, 'shop', 'search');
  expect((await roll(h, { namespace: 'shop', service: 'search', image: NEW }, 'run-3')).outputs.result).toBe('rolled-out');
  // Someone makes the Deployment Recreate; the next run refuses it before writing anything.
  const dep = h.cluster.get('apps/v1', 'Deployment', 'shop', 'search');
  dep.spec.strategy = { type: 'Recreate' };
  await h.cluster.apply([dep]);
  await settled(h, 'shop', 'search');
  let since = h.cluster.requests.length;
  const refused = await roll(h, { namespace: 'shop', service: 'search', image: 'registry.example.com/checkout:3.0.0' }, 'run-4');
  expect(refused.outputs).toEqual({ result: 'failed' });
  expect(writesSince(h, since)).toEqual([]);

  // Rolling back the failed run's release: it changed nothing, so there is nothing to undo, and 2.0.0 stays.
  since = h.cluster.requests.length;
  const rollback = await rollBack(h.cluster, target('search'), { release: 'run-4' }, { runId: 'run-rb-4' });
  expect(rollback.outputs.result).toBe('nothing-to-do');
  expect(rollback.log).toContain('run-4 changed nothing: no change of it is recorded in the journal, so there is nothing to undo');
  expect(writesSince(h, since, { leases: false })).toEqual([]);
  expect(imageOf(h, 'shop', 'search')).toBe(NEW);
});

test('a run on a service with no journal that failed before writing (missing Deployment): a rollback after it writes nothing', async () => {
  const run = await roll(h, { namespace: 'shop', service: 'ghost', image: NEW }, 'run-5');
  expect(run.outputs).toEqual({ result: 'failed' });
  const since = h.cluster.requests.length;
  const rollback = await rollBack(h.cluster, target('ghost'), {}, { runId: 'run-rb-5' });
  expect(rollback.outputs.result).toBe('nothing-to-do');
  expect(rollback.failure?.message).toContain('Refused: nothing is recorded for ghost in shop');
  expect(writesSince(h, since, { leases: false })).toEqual([]);
  expect(h.cluster.get('v1', 'ConfigMap', 'shop', 'pd-state-ghost')).toBeUndefined();
});
