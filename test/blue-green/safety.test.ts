import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import { JSON_PATCH } from '../../src/core/kube/json-patch.js';
import { ServiceLock } from '../../src/core/kube/lease-lock.js';
import { waitFor } from '../cluster/helpers.js';
import {
  colorDeployments,
  hostsInputs,
  hostsVirtualService,
  liveHostWeights,
  liveVirtualService,
  runFlow,
  settled,
  startBlueGreenHarness,
  vsPath,
  writes,
  type BlueGreenHarness,
} from './harness.js';

/** What keeps a blue-green run from doing harm: idempotent re-runs, the lock, other writers, dry runs, bad input. */

let h: BlueGreenHarness;
beforeAll(async () => {
  h = await startBlueGreenHarness();
});
afterAll(async () => {
  await h?.close();
});

test('the same run repeated after success writes nothing and does not flip traffic back', async () => {
  await h.cluster.apply([...colorDeployments('checkout'), hostsVirtualService('checkout')]);
  const first = await runFlow(h, hostsInputs('checkout', { image: 'registry.example.com/app:2.0.0' }), 'run-1');
  expect(first.outputs).toMatchObject({ 'active-color': 'green', 'previous-color': 'blue', result: 'switched' });
  const resourceVersion = liveVirtualService(h, 'checkout').metadata.resourceVersion;
  const journalVersion = h.cluster.get('v1', 'ConfigMap', 'shop', 'pd-state-checkout').metadata.resourceVersion;

  h.cluster.resetRequests();
  const again = await runFlow(h, hostsInputs('checkout', { image: 'registry.example.com/app:2.0.0' }), 'run-1');
  expect(again.failure).toBeUndefined();
  expect(again.outputs).toEqual(first.outputs);
  expect(liveHostWeights(h, 'checkout')).toEqual({ blue: 0, green: 100 });
  expect(liveVirtualService(h, 'checkout').metadata.resourceVersion).toBe(resourceVersion);
  expect(h.cluster.get('v1', 'ConfigMap', 'shop', 'pd-state-checkout').metadata.resourceVersion).toBe(journalVersion);
  // The only writes are the lock's (take, release): no VirtualService, Deployment or journal write.
  expect(writes(h).filter((w) => !w.includes('/leases/'))).toEqual([]);
  expect(again.context.reporter.messages('info').join('\n')).toMatch(/Run run-1 already switched traffic to green at .*: nothing to do/);

  // A new run switches again, from green back to blue: the live router decides, not the last run.
  const next = await runFlow(h, hostsInputs('checkout'), 'run-2');
  expect(next.outputs).toMatchObject({ 'active-color': 'blue', 'previous-color': 'green', result: 'switched' });
  expect(liveHostWeights(h, 'checkout')).toEqual({ blue: 100, green: 0 });
});

test('a run started while another holds the lock waits, then fails naming the holder, and changes nothing', async () => {
  await h.cluster.apply([...colorDeployments('orders'), hostsVirtualService('orders')]);
  const holder = await ServiceLock.acquire(h.other, {
    namespace: 'shop',
    service: 'orders',
    holder: 'run-deploying',
    leaseDurationSeconds: 30,
  });
  try {
    const before = liveVirtualService(h, 'orders').metadata.resourceVersion;
    const started = Date.now();
    const run = await runFlow(h, hostsInputs('orders', { 'lock-timeout': '1s' }), 'run-3');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // The run still sets result, for the workflow to branch on (issue 15).
    expect(run.outputs).toEqual({ result: 'failed' });
    expect(run.failure!.message).toMatch(/^Lease shop\/pd-lock-orders: held by run run-deploying since .*gave up after waiting/);
    expect(liveVirtualService(h, 'orders').metadata.resourceVersion).toBe(before);
    expect(h.cluster.get('v1', 'ConfigMap', 'shop', 'pd-state-orders')).toBeUndefined();
  } finally {
    await holder.release();
  }
});

test('a VirtualService edited by someone else between our read and our write keeps their edit and gets our weights', async () => {
  await h.cluster.apply([...colorDeployments('search'), hostsVirtualService('search')]);
  h.cluster.resetRequests();
  // Hold our weight write at the server; meanwhile an operator raises the retries of the same route.
  h.cluster.faults.add({ method: 'PATCH', path: vsPath('search'), delayMs: 300, times: 1 });
  const run = runFlow(h, hostsInputs('search'), 'run-4');
  await waitFor(() => h.cluster.requests.some((r) => r.method === 'PATCH' && r.path === vsPath('search')), 5000, 'our PATCH');
  await h.other.call('patch', { kind: 'VirtualService', namespace: 'shop', name: 'search' }, () =>
    h.other.custom.patchNamespacedCustomObject(
      {
        group: 'networking.istio.io',
        version: 'v1',
        plural: 'virtualservices',
        namespace: 'shop',
        name: 'search',
        body: [{ op: 'replace', path: '/spec/http/0/retries/attempts', value: 5 }],
      },
      JSON_PATCH,
    ),
  );
  const { outputs, failure } = await run;
  expect(failure).toBeUndefined();
  expect(outputs.result).toBe('switched');
  const vs = liveVirtualService(h, 'search');
  expect(vs.spec.http[0].retries.attempts).toBe(5);
  expect(liveHostWeights(h, 'search')).toEqual({ blue: 0, green: 100 });
  const ours = h.cluster.requests.filter((r) => r.method === 'PATCH' && r.path === vsPath('search')).map((r) => r.status);
  expect(ours[0]).toBeGreaterThanOrEqual(409); // refused: the object had moved on
  expect(ours.at(-1)).toBe(200);
});

test('a dry run prints the plan and leaves every object as it was', async () => {
  await h.cluster.apply([...colorDeployments('cart'), hostsVirtualService('cart')]);
  await settled(h, ['shop-blue', 'cart'], ['shop-green', 'cart']);
  const versions = () => [
    liveVirtualService(h, 'cart').metadata.resourceVersion,
    h.cluster.get('apps/v1', 'Deployment', 'shop-blue', 'cart').metadata.resourceVersion,
    h.cluster.get('apps/v1', 'Deployment', 'shop-green', 'cart').metadata.resourceVersion,
  ];
  const before = versions();
  h.cluster.resetRequests();
  const { outputs, failure, context } = await runFlow(
    h,
    hostsInputs('cart', {
      'dry-run': 'true',
      image: 'registry.example.com/app:2.0.0',
      steps: '25,100',
      'scale-down-after': '10m',
      'smoke-command': 'false',
    }),
    'run-5',
  );
  expect(failure).toBeUndefined();
  expect(outputs).toEqual({ 'active-color': 'blue', 'previous-color': 'blue', result: 'planned', 'switched-at': '' });
  expect(versions()).toEqual(before);
  expect(writes(h)).toEqual([]);
  expect(h.cluster.get('v1', 'ConfigMap', 'shop', 'pd-state-cart')).toBeUndefined();
  expect(h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-cart')).toBeUndefined();
  const log = context.reporter.messages('info').join('\n');
  expect(log).toContain('live blue 100%, green 0%. Active blue; switching to green in steps 25, 100%');
  expect(log).toContain(
    '[dry run] would image: Deployment shop-green/cart container app: registry.example.com/app:1.0.0 -> registry.example.com/app:2.0.0',
  );
  expect(log).toMatch(/\[dry run\] would traffic-25: VirtualService shop\/cart .*-> .*"cart-green.shop-green.svc.cluster.local":25/);
  expect(log).toMatch(/Step 2\/2: VirtualService shop\/cart HTTP route "primary": .* would route blue 0%, green 100%/);
  expect(log).toContain('Dry run: nothing was changed.');
  expect(log).toContain('Dry run: would scale Deployment shop-blue/cart to 0 after 10m');
  expect(context.reporter.summaries.join('\n')).toMatch(/After \(planned\) \| green \(blue 0%, green 100%\)/);
});

describe('bad input never reaches the cluster', () => {
  test.each([
    [{ router: 'service', steps: '10,100' }, /steps: router service switches a Service selector, which cannot split traffic/],
    [{ green: 'same', blue: 'same' }, /green: must differ from blue/],
    [{ 'validation-duration': '5m' }, /validation-duration: needs the analysis input/],
    [{ analysis: 'metrics: [{ name: x, provider: { prometheus: { query: up } }, successCondition: "result[0] <" }]' }, /analysis input/],
    [
      { analysis: 'metrics: [{ name: x, interval: 1m, provider: { prometheus: { address: "http://p:9090", query: up } } }]' },
      /step-analysis-duration: metric 'x' has an interval but no count/,
    ],
    [
      { analysis: 'metrics: [{ name: x, provider: { prometheus: { address: "http://p:9090", query: "up{a=\\"{{args.team}}\\"}" } } }]' },
      /no argument 'team' was given/,
    ],
    [{ container: 'app' }, /container: only used with image/],
  ])('%o', async (extra, message) => {
    h.cluster.resetRequests();
    const error = await runFlow(h, { ...hostsInputs('ghost'), ...extra }, 'run-6').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
    expect(h.cluster.requests).toEqual([]);
  });

  test('a split left by another run is refused, pointing at the rollback action', async () => {
    await h.cluster.apply([...colorDeployments('split'), hostsVirtualService('split', 70)]);
    const before = liveVirtualService(h, 'split').metadata.resourceVersion;
    const { outputs, failure } = await runFlow(h, hostsInputs('split', { image: 'registry.example.com/app:2.0.0' }), 'run-7');
    expect(outputs.result).toBe('failed');
    expect(failure?.message).toMatch(
      /^VirtualService shop\/split routes blue 70%, green 30%: neither color takes all traffic, so a previous run stopped mid-switch\. Run the rollback action \(mode: traffic\)/,
    );
    expect(liveVirtualService(h, 'split').metadata.resourceVersion).toBe(before);
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop-green', 'split').spec.template.spec.containers[0].image).toBe(
      'registry.example.com/app:1.0.0',
    );
  });
});
