import { describe, expect, test } from 'vitest';
import type { Change, EntryStatus, JournalEntry } from '../../src/core/kube/journal.js';
import { newestRelease, planRollback } from '../../src/core/rollback/plan.js';

/** The plan is decided from the journal alone: which run, which entries, in which order. */
const router = { type: 'istio' as const, namespace: 'shop', name: 'checkout', destinations: ['stable', 'canary'] as const };
const vs = { kind: 'VirtualService', namespace: 'shop', name: 'checkout' };
const canary = { kind: 'Deployment', namespace: 'shop', name: 'checkout-canary' };

let clock = 0;
function entry(
  runId: string,
  step: string,
  change: Change,
  status: EntryStatus = 'applied',
  strategy = 'canary',
  release?: string,
): JournalEntry {
  const object = change.kind === 'traffic' ? vs : canary;
  return {
    id: `${runId}/${step}`,
    runId,
    ...(release ? { release } : {}),
    step,
    strategy,
    object,
    change,
    status,
    plannedAt: new Date(1_700_000_000_000 + clock++ * 1000).toISOString(),
  };
}
const inRelease = (release: string, e: JournalEntry): JournalEntry => ({ ...e, release });
const weights = (from: number, to: number, step: string, runId: string, status?: EntryStatus) =>
  entry(
    runId,
    step,
    {
      kind: 'traffic',
      router: { ...router, destinations: ['stable', 'canary'] },
      previous: { stable: 100 - from, canary: from },
      next: { stable: 100 - to, canary: to },
    },
    status,
  );
const image = (runId: string, status?: EntryStatus) =>
  entry(runId, 'image', { kind: 'image', container: 'app', previous: { image: 'app:1' }, next: { image: 'app:2' } }, status);
const scale = (runId: string) => entry(runId, 'scale', { kind: 'scale', previous: { replicas: 0 }, next: { replicas: 1 } });

describe('planRollback', () => {
  test('undoes only the newest release (entries without one: their run is their release): traffic first (one undo per object, from its oldest entry), then workloads newest first', () => {
    const journal = [
      image('run-1'),
      weights(0, 10, 'w10', 'run-1'),
      image('run-2'),
      scale('run-2'),
      weights(0, 10, 'w10', 'run-2'),
      weights(10, 50, 'w50', 'run-2', 'planned'),
    ];
    const plan = planRollback(journal, 'auto');
    expect(plan.release).toEqual({ id: 'run-2', runs: ['run-2'], strategy: 'canary' });
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

  test('a run that only failed changed nothing: the newest release is the one before it', () => {
    const journal = [image('run-1'), image('run-2', 'failed')];
    expect(newestRelease(journal)).toBe('run-1');
    expect(planRollback(journal, 'auto').undos.map((u) => u.target.id)).toEqual(['run-1/image']);
  });

  test('when the newest run is fully compensated, nothing is planned, and older runs are not reached', () => {
    const journal = [image('run-1'), image('run-2', 'compensated')];
    const plan = planRollback(journal, 'auto');
    expect(plan.undos).toEqual([]);
    expect(plan.nothingBecause).toBe('every change of release run-2 (canary) is already undone');
  });

  test('an empty journal: nothing recorded, no run', () => {
    expect(planRollback([], 'all')).toEqual({
      undos: [],
      trafficLeft: [],
      leftAlone: [],
      nothingBecause: 'nothing is recorded in the journal',
    });
  });

  test('auto leaves a rollback alone; mode workload undoes it', () => {
    const undo = entry(
      'run-9',
      'undo-web-to-revision-1',
      { kind: 'undo', previous: { revision: 4 }, next: { revision: 1, images: { app: 'web:1' } } },
      'applied',
      'rollback',
    );
    const journal = [image('run-1'), undo];
    expect(planRollback(journal, 'auto').undos).toEqual([]);
    expect(planRollback(journal, 'auto').nothingBecause).toContain('auto does not undo a rollback');
    expect(planRollback(journal, 'workload').undos.map((u) => u.target.id)).toEqual(['run-9/undo-web-to-revision-1']);
  });

  test('a Deployment the run scaled down gets its replicas back before traffic, also in mode traffic', () => {
    const down = {
      ...entry('run-3', 'scale-down', { kind: 'scale', previous: { replicas: 3 }, next: { replicas: 0 } }),
      object: { kind: 'Deployment', namespace: 'shop', name: 'checkout-blue' },
    };
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

  test('a release made by several runs (start, then promote) is undone as one, from the state before its first run', () => {
    // Before releases, rollback undid only the newest run (the promote): traffic went back to 80/20 onto the canary.
    const journal = [
      inRelease('rel-1', image('run-start')),
      inRelease('rel-1', scale('run-start')),
      inRelease('rel-1', weights(0, 20, 'w20', 'run-start')),
      inRelease('rel-1', weights(20, 50, 'w50', 'run-promote')),
    ];
    const plan = planRollback(journal, 'auto');
    expect(plan.release).toEqual({ id: 'rel-1', runs: ['run-start', 'run-promote'], strategy: 'canary' });
    expect(plan.undos.map((u) => [u.layer, u.target.id, u.entries.map((e) => e.id)])).toEqual([
      ['traffic', 'run-start/w20', ['run-promote/w50', 'run-start/w20']],
      ['workload', 'run-start/scale', ['run-start/scale']],
      ['workload', 'run-start/image', ['run-start/image']],
    ]);
    const traffic = plan.undos[0]!.target.change;
    expect(traffic.kind === 'traffic' && traffic.previous).toEqual({ stable: 100, canary: 0 });
  });

  test('a target names a release or one of its runs; a run that changed nothing has nothing to undo (not a refusal), and never reaches an older release', () => {
    const journal = [
      inRelease('rel-1', image('run-a')),
      inRelease('rel-1', weights(0, 100, 'w100', 'run-b')),
      inRelease('rel-2', image('run-c', 'failed')),
    ];
    expect(planRollback(journal, 'auto', 'rel-1').undos.map((u) => u.target.id)).toEqual(['run-b/w100', 'run-a/image']);
    expect(planRollback(journal, 'auto', 'run-b').release?.id).toBe('rel-1');
    const failed = planRollback(journal, 'auto', 'rel-2');
    expect(failed).toMatchObject({ undos: [], changedNothing: true });
    expect(failed.nothingBecause).toBe('release rel-2 changed nothing (every change it tried failed before it was made)');
    const unknown = planRollback(journal, 'auto', 'run-release-2');
    expect(unknown).toMatchObject({
      undos: [],
      changedNothing: true,
      nothingBecause: 'run-release-2 changed nothing: no change of it is recorded in the journal, so there is nothing to undo',
    });
  });

  test("mode workload lists the release's open traffic, which the rollback checks live before touching workloads", () => {
    const journal = [image('run-1'), scale('run-1'), weights(0, 30, 'w30', 'run-1')];
    const plan = planRollback(journal, 'workload');
    expect(plan.undos.map((u) => u.target.step)).toEqual(['scale', 'image']);
    expect(plan.trafficLeft.map((u) => u.target.id)).toEqual(['run-1/w30']);
  });
});
