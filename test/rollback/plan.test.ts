import { describe, expect, test } from 'vitest';
import type { Change, EntryStatus, StateEntry } from '../../src/core/kube/state-store.js';
import { newestRun, planRollback } from '../../src/core/rollback/plan.js';

/** The plan is decided from the journal alone: which run, which entries, in which order. */
const router = { type: 'istio' as const, namespace: 'shop', name: 'checkout', destinations: ['stable', 'canary'] as const };
const vs = { kind: 'VirtualService', namespace: 'shop', name: 'checkout' };
const canary = { kind: 'Deployment', namespace: 'shop', name: 'checkout-canary' };

let clock = 0;
function entry(runId: string, step: string, change: Change, status: EntryStatus = 'applied', strategy = 'canary'): StateEntry {
  const object = change.kind === 'traffic' ? vs : canary;
  return { id: `${runId}/${step}`, runId, step, strategy, object, change, status, plannedAt: new Date(1_700_000_000_000 + clock++ * 1000).toISOString() };
}
const weights = (from: number, to: number, step: string, runId: string, status?: EntryStatus) =>
  entry(runId, step, { kind: 'traffic', router: { ...router, destinations: ['stable', 'canary'] }, previous: { stable: 100 - from, canary: from }, next: { stable: 100 - to, canary: to } }, status);
const image = (runId: string, status?: EntryStatus) => entry(runId, 'image', { kind: 'image', container: 'app', previous: { image: 'app:1' }, next: { image: 'app:2' } }, status);
const scale = (runId: string) => entry(runId, 'scale', { kind: 'scale', previous: { replicas: 0 }, next: { replicas: 1 } });

describe('planRollback', () => {
  test('undoes only the newest run: traffic first (one undo per object, from its oldest entry), then workloads newest first', () => {
    const journal = [image('run-1'), weights(0, 10, 'w10', 'run-1'), image('run-2'), scale('run-2'), weights(0, 10, 'w10', 'run-2'), weights(10, 50, 'w50', 'run-2', 'planned')];
    const plan = planRollback(journal, 'auto');
    expect(plan.run).toEqual({ runId: 'run-2', strategy: 'canary' });
    expect(plan.undos.map((u) => [u.layer, u.target.id, u.entries.map((e) => e.id)])).toEqual([
      ['traffic', 'run-2/w10', ['run-2/w50', 'run-2/w10']],
      ['workload', 'run-2/scale', ['run-2/scale']],
      ['workload', 'run-2/image', ['run-2/image']],
    ]);
    expect(planRollback(journal, 'traffic').undos.map((u) => u.layer)).toEqual(['traffic']);
    expect(planRollback(journal, 'traffic').leftAlone).toEqual([
      'run-2/image (image of Deployment shop/checkout-canary, applied)',
      'run-2/scale (scale of Deployment shop/checkout-canary, applied)',
    ]);
    expect(planRollback(journal, 'workload').undos.map((u) => u.target.step)).toEqual(['scale', 'image']);
  });

  test('a run that only failed changed nothing: the newest run is the one before it', () => {
    const journal = [image('run-1'), image('run-2', 'failed')];
    expect(newestRun(journal)).toEqual({ runId: 'run-1', strategy: 'canary' });
    expect(planRollback(journal, 'auto').undos.map((u) => u.target.id)).toEqual(['run-1/image']);
  });

  test('when the newest run is fully compensated, nothing is planned, and older runs are not reached', () => {
    const journal = [image('run-1'), image('run-2', 'compensated')];
    const plan = planRollback(journal, 'auto');
    expect(plan.undos).toEqual([]);
    expect(plan.nothingBecause).toBe('every change of the last run (run-2, canary) is already undone');
  });

  test('an empty journal: nothing recorded, no run', () => {
    expect(planRollback([], 'all')).toEqual({ undos: [], leftAlone: [], nothingBecause: 'nothing is recorded in the journal' });
  });

  test('auto leaves a rollback alone; mode workload undoes it', () => {
    const undo = entry('run-9', 'undo-web-to-revision-1', { kind: 'undo', previous: { revision: 4 }, next: { revision: 1, images: { app: 'web:1' } } }, 'applied', 'rollback');
    const journal = [image('run-1'), undo];
    expect(planRollback(journal, 'auto').undos).toEqual([]);
    expect(planRollback(journal, 'auto').nothingBecause).toContain('auto does not undo a rollback');
    expect(planRollback(journal, 'workload').undos.map((u) => u.target.id)).toEqual(['run-9/undo-web-to-revision-1']);
  });

  test('a Deployment the run scaled down gets its replicas back before traffic, also in mode traffic', () => {
    const down = { ...entry('run-3', 'scale-down', { kind: 'scale', previous: { replicas: 3 }, next: { replicas: 0 } }), object: { kind: 'Deployment', namespace: 'shop', name: 'checkout-blue' } };
    const journal = [image('run-3'), weights(0, 100, 'switch', 'run-3'), down];
    expect(planRollback(journal, 'auto').undos.map((u) => [u.layer, u.target.step])).toEqual([
      ['capacity', 'scale-down'],
      ['traffic', 'switch'],
      ['workload', 'image'],
    ]);
    expect(planRollback(journal, 'traffic').undos.map((u) => [u.layer, u.target.step])).toEqual([
      ['capacity', 'scale-down'],
      ['traffic', 'switch'],
    ]);
  });
});
