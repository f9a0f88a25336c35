import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ArgoRollout } from '../../src/core/kube/argo-rollout.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import {
  blueGreenFixtures,
  canaryFixtures,
  clientFor,
  deliver,
  deployment,
  journalOf,
  journaledImage,
  journaledScale,
  journaledWeights,
  liveDeployment,
  liveWeights,
  rollBack,
  writesSince,
} from './harness.js';

/**
 * The rollback flow against the test API server, after runs recorded through the real delivery
 * session: it undoes the newest run's changes with the values that run recorded, traffic first.
 */
let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 20 });
});
afterAll(async () => {
  await cluster?.stop();
});

describe('after a blue-green switch', () => {
  const t = { namespace: 'bg', service: 'checkout' };
  const f = blueGreenFixtures(t);
  const green = { namespace: t.namespace, name: 'checkout-green' };

  test('puts the weights back exactly, then the idle color image, traffic first; each entry marked compensated', async () => {
    await cluster.apply(f.objects);
    await deliver(cluster, t, { runId: 'run-100', strategy: 'blue-green' }, async (s) => {
      await journaledImage(s, green, 'checkout:2.0');
      await journaledWeights(s, 'switch', f.router, { [f.blue]: 0, [f.green]: 100 });
    });
    expect(liveWeights(cluster, t)).toEqual([0, 100]);
    expect(liveDeployment(cluster, green).image).toBe('checkout:2.0');

    const since = cluster.requests.length;
    const run = await rollBack(cluster, t, { reason: 'p95 | latency <script>' });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('rolled-back');
    expect(liveWeights(cluster, t)).toEqual([100, 0]);
    expect(liveDeployment(cluster, green).image).toBe('checkout:1.0');
    expect(run.actions).toEqual([
      {
        entry: 'run-100/switch',
        entries: ['run-100/switch'],
        layer: 'traffic',
        step: 'switch',
        object: 'VirtualService bg/checkout',
        before: `${f.blue} 0%, ${f.green} 100%`,
        after: `${f.blue} 100%, ${f.green} 0%`,
      },
      {
        entry: 'run-100/image-checkout-green',
        entries: ['run-100/image-checkout-green'],
        layer: 'workload',
        step: 'image-checkout-green',
        object: 'Deployment bg/checkout-green',
        before: 'checkout:2.0',
        after: 'checkout:1.0',
      },
    ]);

    // Traffic was written back before the Deployment was touched.
    const writes = writesSince(cluster, since);
    const trafficWrite = writes.indexOf('PATCH /apis/networking.istio.io/v1/namespaces/bg/virtualservices/checkout');
    const imageWrite = writes.indexOf('PATCH /apis/apps/v1/namespaces/bg/deployments/checkout-green');
    expect(trafficWrite).toBeGreaterThanOrEqual(0);
    expect(imageWrite).toBeGreaterThan(trafficWrite);

    const journal = await journalOf(cluster, t);
    expect(journal.map((e) => [e.id, e.status])).toEqual([
      ['run-100/image-checkout-green', 'compensated'],
      ['run-100/switch', 'compensated'],
    ]);
    expect(journal[1]!.compensatedAt! <= journal[0]!.compensatedAt!).toBe(true);

    // The summary lists each compensation with before and after, escaped.
    expect(run.summary).toContain('### What the rollback undid: checkout in bg');
    expect(run.summary).toContain('| # | Layer | Object | Step undone | Before | After | Journal entries |');
    expect(run.summary).toContain(
      `| 1 | traffic | VirtualService bg/checkout | switch | ${f.blue} 0%, ${f.green} 100% | ${f.blue} 100%, ${f.green} 0% | \`run-100/switch\` |`,
    );
    expect(run.summary).toContain('p95 \\| latency &lt;script&gt;');
    expect(run.summary).not.toContain('<script>');
  });

  test('run twice: the second run finds nothing left to undo, succeeds, and writes nothing but its lock', async () => {
    const since = cluster.requests.length;
    const run = await rollBack(cluster, t);
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('nothing-to-do');
    expect(run.actions).toEqual([]);
    expect(run.log).toContain('every change of release run-100 (blue-green) is already undone');
    expect(writesSince(cluster, since).filter((w) => !/\/leases(\/|$)/.test(w))).toEqual([]);
    expect(liveWeights(cluster, t)).toEqual([100, 0]);
  });
});

describe('after a canary stuck at 50%', () => {
  const t = { namespace: 'cn', service: 'payments' };
  const f = canaryFixtures(t);

  test('traffic goes straight back to 100% stable in one write, then the canary image and scale are undone as recorded', async () => {
    await cluster.apply(f.objects);
    await deliver(cluster, t, { runId: 'run-200', strategy: 'canary' }, async (s) => {
      await journaledImage(s, f.canary, 'payments:2.0');
      await journaledScale(s, f.canary, 1);
      for (const weight of [10, 25, 50]) await journaledWeights(s, `traffic-${weight}`, f.router, { stable: 100 - weight, canary: weight });
    });
    expect(liveWeights(cluster, t)).toEqual([50, 50]);
    expect(liveDeployment(cluster, f.canary)).toMatchObject({ image: 'payments:2.0', replicas: 1 });

    const since = cluster.requests.length;
    const run = await rollBack(cluster, t);
    expect(run.outputs.result).toBe('rolled-back');
    expect(liveWeights(cluster, t)).toEqual([100, 0]);
    expect(liveDeployment(cluster, f.canary)).toMatchObject({ image: 'payments:1.0', replicas: 0 });

    expect(run.actions.map((a) => [a.layer, a.entry, a.before, a.after])).toEqual([
      ['traffic', 'run-200/traffic-10', 'stable 50%, canary 50%', 'stable 100%, canary 0%'],
      ['workload', 'run-200/scale-payments-canary', '1 replicas', '0 replicas'],
      ['workload', 'run-200/image-payments-canary', 'payments:2.0', 'payments:1.0'],
    ]);
    expect(run.actions[0]!.entries).toEqual(['run-200/traffic-10', 'run-200/traffic-25', 'run-200/traffic-50']);
    const vsWrites = writesSince(cluster, since).filter((w) => w.includes('/virtualservices/'));
    expect(vsWrites).toHaveLength(1);

    const journal = await journalOf(cluster, t);
    expect(journal.every((e) => e.status === 'compensated')).toBe(true);
  });
});

describe('after a plain image update', () => {
  const t = { namespace: 'web', service: 'web' };
  const web = { namespace: 'web', name: 'web' };

  test('auto puts the previous image back (the old template returns as the newest revision)', async () => {
    await cluster.apply(deployment('web', 'web', 'web:1'));
    await deliver(cluster, t, { runId: 'run-300', strategy: 'canary' }, (s) => journaledImage(s, web, 'web:2'));
    await deliver(cluster, t, { runId: 'run-301', strategy: 'canary' }, (s) => journaledImage(s, web, 'web:3'));
    expect(liveDeployment(cluster, web)).toMatchObject({ image: 'web:3', revision: 3 });

    const run = await rollBack(cluster, t);
    expect(run.outputs.result).toBe('rolled-back');
    expect(run.actions.map((a) => [a.entry, a.before, a.after])).toEqual([['run-301/image-web', 'web:3', 'web:2']]);
    // waited for the rollout: every replica runs the restored template, as revision 4
    expect(liveDeployment(cluster, web)).toMatchObject({ image: 'web:2', revision: 4 });
    const live = cluster.get('apps/v1', 'Deployment', 'web', 'web');
    expect(live.status).toMatchObject({ updatedReplicas: 2, availableReplicas: 2, replicas: 2 });

    // Only the newest run is undone: a second rollback does not reach back to run-300.
    const again = await rollBack(cluster, t);
    expect(again.outputs.result).toBe('nothing-to-do');
    expect(liveDeployment(cluster, web).image).toBe('web:2');
  });

  test('workload with to-revision rolls back to that revision, waits, journals it; run twice is nothing-to-do', async () => {
    const before = liveDeployment(cluster, web);
    expect(before.revision).toBe(4);
    const run = await rollBack(cluster, t, { mode: 'workload', 'to-revision': '1', reason: 'bad build' }, { runId: 'run-rb-7' });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('rolled-back');
    expect(liveDeployment(cluster, web)).toMatchObject({ image: 'web:1', revision: 5 });
    expect(run.actions).toEqual([
      {
        entry: 'run-rb-7/undo-web-to-revision-1',
        entries: ['run-rb-7/undo-web-to-revision-1'],
        layer: 'workload',
        step: 'undo-web-to-revision-1',
        object: 'Deployment web/web',
        before: 'revision 4 (app=web:2)',
        after: 'revision 1 (app=web:1), now revision 5',
      },
    ]);
    const undo = (await journalOf(cluster, t)).at(-1)!;
    expect(undo).toMatchObject({
      id: 'run-rb-7/undo-web-to-revision-1',
      strategy: 'rollback',
      status: 'applied',
      change: { kind: 'undo', previous: { revision: 4 }, next: { revision: 1, images: { app: 'web:1' } } },
    });

    // Revision 1 was renumbered 5 by the rollout; the journal says this undo already happened.
    const twice = await rollBack(cluster, t, { mode: 'workload', 'to-revision': '1' });
    expect(twice.failure).toBeUndefined();
    expect(twice.outputs.result).toBe('nothing-to-do');
    expect(twice.log).toContain('was already put back to revision 1 by run run-rb-7');
    expect(liveDeployment(cluster, web).revision).toBe(5);
  });

  test('auto does not undo a rollback; mode workload does, on purpose', async () => {
    const auto = await rollBack(cluster, t);
    expect(auto.failure).toBeUndefined();
    expect(auto.outputs.result).toBe('nothing-to-do');
    expect(auto.log).toContain('auto does not undo a rollback');
    expect(liveDeployment(cluster, web).image).toBe('web:1');

    const undo = await rollBack(cluster, t, { mode: 'workload' });
    expect(undo.outputs.result).toBe('rolled-back');
    expect(undo.actions.map((a) => [a.entry, a.before, a.after])).toEqual([
      ['run-rb-7/undo-web-to-revision-1', 'revision 1', 'revision 4'],
    ]);
    expect(liveDeployment(cluster, web).image).toBe('web:2');
  });

  test('a revision not in the history is refused before anything is recorded', async () => {
    const journal = await journalOf(cluster, t);
    const run = await rollBack(cluster, t, { mode: 'workload', 'to-revision': '42' });
    expect(run.outputs.result).toBe('failed');
    expect(run.failure!.message).toMatch(
      /Deployment web\/web: has no revision 42 in its history \(revisions [\d, ]+\); nothing was changed/,
    );
    expect(await journalOf(cluster, t)).toEqual(journal);
    // Not the "compensations were applied" boilerplate: nothing was.
    expect(run.failure!.message).not.toContain('compensations');
    expect(run.failure!.message).toMatch(/Nothing was changed\.$/);
  });
});

describe('refusals', () => {
  test('nothing recorded: a clear refusal naming the service, no change to anything but the lock', async () => {
    await cluster.apply(deployment('empty', 'cart', 'cart:1'));
    const since = cluster.requests.length;
    const run = await rollBack(cluster, { namespace: 'empty', service: 'cart' });
    expect(run.failure).toBeDefined();
    expect(run.outputs.result).toBe('nothing-to-do');
    expect(run.failure!.message).toContain('Refused: nothing is recorded for cart in empty (journal ConfigMap pd-state-cart)');
    expect(run.failure!.message).toContain('never guesses');
    expect(writesSince(cluster, since).filter((w) => !/\/leases(\/|$)/.test(w))).toEqual([]);
    expect(cluster.get('v1', 'ConfigMap', 'empty', 'pd-state-cart')).toBeUndefined();
  });

  test('inputs that do not fit together are refused naming the input and the fix', async () => {
    const t = { namespace: 'empty', service: 'cart' };
    await expect(rollBack(cluster, t, { 'to-revision': '2' })).rejects.toThrow("'to-revision' is used only with mode workload");
    await expect(rollBack(cluster, t, { mode: 'migration' })).rejects.toThrow("'database-url' is required with mode migration");
    await expect(rollBack(cluster, t, { deployment: 'cart' })).rejects.toThrow("'deployment' names the Deployment for 'to-revision'");
  });
});

describe('dry run', () => {
  const t = { namespace: 'dry', service: 'shop' };
  const f = blueGreenFixtures(t);

  test('lists what it would undo with the live values, and sends nothing but reads', async () => {
    await cluster.apply(f.objects);
    await deliver(cluster, t, { runId: 'run-400', strategy: 'blue-green' }, async (s) => {
      await journaledImage(s, { namespace: 'dry', name: 'shop-green' }, 'shop:2.0');
      await journaledWeights(s, 'switch', f.router, { [f.blue]: 0, [f.green]: 100 });
    });
    const journal = await journalOf(cluster, t);
    const since = cluster.requests.length;
    const run = await rollBack(cluster, t, { 'dry-run': 'true' });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('planned');
    expect(run.actions.map((a) => [a.layer, a.entry, a.before, a.after])).toEqual([
      ['traffic', 'run-400/switch', `${f.blue} 0%, ${f.green} 100%`, `${f.blue} 100%, ${f.green} 0%`],
      ['workload', 'run-400/image-shop-green', 'shop:2.0', 'shop:1.0'],
    ]);
    expect(run.summary).toContain('What the rollback would undo (dry run: nothing was changed)');
    expect(writesSince(cluster, since)).toEqual([]);
    expect(liveWeights(cluster, t)).toEqual([0, 100]);
    expect(await journalOf(cluster, t)).toEqual(journal);
  });
});

describe('a rollback that fails midway', () => {
  const t = { namespace: 'half', service: 'cart' };
  const f = blueGreenFixtures(t);
  const green = { namespace: t.namespace, name: 'cart-green' };

  test('stops after the step that failed, reports what it undid, marks nothing; run again: traffic already as before is left, the rest is undone', async () => {
    await cluster.apply(f.objects);
    await deliver(cluster, t, { runId: 'run-500', strategy: 'blue-green' }, async (s) => {
      await journaledImage(s, green, 'cart:2.0');
      await journaledWeights(s, 'switch', f.router, { [f.blue]: 0, [f.green]: 100 });
    });
    cluster.faults.add({ method: 'PATCH', path: '/apis/apps/v1/namespaces/half/deployments/cart-green', status: 403, times: 1 });

    const first = await rollBack(cluster, t);
    expect(first.outputs.result).toBe('failed');
    expect(first.actions.map((a) => a.entry)).toEqual(['run-500/switch']);
    expect(first.failure!.message).toMatch(
      /^Failed: could not undo image-cart-green of Deployment half\/cart-green \(journal entry run-500\/image-cart-green\): .*403/,
    );
    expect(first.summary).toContain('What the rollback undid before it failed');
    expect(liveWeights(cluster, t)).toEqual([100, 0]);
    expect(liveDeployment(cluster, green).image).toBe('cart:2.0');
    // The release is recorded as undone only once the cluster reads back as before it.
    expect((await journalOf(cluster, t)).map((e) => [e.step, e.status])).toEqual([
      ['image-cart-green', 'applied'],
      ['switch', 'applied'],
    ]);

    const second = await rollBack(cluster, t);
    expect(second.failure).toBeUndefined();
    expect(second.outputs.result).toBe('rolled-back');
    expect(second.actions.map((a) => [a.entry, a.before, a.after])).toEqual([['run-500/image-cart-green', 'cart:2.0', 'cart:1.0']]);
    expect(second.log).toMatch(/VirtualService half\/cart is already .*as before release run-500: nothing to undo there/);
    expect((await journalOf(cluster, t)).map((e) => [e.step, e.status])).toEqual([
      ['image-cart-green', 'compensated'],
      ['switch', 'compensated'],
    ]);
    expect(liveDeployment(cluster, green).image).toBe('cart:1.0');
    expect(liveWeights(cluster, t)).toEqual([100, 0]);
  });
});

describe('after an Argo Rollouts canary promoted to 50%', () => {
  const t = { namespace: 'argo', service: 'pay' };

  test('aborts the Rollout: the controller sends all traffic back to stable', async () => {
    await cluster.apply({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'pay', namespace: 'argo' },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'pay' } },
        template: { metadata: { labels: { app: 'pay' } }, spec: { containers: [{ name: 'app', image: 'pay:1' }] } },
        strategy: { canary: { steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }] } },
      },
    });
    const ro = new ArgoRollout(clientFor(cluster), 'argo', 'pay');
    await ro.waitFor('healthy', { timeoutMs: 20_000 });
    await ro.setImage('pay:2');
    await ro.waitFor('paused', { timeoutMs: 20_000 });
    await deliver(cluster, t, { runId: 'run-900', strategy: 'canary' }, async (s) => {
      await s.change(
        'promote-50',
        ro.ref,
        { kind: 'argo', action: 'promote', previous: { stepIndex: 1, weight: 25 }, next: { stepIndex: 3, weight: 50 } },
        () => ro.promote(),
      );
    });
    expect(await ro.waitFor('paused', { timeoutMs: 20_000 })).toMatchObject({ actualWeight: 50 });

    const run = await rollBack(cluster, t);
    expect(run.outputs.result).toBe('rolled-back');
    expect(run.actions.map((a) => [a.layer, a.entry, a.before, a.after])).toEqual([
      ['traffic', 'run-900/promote-50', '50% canary', '0% canary (aborted)'],
    ]);
    const status = await ro.status();
    expect(status).toMatchObject({ aborted: true, setWeight: 0 });
    expect((await journalOf(cluster, t)).map((e) => e.status)).toEqual(['compensated']);
  });
});

describe('after a blue-green switch that scaled the old color down', () => {
  const t = { namespace: 'bgs', service: 'search' };
  const f = blueGreenFixtures(t);
  const blue = { namespace: t.namespace, name: 'search-blue' };
  const green = { namespace: t.namespace, name: 'search-green' };

  test('scales the old color back up and waits for it before traffic returns to it, then the rest', async () => {
    await cluster.apply(f.objects);
    await deliver(cluster, t, { runId: 'run-550', strategy: 'blue-green' }, async (s) => {
      await journaledImage(s, green, 'search:2.0');
      await journaledWeights(s, 'switch', f.router, { [f.blue]: 0, [f.green]: 100 });
      await journaledScale(s, blue, 0);
    });
    expect(liveDeployment(cluster, blue).replicas).toBe(0);

    const since = cluster.requests.length;
    const run = await rollBack(cluster, t);
    expect(run.outputs.result).toBe('rolled-back');
    expect(run.actions.map((a) => [a.layer, a.step, a.before, a.after])).toEqual([
      ['capacity', 'scale-search-blue', '0 replicas', '2 replicas'],
      ['traffic', 'switch', `${f.blue} 0%, ${f.green} 100%`, `${f.blue} 100%, ${f.green} 0%`],
      ['workload', 'image-search-green', 'search:2.0', 'search:1.0'],
    ]);
    const writes = writesSince(cluster, since);
    const scaleUp = writes.indexOf('PATCH /apis/apps/v1/namespaces/bgs/deployments/search-blue/scale');
    const traffic = writes.indexOf('PATCH /apis/networking.istio.io/v1/namespaces/bgs/virtualservices/search');
    expect(scaleUp).toBeGreaterThanOrEqual(0);
    expect(traffic).toBeGreaterThan(scaleUp);
    expect(run.log).toContain('Deployment bgs/search-blue: 2 replicas ready before traffic returns to it');
    expect(cluster.get('apps/v1', 'Deployment', 'bgs', 'search-blue').status).toMatchObject({ availableReplicas: 2 });
    expect(liveWeights(cluster, t)).toEqual([100, 0]);
  });
});

describe('an image change recorded on an Argo Rollout', () => {
  const t = { namespace: 'argo', service: 'shipping' };

  test('the Rollout gets its previous image back, and a Deployment of the same name is not touched', async () => {
    await cluster.apply([
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'shipping', namespace: 'argo' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'shipping' } },
          template: { metadata: { labels: { app: 'shipping' } }, spec: { containers: [{ name: 'app', image: 'shipping:1' }] } },
          strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
        },
      },
      // A Deployment that happens to share the name: it must not be touched.
      deployment('argo', 'shipping', 'shipping-legacy:7', 1),
    ]);
    const ro = new ArgoRollout(clientFor(cluster), 'argo', 'shipping');
    await ro.waitFor('healthy', { timeoutMs: 20_000 });
    await deliver(cluster, t, { runId: 'run-910', strategy: 'canary' }, async (s) => {
      await s.change(
        'canary-image',
        ro.ref,
        { kind: 'image', container: 'app', previous: { image: 'shipping:1' }, next: { image: 'shipping:2' } },
        () => ro.setImage('shipping:2'),
      );
    });
    await ro.waitFor('paused', { timeoutMs: 20_000 });

    const run = await rollBack(cluster, t);
    expect(run.outputs.result).toBe('rolled-back');
    expect(cluster.get('argoproj.io/v1alpha1', 'Rollout', 'argo', 'shipping').spec.template.spec.containers[0].image).toBe('shipping:1');
    expect(liveDeployment(cluster, { namespace: 'argo', name: 'shipping' }).image).toBe('shipping-legacy:7');
  });
});
