import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IstioVirtualServiceRouter } from '../../src/core/kube/routers/istio-virtual-service.js';
import { HttpRouteRouter } from '../../src/core/kube/routers/gateway-httproute.js';
import { withRouteRule } from '../../src/core/kube/recorded-routes.js';
import { createRouter, recordedSpec, type RouterSpec } from '../../src/core/kube/routers/factory.js';
import type { JournalEntry } from '../../src/core/kube/journal.js';
import { startHarness, type KubeHarness } from './harness.js';

/**
 * A router fixes its route's identity at its first read (the name, or for an unnamed route its
 * destinations and match) and finds the route by it ever after. Istio evaluates a VirtualService's
 * HTTP routes in order, first match wins, and `name` is optional ("for debugging purposes",
 * istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute), so inserting a
 * header-matched debug route in front is common and shifts every index. HTTPRoute rules are ranked
 * by match specificity, then list order; a rule's `name` is optional too (Gateway API GEP-995).
 */
let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const BLUE = 'app-blue.shop.svc.cluster.local';
const GREEN = 'app-green.shop.svc.cluster.local';
const DEBUG_MATCH = [{ headers: { 'x-debug': { exact: '1' } } }];
const split = (blue: number, name?: string, match?: unknown) => ({
  ...(name ? { name } : {}),
  ...(match ? { match } : {}),
  route: [
    { destination: { host: BLUE }, weight: blue },
    { destination: { host: GREEN }, weight: 100 - blue },
  ],
});
const vs = (name: string, http: object[]) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name, namespace: 'shop' },
  spec: { hosts: [`${name}.example.com`], http },
});
const liveHttp = (name: string) =>
  h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', name).spec.http as { name?: string; route: { weight: number }[] }[];
const weightsOf = (route: { route: { weight: number }[] }) => route.route.map((r) => r.weight);

describe('Istio: a route inserted in front between two writes', () => {
  test('an unnamed route chosen by default keeps being written, even when the inserted route holds the same destinations', async () => {
    await h.cluster.apply(vs('pin-a', [split(100)]));
    const spec: RouterSpec = { type: 'istio', namespace: 'shop', name: 'pin-a', destinations: [BLUE, GREEN] };
    const router = createRouter(h.client, spec);
    expect(await router.read()).toEqual({ [BLUE]: 100, [GREEN]: 0 });
    expect(recordedSpec(spec, router)).toEqual({ ...spec, pin: { destinations: [BLUE, GREEN] } });

    // A debug route to green, with the same two destinations, goes in front (a copy of ours with a header match).
    await h.cluster.apply(vs('pin-a', [split(0, undefined, DEBUG_MATCH), split(100)]));
    expect(await router.write({ [BLUE]: 90, [GREEN]: 10 })).toEqual({ [BLUE]: 90, [GREEN]: 10 });
    expect(liveHttp('pin-a').map(weightsOf)).toEqual([
      [0, 100],
      [90, 10],
    ]);

    // The spec as recorded (with its pin) rebuilds a router on the same route: how rollback and the post step undo.
    const undo = createRouter(h.client, recordedSpec(spec, router));
    expect(await undo.write({ [BLUE]: 100, [GREEN]: 0 })).toEqual({ [BLUE]: 100, [GREEN]: 0 });
    expect(liveHttp('pin-a').map(weightsOf)).toEqual([
      [0, 100],
      [100, 0],
    ]);
  });

  test('a named route is found by its name; when it is gone the error names the object, what was recorded and what is there now', async () => {
    await h.cluster.apply(vs('pin-b', [split(100, 'primary')]));
    const router = new IstioVirtualServiceRouter(h.client, { namespace: 'shop', name: 'pin-b', destinations: [BLUE, GREEN] });
    await router.read();
    expect(router.pinned()).toEqual({ name: 'primary' });
    await h.cluster.apply(vs('pin-b', [split(0, 'debug', DEBUG_MATCH), split(100, 'primary')]));
    await router.write({ [BLUE]: 50, [GREEN]: 50 });
    expect(liveHttp('pin-b').map(weightsOf)).toEqual([
      [0, 100],
      [50, 50],
    ]);
    expect(router.describe()).toBe(`VirtualService shop/pin-b HTTP route "primary": destinations ${BLUE} and ${GREEN}`);
    const unnamed = createRouter(h.client, { type: 'istio', namespace: 'shop', name: 'pin-a', destinations: [BLUE, GREEN] });
    expect(unnamed.describe()).toBe(`VirtualService shop/pin-a the first HTTP route holding both: destinations ${BLUE} and ${GREEN}`);
    await unnamed.read();
    expect(unnamed.describe()).toBe(`VirtualService shop/pin-a unnamed HTTP route: destinations ${BLUE} and ${GREEN}`);

    // Renamed: nothing named "primary" any more. Refused before any write, naming both.
    await h.cluster.apply(vs('pin-b', [split(0, 'debug', DEBUG_MATCH), split(50, 'main')]));
    h.cluster.resetRequests();
    await expect(router.write({ [BLUE]: 100, [GREEN]: 0 })).rejects.toThrow(
      `VirtualService shop/pin-b: the HTTP route recorded at the start of the run, "primary", cannot be found: no route is named "primary" any more. Its HTTP routes now are "debug" (${BLUE}, ${GREEN}), "main" (${BLUE}, ${GREEN}). Give route-rule`,
    );
    expect(h.cluster.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  test('two unnamed routes with the same destinations and match, or two of the same name: ambiguous, refused rather than guessed', async () => {
    await h.cluster.apply(vs('pin-c', [split(100)]));
    const router = createRouter(h.client, { type: 'istio', namespace: 'shop', name: 'pin-c', destinations: [BLUE, GREEN] });
    await router.read();
    await h.cluster.apply(vs('pin-c', [split(0), split(100)]));
    await expect(router.write({ [BLUE]: 90, [GREEN]: 10 })).rejects.toThrow(
      /cannot be found: 2 unnamed routes \(#0, #1\) hold .* with the same match/,
    );

    await h.cluster.apply(vs('pin-c', [split(100, 'primary')]));
    const named = createRouter(h.client, { type: 'istio', namespace: 'shop', name: 'pin-c', destinations: [BLUE, GREEN] });
    await named.read();
    await h.cluster.apply(vs('pin-c', [split(0, 'primary', DEBUG_MATCH), split(100, 'primary')]));
    await expect(named.write({ [BLUE]: 90, [GREEN]: 10 })).rejects.toThrow(
      /"primary", cannot be found: 2 routes \(#0, #1\) are named "primary"/,
    );
    expect(liveHttp('pin-c').map(weightsOf)).toEqual([
      [0, 100],
      [100, 0],
    ]);
  });

  test('an entry recorded without an identity (before routes were pinned) undoes the first route holding both destinations', async () => {
    await h.cluster.apply(vs('pin-d', [{ name: 'debug', match: DEBUG_MATCH, route: [{ destination: { host: GREEN } }] }, split(90)]));
    const old = createRouter(h.client, { type: 'istio', namespace: 'shop', name: 'pin-d', destinations: [BLUE, GREEN] });
    expect(await old.write({ [BLUE]: 100, [GREEN]: 0 })).toEqual({ [BLUE]: 100, [GREEN]: 0 });
    expect(liveHttp('pin-d')[1]!.route.map((r) => r.weight)).toEqual([100, 0]);
    expect(liveHttp('pin-d')[0]!.route).toEqual([{ destination: { host: GREEN } }]);
  });
});

describe('Gateway API HTTPRoute: a rule inserted in front', () => {
  const backends = (blue: number) => [
    { name: 'app-blue', port: 80, weight: blue },
    { name: 'app-green', port: 80, weight: 100 - blue },
  ];
  const route = (rules: object[]) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'pin-g', namespace: 'shop' },
    spec: { parentRefs: [{ name: 'public' }], rules },
  });
  const liveRules = () =>
    h.cluster.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'shop', 'pin-g').spec.rules as { backendRefs: { weight: number }[] }[];

  test('an unnamed rule is found by its backendRefs and matches; a named one by its name', async () => {
    await h.cluster.apply(route([{ backendRefs: backends(100) }]));
    const router = new HttpRouteRouter(h.client, { namespace: 'shop', name: 'pin-g', destinations: ['app-blue', 'app-green'] });
    await router.read();
    expect(router.pinned()).toEqual({ destinations: ['app-blue', 'app-green'] });
    const debug = { matches: [{ headers: [{ name: 'x-debug', value: '1' }] }], backendRefs: backends(0) };
    await h.cluster.apply(route([debug, { backendRefs: backends(100) }]));
    await router.write({ 'app-blue': 80, 'app-green': 20 });
    expect(liveRules().map((r) => r.backendRefs.map((b) => b.weight))).toEqual([
      [0, 100],
      [80, 20],
    ]);

    await h.cluster.apply(route([{ backendRefs: backends(100), name: 'main' }]));
    const named = new HttpRouteRouter(h.client, { namespace: 'shop', name: 'pin-g', destinations: ['app-blue', 'app-green'] });
    await named.read();
    expect(named.pinned()).toEqual({ name: 'main' });
    await h.cluster.apply(
      route([
        { ...debug, name: 'debug' },
        { backendRefs: backends(100), name: 'main' },
      ]),
    );
    await named.write({ 'app-blue': 0, 'app-green': 100 });
    expect(liveRules().map((r) => r.backendRefs.map((b) => b.weight))).toEqual([
      [0, 100],
      [0, 100],
    ]);
    await h.cluster.apply(route([{ ...debug, name: 'debug' }]));
    await expect(named.read()).rejects.toThrow(
      'HTTPRoute shop/pin-g: the rule recorded at the start of the run, "main", cannot be found: no route is named "main" any more. Its rules now are "debug" (app-blue, app-green)',
    );
  });
});

test("rollback's route-rule replaces the recorded route (and its identity) of Istio and Gateway API traffic entries only", () => {
  const entry = (router: RouterSpec): JournalEntry => ({
    id: 'e1',
    runId: 'r1',
    step: 'traffic-10',
    strategy: 'blue-green',
    object: { kind: 'VirtualService', namespace: 'shop', name: 'x' },
    change: { kind: 'traffic', router, previous: { a: 100, b: 0 }, next: { a: 90, b: 10 } },
    status: 'applied',
    plannedAt: '2026-01-01T00:00:00Z',
  });
  const istio: RouterSpec = { type: 'istio', namespace: 'shop', name: 'x', destinations: ['a', 'b'], pin: { name: 'gone' } };
  const gateway: RouterSpec = {
    type: 'gateway',
    namespace: 'shop',
    name: 'x',
    rule: 0,
    destinations: ['a', 'b'],
    pin: { destinations: ['a', 'b'] },
  };
  const service: RouterSpec = { type: 'service', namespace: 'shop', name: 'x', label: 'color', destinations: ['a', 'b'] };
  const [i, g, s] = withRouteRule([entry(istio), entry(gateway), entry(service)], 'main');
  expect(i!.change).toMatchObject({ router: { type: 'istio', route: 'main' } });
  expect(g!.change).toMatchObject({ router: { type: 'gateway', rule: 'main' } });
  expect('pin' in (i!.change as { router: object }).router || 'pin' in (g!.change as { router: object }).router).toBe(false);
  expect(s!.change).toEqual(entry(service).change);
  expect(withRouteRule([entry(istio)], undefined)[0]).toEqual(entry(istio));
});
