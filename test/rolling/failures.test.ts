import { afterAll, beforeAll, expect, test } from 'vitest';
import { deployed, imageOf, journal, live, OLD, podImages, revisionOf, roll, settled, startHarness, type Harness } from './harness.js';

/**
 * A rollout whose pods never become ready (ImagePullBackOff): the Deployment's progress deadline
 * (400 ms on this cluster) ends the wait, the previous image is put back through the journal's
 * compensation, its rollout waited for and read back, and the run says rolled-back. When the
 * previous image cannot roll out either, the run says failed, where the Deployment stands, and that
 * the rollback action can finish it.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ progressDeadlineMs: 400 });
});
afterAll(async () => {
  await h?.close();
});

const BROKEN = 'registry.example.com/checkout:2.0.0-fail-rollout';

test('pods that never become ready: the progress deadline ends the rollout, the previous image is back, rolled-back', async () => {
  await deployed(h, 'shop', 'checkout');
  const run = await roll(h, { namespace: 'shop', service: 'checkout', image: BROKEN }, 'run-1');

  expect(run.outputs).toEqual({ result: 'rolled-back', 'previous-image': OLD, image: OLD, revision: '3' });
  expect(run.failure?.message).toMatch(
    /^Deployment shop\/checkout: rollout failed: ProgressDeadlineExceeded: .*\(1\/3 updated, 1 unavailable, 3 old still running; ImagePullBackOff on pod checkout-[a-z0-9-]+\); Deployment shop\/checkout is back on registry\.example\.com\/checkout:1\.0\.0 \(revision 3\), rolled out and read back$/,
  );
  // Read back: the old image in the spec, every pod of it ready, none of the broken one left.
  await settled(h, 'shop', 'checkout');
  expect(imageOf(h, 'shop', 'checkout')).toBe(OLD);
  expect(podImages(h, 'shop', 'checkout')).toEqual([OLD, OLD, OLD]);
  expect(revisionOf(h, 'shop', 'checkout')).toBe('3');

  // The change is journaled, and its undo too: neither the post step nor a rollback undoes it again.
  const [entry, ...rest] = await journal(h, 'shop', 'checkout');
  expect(rest).toEqual([]);
  expect(entry).toMatchObject({ id: 'run-1/image', status: 'compensated', change: { previous: { image: OLD }, next: { image: BROKEN } } });
  expect(entry!.compensatedAt).toBeDefined();

  const summary = run.context.reporter.summaries.join('\n');
  expect(summary).toMatch(/^## ↩️ Deploy checkout 2\.0\.0-fail-rollout/);
  expect(summary).toContain('Rolled back (rolled-back)');
  expect(summary).toContain('### Rolling update: rolled-back');
  expect(summary).toContain(`| After | \`${OLD} (revision 3)\` |`);
  expect(summary).not.toContain('How to roll back');
  expect(run.text).toContain(`warn: Deployment shop/checkout: putting container app back to ${OLD}`);
});

test('the previous image cannot roll out either: failed, saying where the Deployment stands and that rollback can finish it', async () => {
  const before = 'registry.example.com/checkout:1.0.0-fail-rollout';
  await h.cluster.apply([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'stuck', namespace: 'shop' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'stuck' } },
        template: { metadata: { labels: { app: 'stuck' } }, spec: { containers: [{ name: 'app', image: before }] } },
      },
    },
  ]);
  const run = await roll(h, { namespace: 'shop', service: 'stuck', image: BROKEN }, 'run-2');
  expect(run.outputs).toMatchObject({ result: 'failed', 'previous-image': before, image: before });
  expect(run.failure?.message).toMatch(
    /^Deployment shop\/stuck: rollout failed: ProgressDeadlineExceeded: .*; putting registry\.example\.com\/checkout:1\.0\.0-fail-rollout back failed: Deployment shop\/stuck: rollout failed: ProgressDeadlineExceeded: .*\. Deployment shop\/stuck: container app is set to registry\.example\.com\/checkout:1\.0\.0-fail-rollout \(revision 3\); rollout failed \(ProgressDeadlineExceeded\): .*\. Run the rollback action \(service stuck, release run-2\) to put registry\.example\.com\/checkout:1\.0\.0-fail-rollout back once the cause is fixed$/,
  );
  // The entry stays open: the rollback action is what finishes it.
  expect((await journal(h, 'shop', 'stuck')).map((e) => [e.id, e.status])).toEqual([['run-2/image', 'applied']]);
  expect(live(h, 'shop', 'stuck').spec.template.spec.containers[0].image).toBe(before);
});
