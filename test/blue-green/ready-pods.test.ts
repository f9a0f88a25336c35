import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Clock } from '../../src/core/metrics/clock.js';
import { scaleDeployment } from '../../src/core/kube/deployment.js';
import { JSON_PATCH } from '../../src/core/kube/json-patch.js';
import { waitFor } from '../cluster/helpers.js';
import { rollBack } from '../rollback/harness.js';
import { FIXED_DAY, httpTraffic, startPrometheus, toOpenMetrics, type PrometheusServer } from '../support/prometheus.js';
import {
  colorDeployments,
  fakeClock,
  hostsInputs,
  hostsVirtualService,
  journal,
  liveHostWeights,
  liveVirtualService,
  runFlow,
  settled,
  startBlueGreenHarness,
  vsPath,
  writes,
  type BlueGreenHarness,
} from './harness.js';

/**
 * No weight goes to a color without ready pods, and a switch or a switch back says where traffic
 * is only after reading it back. Release after release against the test cluster: a color scaled
 * down by `scale-down-after` is scaled up (journaled) before the next switch sends it traffic,
 * and a rollback of that release puts traffic back and scales it down again.
 */

const T0 = FIXED_DAY + 30 * 60;
let h: BlueGreenHarness;
let prom: PrometheusServer;

beforeAll(async () => {
  const span = { from: FIXED_DAY, to: FIXED_DAY + 60 * 60, stepSeconds: 15, rps: 20 };
  [h, prom] = await Promise.all([
    startBlueGreenHarness(),
    startPrometheus({
      openMetrics: toOpenMetrics(
        httpTraffic({ ...span, service: 'healthy', version: 'green', errorRatio: () => 0.001 }),
        httpTraffic({ ...span, service: 'rising', version: 'green', errorRatio: (t) => (t > T0 + 180 ? 0.2 : 0.001) }),
      ),
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([h?.close(), prom?.stop()]);
});

const ERROR_RATE = `
metrics:
  - name: error-rate
    interval: 1m
    successCondition: result[0] < 0.05
    provider:
      prometheus:
        query: sum(rate(http_requests_total{service="{{args.app}}",version="{{args.color}}",code="500"}[2m])) / sum(rate(http_requests_total{service="{{args.app}}",version="{{args.color}}"}[2m]))
`;

const validation = (app: string) => ({
  analysis: ERROR_RATE,
  'analysis-args': `app: ${app}`,
  'prometheus-address': prom.url,
  'pre-switch-analysis': 'false',
  'validation-duration': '5m',
});

const dep = (color: string, service: string) => h.cluster.get('apps/v1', 'Deployment', `shop-${color}`, service);
const imageOf = (color: string, service: string) => dep(color, service).spec.template.spec.containers[0].image;

/** A clock that runs `once` (another writer's edit) the first time the analysis waits. */
function clockThatEdits(once: () => Promise<void>): Clock {
  const base = fakeClock(T0 * 1000);
  let done = false;
  return {
    now: base.now,
    sleep: async (ms, signal) => {
      if (!done) {
        done = true;
        await once();
      }
      await base.sleep(ms, signal);
    },
  };
}

/** Release 1: blue -> green with image 2.0.0 and scale-down-after 0s, so blue is left at 0 replicas. */
async function releaseOne(service: string): Promise<void> {
  await h.cluster.apply([...colorDeployments(service), hostsVirtualService(service)]);
  await settled(h, ['shop-blue', service], ['shop-green', service]);
  const first = await runFlow(
    h,
    hostsInputs(service, { image: 'registry.example.com/app:2.0.0', 'scale-down-after': '0s' }),
    `rel-1-${service}`,
  );
  expect(first.failure).toBeUndefined();
  expect(first.outputs).toMatchObject({ 'active-color': 'green', result: 'switched' });
  await waitFor(
    () => dep('blue', service).status?.readyReplicas === 0 || dep('blue', service).status?.readyReplicas === undefined,
    5000,
    'blue to have no pods',
  );
  expect(dep('blue', service).spec.replicas).toBe(0);
  expect(liveHostWeights(h, service)).toEqual({ blue: 0, green: 100 });
}

describe('a color scaled down by the last release', () => {
  test('is scaled up and ready before the next switch sends it traffic; rollback of that release puts traffic back and scales it down again', async () => {
    await releaseOne('orders');
    // A dry run of release 2 says it would scale blue up, and changes nothing.
    const versions = () =>
      [liveVirtualService(h, 'orders'), dep('blue', 'orders'), dep('green', 'orders')].map((o) => o.metadata.resourceVersion);
    const untouched = versions();
    const dry = await runFlow(h, hostsInputs('orders', { image: 'registry.example.com/app:3.0.0', 'dry-run': 'true' }), 'rel-2-orders-dry');
    expect(dry.outputs.result).toBe('planned');
    expect(dry.context.reporter.messages('info')).toContain('[dry run] would scale-up: Deployment shop-blue/orders replicas 0 -> 2');
    expect(versions()).toEqual(untouched);
    h.cluster.resetRequests();

    // Release 2: green -> blue with an image. Before the fix, blue stayed at 0 replicas, "rolled
    // out" at once, and the run said `switched` with 100% on a color with no pod.
    const second = await runFlow(h, hostsInputs('orders', { image: 'registry.example.com/app:3.0.0' }), 'rel-2-orders');
    expect(second.failure).toBeUndefined();
    expect(second.outputs).toMatchObject({ 'active-color': 'blue', 'previous-color': 'green', result: 'switched' });

    // Read back: all traffic on blue, which runs 3.0.0 with green's replica count, every pod ready.
    expect(liveHostWeights(h, 'orders')).toEqual({ blue: 100, green: 0 });
    expect(dep('blue', 'orders').spec.replicas).toBe(2);
    expect(dep('blue', 'orders').status.readyReplicas).toBe(2);
    expect(imageOf('blue', 'orders')).toBe('registry.example.com/app:3.0.0');
    expect(imageOf('green', 'orders')).toBe('registry.example.com/app:2.0.0');
    expect(second.context.reporter.summaries.join('\n')).toContain('| Scaled up | blue: 0 → 2 replicas, ready before any traffic |');

    // The scale-up is journaled (so a rollback undoes it) before the weight change.
    const mine = (await journal(h, 'shop', 'orders')).filter((e) => e.runId === 'rel-2-orders');
    expect(mine.map((e) => [e.step, e.status])).toEqual([
      ['image', 'applied'],
      ['scale-up', 'applied'],
      ['traffic-100', 'applied'],
    ]);
    expect(mine[1]).toMatchObject({
      object: { kind: 'Deployment', namespace: 'shop-blue', name: 'orders' },
      change: { kind: 'scale', previous: { replicas: 0 }, next: { replicas: 2 } },
    });
    // On the wire: blue scaled, then read again (its ready pods) after the scale, then the one weight write.
    const requests = h.cluster.requests.map((r) => `${r.method} ${r.path}`);
    const scaled = requests.indexOf('PATCH /apis/apps/v1/namespaces/shop-blue/deployments/orders/scale');
    const weighted = requests.indexOf(`PATCH ${vsPath('orders')}`);
    expect(scaled).toBeGreaterThan(-1);
    expect(weighted).toBeGreaterThan(scaled);
    expect(requests.slice(scaled, weighted)).toContain('GET /apis/apps/v1/namespaces/shop-blue/deployments/orders');
    expect(writes(h, '/virtualservices/')).toHaveLength(1);

    // Rollback of release 2: traffic back on green, then blue back to its image and to 0 replicas.
    const rb = await rollBack(h.cluster, { namespace: 'shop', service: 'orders' }, { release: 'rel-2-orders' });
    expect(rb.failure, rb.log).toBeUndefined();
    expect(rb.outputs.result).toBe('rolled-back');
    expect(liveHostWeights(h, 'orders')).toEqual({ blue: 0, green: 100 });
    expect(dep('blue', 'orders').spec.replicas).toBe(0);
    expect(imageOf('blue', 'orders')).toBe('registry.example.com/app:1.0.0');
    expect(dep('green', 'orders').spec.replicas).toBe(2);
    expect(imageOf('green', 'orders')).toBe('registry.example.com/app:2.0.0');
  });

  test("switched back to without an image: scaled up to the live color's replicas and ready first", async () => {
    await releaseOne('refunds');
    // Green now runs 3 replicas; blue comes back with as many.
    await scaleDeployment(h.other, { namespace: 'shop-green', name: 'refunds', replicas: 3 });
    await settled(h, ['shop-green', 'refunds']);
    // Longer than the test cluster's progress deadline (400 ms) since blue last changed: a scale-up
    // of a finished Deployment is progress, not a timed-out rollout (kubernetes
    // pkg/controller/deployment/util: DeploymentTimedOut is false after NewReplicaSetAvailable).
    await new Promise((r) => setTimeout(r, 600));
    const second = await runFlow(h, hostsInputs('refunds'), 'rel-2-refunds');
    expect(second.failure).toBeUndefined();
    expect(second.outputs).toMatchObject({ 'active-color': 'blue', result: 'switched' });
    expect(liveHostWeights(h, 'refunds')).toEqual({ blue: 100, green: 0 });
    expect(dep('blue', 'refunds').spec.replicas).toBe(3);
    expect(dep('blue', 'refunds').status.readyReplicas).toBe(3);
    expect((await journal(h, 'shop', 'refunds')).filter((e) => e.runId === 'rel-2-refunds').map((e) => e.step)).toEqual([
      'scale-up',
      'traffic-100',
    ]);
  });

  test('whose pods never become ready: the switch fails before any weight moves; a rollback then scales it back to 0, traffic untouched', async () => {
    await releaseOne('returns');
    const before = liveVirtualService(h, 'returns').metadata.resourceVersion;
    h.cluster.resetRequests();

    // `fail-rollout` images never start (ImagePullBackOff); at 0 replicas the image change alone
    // "rolls out" at once, so only the scale-up shows that blue cannot serve. A scale-up of a
    // finished Deployment is not a rollout (no progress deadline, as on a real cluster): the wait
    // ends at rollout-timeout, naming what the pods say.
    const second = await runFlow(
      h,
      hostsInputs('returns', { image: 'registry.example.com/app:fail-rollout', 'rollout-timeout': '3s' }),
      'rel-2-returns',
    );
    expect(second.outputs).toEqual({ 'active-color': 'green', 'previous-color': 'green', result: 'failed', 'switched-at': '' });
    expect(second.failure?.message).toMatch(
      /^Deployment shop-blue\/returns scaled from 0 to 2 replicas did not have them ready within rollout-timeout 3s: 2\/2 updated, 2 unavailable \(ImagePullBackOff on pods .*\); traffic was not moved$/,
    );
    expect(writes(h, '/virtualservices/')).toEqual([]);
    expect(liveVirtualService(h, 'returns').metadata.resourceVersion).toBe(before);
    expect(liveHostWeights(h, 'returns')).toEqual({ blue: 0, green: 100 });
    expect(dep('blue', 'returns').spec.replicas).toBe(2);

    const rb = await rollBack(h.cluster, { namespace: 'shop', service: 'returns' });
    expect(rb.failure, rb.log).toBeUndefined();
    expect(liveHostWeights(h, 'returns')).toEqual({ blue: 0, green: 100 });
    expect(liveVirtualService(h, 'returns').metadata.resourceVersion).toBe(before);
    expect(dep('blue', 'returns').spec.replicas).toBe(0);
    expect(imageOf('blue', 'returns')).toBe('registry.example.com/app:1.0.0');
  });
});

describe('ready pods before each weight', () => {
  test('a color with replicas but no ready pod, switched to without an image: refused before the first step, traffic untouched', async () => {
    // Green's pods run but never turn Ready (CrashLoopBackOff); nothing waits for a rollout without an image.
    const [blue, green] = colorDeployments('invoices') as any[];
    green.spec.template.metadata.annotations = { 'test.cluster/fail': 'true' };
    await h.cluster.apply([blue, green, hostsVirtualService('invoices')]);
    await settled(h, ['shop-blue', 'invoices']);
    const before = liveVirtualService(h, 'invoices').metadata.resourceVersion;
    h.cluster.resetRequests();
    const run = await runFlow(h, hostsInputs('invoices', { steps: '10,50,100' }), 'run-invoices');
    expect(run.outputs).toMatchObject({ 'active-color': 'blue', result: 'failed' });
    expect(run.failure?.message).toBe(
      'Deployment shop-green/invoices has 0 ready pods (2 wanted), and 10% of traffic (green) would go to it: not sending traffic where no pod is ready (at least 1 needed); traffic was not moved',
    );
    expect(writes(h, '/virtualservices/')).toEqual([]);
    expect(liveVirtualService(h, 'invoices').metadata.resourceVersion).toBe(before);
    expect((await journal(h, 'shop', 'invoices')).filter((e) => e.change.kind === 'traffic')).toEqual([]);
  });

  test('the new color loses its pods between two steps: no further weight, traffic switched back and read back', async () => {
    await h.cluster.apply([...colorDeployments('quotes'), hostsVirtualService('quotes')]);
    await settled(h, ['shop-blue', 'quotes'], ['shop-green', 'quotes']);
    // While the analysis at 10% runs, green is scaled to 0 by someone else.
    const clock = clockThatEdits(async () => {
      await scaleDeployment(h.other, { namespace: 'shop-green', name: 'quotes', replicas: 0 });
      await waitFor(() => !dep('green', 'quotes').status?.readyReplicas, 5000, 'green to lose its pods');
    });
    const run = await runFlow(
      h,
      hostsInputs('quotes', {
        steps: '10,100',
        analysis: ERROR_RATE,
        'analysis-args': 'app: healthy',
        'prometheus-address': prom.url,
        'pre-switch-analysis': 'false',
        'step-analysis-duration': '1m',
      }),
      'run-quotes',
      { clock },
    );
    expect(run.outputs).toMatchObject({ 'active-color': 'blue', result: 'rolled-back' });
    expect(run.failure?.message).toMatch(
      /^Deployment shop-green\/quotes has 0 ready pods \(0 wanted\), and 100% of traffic \(green\) would go to it: .*; traffic switched back to blue \(blue 100%, green 0%\)$/,
    );
    expect(liveHostWeights(h, 'quotes')).toEqual({ blue: 100, green: 0 });
    // Two writes: 10% to green, then back to blue; never 100% to green.
    expect(writes(h, vsPath('quotes'))).toHaveLength(2);
  });
});

describe('the claim is read back', () => {
  test('a switch back to a color that has no ready pod is not made: result failed, traffic left where it is, saying why', async () => {
    await h.cluster.apply([...colorDeployments('ledger'), hostsVirtualService('ledger')]);
    await settled(h, ['shop-blue', 'ledger'], ['shop-green', 'ledger']);
    // During validation (green's errors rise), blue is scaled to 0 by someone else.
    const clock = clockThatEdits(async () => {
      await scaleDeployment(h.other, { namespace: 'shop-blue', name: 'ledger', replicas: 0 });
      await waitFor(() => !dep('blue', 'ledger').status?.readyReplicas, 5000, 'blue to lose its pods');
    });
    const run = await runFlow(h, hostsInputs('ledger', validation('rising')), 'run-ledger', { clock });
    expect(run.outputs.result).toBe('failed');
    expect(run.failure?.message).toMatch(
      /^Validation of green after the switch Failed: .*; not switching back to blue: Deployment shop-blue\/ledger has 0 ready pods \(0 wanted\), and 100% of traffic \(blue\) would go to it: .*\. Traffic stays at blue 0%, green 100%: give blue ready pods, then run the rollback action \(mode: traffic\)$/,
    );
    expect(liveHostWeights(h, 'ledger')).toEqual({ blue: 0, green: 100 });
    // Not marked undone: the rollback action still has the switch to undo.
    expect((await journal(h, 'shop', 'ledger')).map((e) => [e.step, e.status])).toEqual([['traffic-100', 'applied']]);
  });

  test('a switch back whose weights are changed by someone else before it is read back: result failed, not rolled-back', async () => {
    await h.cluster.apply([...colorDeployments('tills'), hostsVirtualService('tills')]);
    await settled(h, ['shop-blue', 'tills'], ['shop-green', 'tills']);
    // During validation: our next two reads of the VirtualService (the switch back's own read, then
    // the read-back) are held 300 ms at the server; as soon as the switch back lands, an operator
    // splits the traffic 50/50 by hand, so the read-back sees their weights, not ours.
    let operator: Promise<void> | undefined;
    const clock = clockThatEdits(async () => {
      h.cluster.faults.add({ method: 'GET', path: vsPath('tills'), delayMs: 300, times: 2 });
      operator = (async () => {
        await waitFor(() => liveHostWeights(h, 'tills').blue === 100, 10_000, 'the switch back');
        await h.other.call('patch', { kind: 'VirtualService', namespace: 'shop', name: 'tills' }, () =>
          h.other.custom.patchNamespacedCustomObject(
            {
              group: 'networking.istio.io',
              version: 'v1',
              plural: 'virtualservices',
              namespace: 'shop',
              name: 'tills',
              body: [
                { op: 'replace', path: '/spec/http/0/route/0/weight', value: 50 },
                { op: 'replace', path: '/spec/http/0/route/1/weight', value: 50 },
              ],
            },
            JSON_PATCH,
          ),
        );
      })();
    });
    const run = await runFlow(h, hostsInputs('tills', validation('rising')), 'run-tills', { clock });
    await operator;
    expect(run.outputs.result).toBe('failed');
    expect(run.failure?.message).toMatch(
      /^Validation of green after the switch Failed: .*; traffic was switched back to blue, but reading it back does not agree: VirtualService shop\/tills.*: weight of tills-blue\.shop-blue\.svc\.cluster\.local \(blue\): expected 100, actual 50; .*weight of tills-green\.shop-green\.svc\.cluster\.local \(green\): expected 0, actual 50$/,
    );
    expect(liveHostWeights(h, 'tills')).toEqual({ blue: 50, green: 50 });
  });

  test('a switch whose weights were changed by someone else before the end: result failed, naming the object, field, expected and actual', async () => {
    await h.cluster.apply([...colorDeployments('wallet'), hostsVirtualService('wallet')]);
    await settled(h, ['shop-blue', 'wallet'], ['shop-green', 'wallet']);
    // During validation an operator moves half the traffic back to blue by hand.
    const clock = clockThatEdits(async () => {
      await h.other.call('patch', { kind: 'VirtualService', namespace: 'shop', name: 'wallet' }, () =>
        h.other.custom.patchNamespacedCustomObject(
          {
            group: 'networking.istio.io',
            version: 'v1',
            plural: 'virtualservices',
            namespace: 'shop',
            name: 'wallet',
            body: [
              { op: 'replace', path: '/spec/http/0/route/0/weight', value: 50 },
              { op: 'replace', path: '/spec/http/0/route/1/weight', value: 50 },
            ],
          },
          JSON_PATCH,
        ),
      );
    });
    const run = await runFlow(h, hostsInputs('wallet', validation('healthy')), 'run-wallet', { clock });
    expect(run.outputs.result).toBe('failed');
    expect(run.failure?.message).toMatch(
      /^Switched traffic to green, but reading it back does not agree: VirtualService shop\/wallet.*: weight of wallet-blue\.shop-blue\.svc\.cluster\.local \(blue\): expected 0, actual 50; .*weight of wallet-green\.shop-green\.svc\.cluster\.local \(green\): expected 100, actual 50$/,
    );
    expect(liveHostWeights(h, 'wallet')).toEqual({ blue: 50, green: 50 });
  });

  test('a switch whose new color lost its pods before the end: result failed, naming its ready replicas', async () => {
    await h.cluster.apply([...colorDeployments('points'), hostsVirtualService('points')]);
    await settled(h, ['shop-blue', 'points'], ['shop-green', 'points']);
    const clock = clockThatEdits(async () => {
      await scaleDeployment(h.other, { namespace: 'shop-green', name: 'points', replicas: 0 });
      await waitFor(() => !dep('green', 'points').status?.readyReplicas, 5000, 'green to lose its pods');
    });
    const run = await runFlow(h, hostsInputs('points', validation('healthy')), 'run-points', { clock });
    expect(run.outputs.result).toBe('failed');
    expect(run.failure?.message).toBe(
      'Switched traffic to green, but reading it back does not agree: Deployment shop-green/points (green, taking all traffic): status.readyReplicas: expected at least 1, actual 0',
    );
  });
});
