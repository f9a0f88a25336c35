import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FIXED_DAY, httpTraffic, startPrometheus, toOpenMetrics, type PrometheusServer } from '../support/prometheus.js';
import { deployment } from '../cluster/helpers.js';
import { postDeliverySession } from '../../src/core/delivery/session.js';
import {
  colorDeployments,
  fakeClock,
  hostOf,
  hostsInputs,
  hostsVirtualService,
  inputs,
  journal,
  liveHostWeights,
  liveVirtualService,
  runFlow,
  startBlueGreenHarness,
  testContext,
  writes,
  type BlueGreenHarness,
} from './harness.js';

/**
 * The blue-green switch end to end against the test cluster and a real Prometheus: each router,
 * a rollout that fails, a smoke test that fails, and an error rate that rises after the switch.
 * The analysis runs on a clock that starts at T0 in the fixed day, so every value it reads is known.
 */

const T0 = FIXED_DAY + 30 * 60;
let h: BlueGreenHarness;
let prom: PrometheusServer;
let dir: string;
let warm: Server;
let warmHits = 0;

beforeAll(async () => {
  const span = { from: FIXED_DAY, to: FIXED_DAY + 60 * 60, stepSeconds: 15, rps: 20 };
  [h, prom] = await Promise.all([
    startBlueGreenHarness(),
    startPrometheus({
      openMetrics: toOpenMetrics(
        httpTraffic({ ...span, service: 'healthy', version: 'blue', errorRatio: () => 0.001 }),
        httpTraffic({ ...span, service: 'healthy', version: 'green', errorRatio: () => 0.001 }),
        // The new color is fine until three minutes after T0, then one request in five fails.
        httpTraffic({ ...span, service: 'rising', version: 'green', errorRatio: (t) => (t > T0 + 180 ? 0.2 : 0.001) }),
      ),
    }),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'blue-green-'));
  warm = createServer((req, res) => {
    warmHits++;
    res.writeHead(req.url === '/ready' ? 200 : 404).end('ok');
  });
  await new Promise<void>((r) => warm.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  await Promise.all([h?.close(), prom?.stop(), new Promise((r) => (warm ? warm.close(r) : r(undefined)))]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ERROR_RATE = (extra = 'interval: 1m') => `
metrics:
  - name: error-rate
    ${extra}
    successCondition: result[0] < 0.05
    provider:
      prometheus:
        query: sum(rate(http_requests_total{service="{{args.app}}",version="{{args.color}}",code="500"}[2m])) / sum(rate(http_requests_total{service="{{args.app}}",version="{{args.color}}"}[2m]))
`;

const analysisInputs = (app: string, extra: Record<string, string> = {}) => ({
  analysis: ERROR_RATE(),
  'analysis-args': `app: ${app}`,
  'prometheus-address': prom.url,
  'step-analysis-duration': '1m',
  ...extra,
});

describe('a healthy switch', () => {
  test('Istio, two hosts in two namespaces: deploy, warm up, smoke test, analyse, switch, validate', async () => {
    await h.cluster.apply([...colorDeployments('checkout'), hostsVirtualService('checkout')]);
    const envFile = join(dir, 'smoke-env.json');
    const clock = fakeClock(T0 * 1000);
    const smoke = `require('fs').writeFileSync(${JSON.stringify(envFile)}, JSON.stringify(process.env))`;
    const { outputs, failure, context } = await runFlow(
      h,
      hostsInputs('checkout', {
        image: 'registry.example.com/app:2.0.0',
        'warmup-url': `http://127.0.0.1:${(warm.address() as AddressInfo).port}/ready`,
        'warmup-requests': '7',
        'smoke-command': JSON.stringify([process.execPath, '-e', smoke]),
        ...analysisInputs('healthy', { 'validation-duration': '3m' }),
      }),
      'run-100',
      { clock, env: { ...process.env, INPUT_KUBECONFIG: 'must-not-reach-the-smoke-test' } },
    );
    expect(failure).toBeUndefined();
    expect(outputs).toMatchObject({ 'active-color': 'green', 'previous-color': 'blue', result: 'switched' });

    // Traffic: all on green, and nothing else in the VirtualService touched.
    expect(liveHostWeights(h, 'checkout')).toEqual({ blue: 0, green: 100 });
    const vs = liveVirtualService(h, 'checkout');
    expect(vs.spec.http[0].retries).toEqual({ attempts: 3, perTryTimeout: '10s', retryOn: '5xx,reset' });
    expect(vs.spec.http[0].timeout).toBe('30s');
    // The new image on green only; blue kept warm with its replicas.
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop-green', 'checkout').spec.template.spec.containers[0].image).toBe(
      'registry.example.com/app:2.0.0',
    );
    const blue = h.cluster.get('apps/v1', 'Deployment', 'shop-blue', 'checkout');
    expect(blue.spec.template.spec.containers[0].image).toBe('registry.example.com/app:1.0.0');
    expect(blue.spec.replicas).toBe(2);

    expect(warmHits).toBe(7);
    const env = JSON.parse(await readFile(envFile, 'utf8'));
    expect(env).toMatchObject({ TARGET_COLOR: 'green', NAMESPACE: 'shop-green', SERVICE: 'checkout', VERSION: '2.0.0' });
    expect(env.INPUT_KUBECONFIG).toBeUndefined();

    // Journal: the image and the weight change, each recorded with what undoes it.
    const entries = await journal(h, 'shop', 'checkout');
    expect(entries.map((e) => [e.step, e.status])).toEqual([
      ['image', 'applied'],
      ['traffic-100', 'applied'],
    ]);
    expect(outputs['switched-at']).toBe(entries[1]!.appliedAt);
    expect(entries[1]!.change).toMatchObject({
      kind: 'traffic',
      router: { type: 'istio', namespace: 'shop', name: 'checkout', route: 'primary' },
      previous: { [hostOf('checkout', 'blue')]: 100, [hostOf('checkout', 'green')]: 0 },
      next: { [hostOf('checkout', 'blue')]: 0, [hostOf('checkout', 'green')]: 100 },
    });
    // Lock released.
    expect(h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-checkout').spec.holderIdentity ?? undefined).toBeUndefined();

    // Summary: colors, image, both analyses, the steps and how to roll back.
    const summary = context.reporter.summaries.join('\n');
    expect(summary).toContain('Blue-green switch: switched');
    expect(summary).toMatch(/Before \| blue \(blue 100%, green 0%\)/);
    expect(summary).toMatch(/After \| green \(blue 0%, green 100%\)/);
    expect(summary).toContain('`registry.example.com/app:2.0.0`');
    expect(summary).toContain('Analysis of green before the switch: Successful');
    expect(summary).toContain('Validation of green after the switch: Successful');
    expect(summary).toContain('How to roll back');
    expect(summary).toContain('mode: traffic');
    expect(summary).toMatch(/\| 1 \| green 100% \| 100% \|/);
  });

  test('Istio, two subsets of one host, in steps 10, 50, 100 with an analysis between them', async () => {
    await h.cluster.apply(
      [
        deployment('orders-blue', 'app:1', 1),
        deployment('orders-green', 'app:1', 1),
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'DestinationRule',
          metadata: { name: 'orders', namespace: 'shop' },
          spec: {
            host: 'orders',
            subsets: [
              { name: 'blue', labels: { color: 'blue' } },
              { name: 'green', labels: { color: 'green' } },
            ],
          },
        },
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'orders', namespace: 'shop' },
          spec: {
            hosts: ['orders'],
            http: [
              {
                route: [
                  { destination: { host: 'orders', subset: 'blue' }, weight: 100 },
                  { destination: { host: 'orders', subset: 'green' }, weight: 0 },
                ],
              },
            ],
          },
        },
      ].map((o: any) => ({ ...o, metadata: { ...o.metadata, namespace: 'shop' } })),
    );
    h.cluster.resetRequests();
    const { outputs, failure, context } = await runFlow(
      h,
      {
        namespace: 'shop',
        service: 'orders',
        router: 'istio',
        steps: '10,50,100',
        ...analysisInputs('healthy', { analysis: ERROR_RATE('count: 1'), 'step-analysis-duration': '' }),
      },
      'run-200',
      { clock: fakeClock(T0 * 1000) },
    );
    expect(failure).toBeUndefined();
    expect(outputs.result).toBe('switched');
    const route = h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'orders').spec.http[0].route;
    expect(route.map((r: any) => [r.destination.subset, r.weight])).toEqual([
      ['blue', 0],
      ['green', 100],
    ]);
    // One weight write per step, in order.
    const patches = h.cluster.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/virtualservices/orders'));
    expect(patches.map((r) => r.status)).toEqual([200, 200, 200]);
    const entries = await journal(h, 'shop', 'orders');
    expect(entries.map((e) => e.change.kind === 'traffic' && [e.step, e.change.previous.green, e.change.next.green])).toEqual([
      ['traffic-10', 0, 10],
      ['traffic-50', 10, 50],
      ['traffic-100', 50, 100],
    ]);
    const summary = context.reporter.summaries.join('\n');
    expect(summary).toContain('Analysis at green 10%: Successful');
    expect(summary).toContain('Analysis at green 50%: Successful');
    expect(summary).toMatch(/\| 1 \| green 10% \| 10% \|.*\| passed \|/);
  });

  test('Gateway API HTTPRoute: the backendRef weights of the rule', async () => {
    await h.cluster.apply(
      [
        deployment('search-blue', 'app:1', 1),
        deployment('search-green', 'app:1', 1),
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'search' },
          spec: {
            parentRefs: [{ name: 'web' }],
            rules: [
              {
                name: 'all',
                backendRefs: [
                  { name: 'search-blue', port: 80, weight: 100 },
                  { name: 'search-green', port: 80, weight: 0 },
                ],
                timeouts: { request: '10s' },
              },
            ],
          },
        },
      ].map((o: any) => ({ ...o, metadata: { ...o.metadata, namespace: 'shop' } })),
    );
    const { outputs, failure } = await runFlow(
      h,
      { namespace: 'shop', service: 'search', router: 'gateway', blue: 'search-blue', green: 'search-green', image: 'app:2' },
      'run-300',
    );
    expect(failure).toBeUndefined();
    expect(outputs).toMatchObject({ 'active-color': 'green', 'previous-color': 'blue', result: 'switched' });
    const rule = h.cluster.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'shop', 'search').spec.rules[0];
    expect(rule.backendRefs.map((b: any) => [b.name, b.weight])).toEqual([
      ['search-blue', 0],
      ['search-green', 100],
    ]);
    expect(rule.timeouts).toEqual({ request: '10s' });
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop', 'search-green').spec.template.spec.containers[0].image).toBe('app:2');
  });

  test('Service selector: green is live, so this run switches to blue', async () => {
    await h.cluster.apply(
      [
        deployment('cart-blue', 'app:1', 1, { labels: { color: 'blue' } }),
        deployment('cart-green', 'app:1', 1, { labels: { color: 'green' } }),
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'cart' },
          spec: { selector: { app: 'cart', color: 'green' }, ports: [{ port: 80, targetPort: 8080 }] },
        },
      ].map((o: any) => ({ ...o, metadata: { ...o.metadata, namespace: 'shop' } })),
    );
    const { outputs, failure } = await runFlow(
      h,
      { namespace: 'shop', service: 'cart', router: 'service', 'scale-down-after': '0s' },
      'run-400',
    );
    expect(failure).toBeUndefined();
    expect(outputs).toMatchObject({ 'active-color': 'blue', 'previous-color': 'green', result: 'switched' });
    expect(h.cluster.get('v1', 'Service', 'shop', 'cart').spec.selector).toEqual({ app: 'cart', color: 'blue' });
    // The old color scaled down, recorded so a rollback scales it up again.
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop', 'cart-green').spec.replicas).toBe(0);
    const scale = (await journal(h, 'shop', 'cart')).find((e) => e.step === 'scale-down');
    expect(scale).toMatchObject({
      status: 'applied',
      object: { kind: 'Deployment', namespace: 'shop', name: 'cart-green' },
      change: { kind: 'scale', previous: { replicas: 1 }, next: { replicas: 0 } },
    });
  });
});

describe('stops before traffic moves', () => {
  test('a rollout of the new color that fails: result failed, the VirtualService untouched', async () => {
    await h.cluster.apply([...colorDeployments('payments'), hostsVirtualService('payments')]);
    const before = liveVirtualService(h, 'payments').metadata.resourceVersion;
    h.cluster.resetRequests();
    const { outputs, failure } = await runFlow(
      h,
      hostsInputs('payments', { image: 'registry.example.com/app:fail-rollout', 'rollout-timeout': '20s' }),
      'run-500',
    );
    expect(outputs).toEqual({ 'active-color': 'blue', 'previous-color': 'blue', result: 'failed', 'switched-at': '' });
    expect(failure?.message).toMatch(
      /^Deployment shop-green\/payments: rollout failed: ProgressDeadlineExceeded: .*; traffic was not moved$/,
    );
    expect(liveVirtualService(h, 'payments').metadata.resourceVersion).toBe(before);
    expect(liveHostWeights(h, 'payments')).toEqual({ blue: 100, green: 0 });
    expect(writes(h, '/virtualservices/')).toEqual([]);
  });

  test('a failing smoke test: result failed, the VirtualService untouched', async () => {
    await h.cluster.apply([...colorDeployments('billing'), hostsVirtualService('billing')]);
    const before = liveVirtualService(h, 'billing').metadata.resourceVersion;
    const { outputs, failure, context } = await runFlow(
      h,
      hostsInputs('billing', {
        'smoke-command': JSON.stringify([process.execPath, '-e', 'console.log("GET /health -> 503"); process.exit(3)']),
      }),
      'run-600',
    );
    expect(outputs.result).toBe('failed');
    expect(failure?.message).toMatch(/smoke test .* failed with exit code 3; traffic was not moved/);
    expect(context.reporter.messages('info')).toContain('  GET /health -> 503');
    expect(liveVirtualService(h, 'billing').metadata.resourceVersion).toBe(before);
  });
});

describe('after the switch', () => {
  test('an error rate that rises during validation switches traffic back exactly and names the metric', async () => {
    await h.cluster.apply([...colorDeployments('ledger'), hostsVirtualService('ledger')]);
    const clock = fakeClock(T0 * 1000);
    const { outputs, failure, context } = await runFlow(
      h,
      hostsInputs('ledger', { ...analysisInputs('rising', { 'validation-duration': '5m' }) }),
      'run-700',
      { clock },
    );
    expect(outputs).toEqual({ 'active-color': 'blue', 'previous-color': 'blue', result: 'rolled-back', 'switched-at': '' });
    expect(liveHostWeights(h, 'ledger')).toEqual({ blue: 100, green: 0 });
    expect(failure?.message).toMatch(
      /^Validation of green after the switch Failed: metric error-rate Failed with values (\[[\d.]+\], )*\[0\.\d+\] \(successCondition result\[0\] < 0\.05\): .*; traffic switched back to blue \(blue 100%, green 0%\)$/,
    );
    // The last measured value is the real ratio: a quarter to a half of the window at 20 % errors.
    const value = Number(/\[([\d.]+)\] \(successCondition/.exec(failure!.message)![1]);
    expect(value).toBeGreaterThan(0.05);
    expect(value).toBeLessThan(0.2);
    // The switch is journaled as undone, so neither the post step nor a rollback undoes it again.
    expect((await journal(h, 'shop', 'ledger')).map((e) => [e.step, e.status])).toEqual([['traffic-100', 'compensated']]);
    expect(context.reporter.summaries.join('\n')).toContain('Validation of green after the switch: Failed');
  });

  test('with auto-rollback off, a failed step analysis leaves traffic where it is and says how to return it', async () => {
    await h.cluster.apply([...colorDeployments('stock'), hostsVirtualService('stock')]);
    // Errors on green start three minutes after T0: the analysis at 10 % measures from T0+4m.
    const clock = fakeClock((T0 + 240) * 1000);
    const { outputs, failure } = await runFlow(
      h,
      hostsInputs('stock', { steps: '10,100', 'auto-rollback': 'false', 'pre-switch-analysis': 'false', ...analysisInputs('rising') }),
      'run-800',
      { clock },
    );
    expect(outputs.result).toBe('failed');
    expect(failure?.message).toMatch(
      /^Analysis at green 10% Failed: .*auto-rollback is off, so traffic stays at blue 90%, green 10%: run the rollback action \(mode: traffic\) to return it to blue$/,
    );
    expect(liveHostWeights(h, 'stock')).toEqual({ blue: 90, green: 10 });
  });
});

test('paths outside the workspace are refused for analysis', async () => {
  h.cluster.resetRequests();
  await expect(
    runFlow(h, hostsInputs('nothing', { analysis: '../../etc/passwd.yaml' }), 'run-900', { env: { GITHUB_WORKSPACE: dir } }),
  ).rejects.toThrow(/analysis: \.\.\/\.\.\/etc\/passwd\.yaml is outside the workspace/);
  expect(h.cluster.requests).toEqual([]);
});

describe('a switch that stopped midway', () => {
  test('is refused to another run id, and resumed by the same run id without redoing its steps', async () => {
    await h.cluster.apply([...colorDeployments('stock2'), hostsVirtualService('stock2')]);
    const raw = (app: string) =>
      hostsInputs('stock2', { steps: '10,100', 'auto-rollback': 'false', 'pre-switch-analysis': 'false', ...analysisInputs(app) });
    const first = await runFlow(h, raw('rising'), 'run-1000', { clock: fakeClock((T0 + 240) * 1000) });
    expect(first.outputs.result).toBe('failed');
    expect(liveHostWeights(h, 'stock2')).toEqual({ blue: 90, green: 10 });

    const other = await runFlow(h, raw('healthy'), 'run-1001', { clock: fakeClock(T0 * 1000) });
    expect(other.failure?.message).toMatch(/routes blue 90%, green 10%: neither color takes all traffic.*Run the rollback action/);
    expect(liveHostWeights(h, 'stock2')).toEqual({ blue: 90, green: 10 });

    h.cluster.resetRequests();
    const resumed = await runFlow(h, raw('healthy'), 'run-1000', { clock: fakeClock(T0 * 1000) });
    expect(resumed.failure).toBeUndefined();
    expect(resumed.outputs).toMatchObject({ 'active-color': 'green', 'previous-color': 'blue', result: 'switched' });
    expect(liveHostWeights(h, 'stock2')).toEqual({ blue: 0, green: 100 });
    expect(writes(h, '/virtualservices/')).toHaveLength(1); // only the step to 100: the 10 % step was this run's already
    const log = resumed.context.reporter.messages('info').join('\n');
    expect(log).toContain("Resuming this run's switch from blue to green");
    expect(log).toContain('traffic-10: already applied by this run (run-1000); not applying it twice');
    const entries = await journal(h, 'shop', 'stock2');
    expect(entries.map((e) => [e.runId, e.step, e.status])).toEqual([
      ['run-1000', 'traffic-10', 'applied'],
      ['run-1000', 'traffic-100', 'applied'],
    ]);
  });

  test('a cancel during the analysis at 10 % puts traffic back, releases the lock, and leaves the post step nothing to do', async () => {
    await h.cluster.apply([...colorDeployments('cancel'), hostsVirtualService('cancel')]);
    const context = testContext('run-1100');
    const clock = fakeClock(T0 * 1000);
    // The run is cancelled while the analysis at 10 % waits for its second measurement.
    const cancellingClock = {
      now: clock.now,
      sleep: async (ms: number, signal?: AbortSignal) => {
        context.controller.abort(new Error('the run was cancelled'));
        return clock.sleep(ms, signal);
      },
    };
    const raw = hostsInputs('cancel', {
      steps: '10,100',
      'pre-switch-analysis': 'false',
      ...analysisInputs('healthy', { 'step-analysis-duration': '5m' }),
    });
    const run = await runFlow(h, raw, 'run-1100', { clock: cancellingClock, context });
    expect(run.failure!.message).toBe('the run was cancelled');
    expect(run.outputs).toEqual({ result: 'cancelled' });
    expect(liveHostWeights(h, 'cancel')).toEqual({ blue: 100, green: 0 });
    expect((await journal(h, 'shop', 'cancel')).map((e) => [e.step, e.status])).toEqual([['traffic-10', 'compensated']]);
    expect(h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-cancel').spec.holderIdentity ?? undefined).toBeUndefined();
    expect(context.reporter.messages('warn').join('\n')).toContain('the run was cancelled mid-switch: switching traffic back to blue');

    // The post step of the cancelled run (the action's post step runs this, with the inputs' kubeconfig).
    h.cluster.resetRequests();
    expect(await postDeliverySession({ inputs: inputs(raw), strategy: 'blue-green', context, client: h.client })).toEqual([]);
    expect(writes(h, '/virtualservices/')).toEqual([]);
    expect(liveHostWeights(h, 'cancel')).toEqual({ blue: 100, green: 0 });
  });
});
