import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { IstioVirtualServiceRouter } from '../../src/core/kube/routers/istio-virtual-service.js';
import { HttpRouteRouter } from '../../src/core/kube/routers/gateway-httproute.js';
import { ServiceSelectorRouter } from '../../src/core/kube/routers/service-selector.js';
import { ReplicaRatioRouter } from '../../src/core/kube/routers/replica-ratio.js';
import { KubeObjectError } from '../../src/core/kube/errors.js';
import { JSON_PATCH } from '../../src/core/kube/json-patch.js';
import { splitWeights } from '../../src/core/kube/weights.js';
import type { TrafficRouter } from '../../src/core/kube/routers/router.js';
import { startHarness, type KubeHarness } from './harness.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const VS_PATH = '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/checkout';

function hostsVirtualService() {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'checkout', namespace: 'shop' },
    spec: {
      hosts: ['checkout.example.com'],
      http: [
        {
          name: 'health',
          match: [{ uri: { prefix: '/health' } }],
          route: [{ destination: { host: 'checkout-blue.shop-blue.svc.cluster.local' } }],
        },
        {
          name: 'primary',
          route: [
            { destination: { host: 'checkout-blue.shop-blue.svc.cluster.local', port: { number: 8080 } }, weight: 100 },
            { destination: { host: 'checkout-green.shop-green.svc.cluster.local', port: { number: 8080 } }, weight: 0 },
          ],
          timeout: '10s',
        },
      ],
    },
  };
}

const BLUE = 'checkout-blue.shop-blue.svc.cluster.local';
const GREEN = 'checkout-green.shop-green.svc.cluster.local';
const hostsRouter = () =>
  new IstioVirtualServiceRouter(h.client, { namespace: 'shop', name: 'checkout', route: 'primary', destinations: [BLUE, GREEN] });

describe('Istio VirtualService, two hosts (blue-green across namespaces)', () => {
  beforeEach(async () => {
    await h.cluster.apply(hostsVirtualService());
  });

  test('reads and writes the weights of the named route only', async () => {
    const router = hostsRouter();
    expect(await router.read()).toEqual({ [BLUE]: 100, [GREEN]: 0 });
    expect(await router.write(splitWeights(router.destinations, 25))).toEqual({ [BLUE]: 75, [GREEN]: 25 });
    const live = h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'checkout');
    expect(live.spec.http[1].route.map((r: { weight: number }) => r.weight)).toEqual([75, 25]);
    expect(live.spec.http[1].timeout).toBe('10s');
    expect(live.spec.http[0].route[0].weight).toBeUndefined();
    expect(router.describe()).toContain('VirtualService shop/checkout');
  });

  test('weights that do not sum to 100 are refused before any request is sent', async () => {
    const router = hostsRouter();
    h.cluster.resetRequests();
    const before = h.client.requestCount;
    await expect(router.write({ [BLUE]: 60, [GREEN]: 30 })).rejects.toThrow(/must sum to 100, got .* = 90/);
    await expect(router.write({ [BLUE]: 50.5, [GREEN]: 49.5 })).rejects.toThrow(/whole number from 0 to 100/);
    await expect(router.write({ [BLUE]: 100, other: 0 })).rejects.toThrow(/unknown other; missing checkout-green/);
    expect(h.cluster.requests).toHaveLength(0);
    expect(h.client.requestCount).toBe(before);
  });

  test("a write raced by another writer's edit elsewhere keeps both changes", async () => {
    const router = hostsRouter();
    h.cluster.resetRequests();
    // Hold our PATCH at the server; meanwhile another writer changes the route's timeout.
    h.cluster.faults.add({ method: 'PATCH', path: VS_PATH, delayMs: 300, times: 1 });
    const ours = router.write({ [BLUE]: 40, [GREEN]: 60 });
    await until(() => h.cluster.requests.some((r) => r.method === 'PATCH'));
    await h.other.call('patch', router.ref, () =>
      h.other.custom.patchNamespacedCustomObject(
        {
          group: 'networking.istio.io',
          version: 'v1',
          plural: 'virtualservices',
          namespace: 'shop',
          name: 'checkout',
          body: [{ op: 'replace', path: '/spec/http/1/timeout', value: '30s' }],
        },
        JSON_PATCH,
      ),
    );
    expect(await ours).toEqual({ [BLUE]: 40, [GREEN]: 60 });
    const live = h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'checkout');
    expect(live.spec.http[1].timeout).toBe('30s');
    expect(live.spec.http[1].route.map((r: { weight: number }) => r.weight)).toEqual([40, 60]);
    const patches = h.cluster.requests.filter((r) => r.method === 'PATCH' && r.path === VS_PATH).map((r) => r.status);
    expect(patches[0]).toBeGreaterThanOrEqual(409); // ours, refused: the resourceVersion had moved
    expect(patches.at(-1)).toBe(200);
  });

  test('a missing route, a missing destination and a third destination are errors naming the object and the route', async () => {
    const missingRoute = new IstioVirtualServiceRouter(h.client, {
      namespace: 'shop',
      name: 'checkout',
      route: 'canary',
      destinations: [BLUE, GREEN],
    });
    await expect(missingRoute.read()).rejects.toThrow(
      'VirtualService shop/checkout: has no HTTP route "canary"; its routes are "health", "primary"',
    );
    const missingHost = new IstioVirtualServiceRouter(h.client, {
      namespace: 'shop',
      name: 'checkout',
      route: 1,
      destinations: [BLUE, 'checkout-red'],
    });
    await expect(missingHost.read()).rejects.toThrow(/HTTP route "primary" has no destination host checkout-red/);
    const three = hostsVirtualService();
    three.spec.http[1]!.route.push({ destination: { host: 'checkout-red', port: { number: 8080 } }, weight: 0 });
    await h.cluster.apply(three);
    const error = await hostsRouter()
      .write({ [BLUE]: 50, [GREEN]: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeObjectError);
    expect((error as Error).message).toMatch(
      /^VirtualService shop\/checkout: HTTP route "primary" has 3 destinations .*expected exactly two/,
    );
  });

  test('503s on the read and the write are retried', async () => {
    const router = hostsRouter();
    h.cluster.resetRequests();
    h.cluster.faults.add({ method: 'GET', path: VS_PATH, status: 503, times: 1 });
    h.cluster.faults.add({ method: 'PATCH', path: VS_PATH, status: 503, times: 1 });
    expect(await router.write({ [BLUE]: 0, [GREEN]: 100 })).toEqual({ [BLUE]: 0, [GREEN]: 100 });
    expect(h.cluster.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 503', 'GET 200', 'PATCH 503', 'PATCH 200']);
  });
});

describe('Istio VirtualService, two subsets (canary)', () => {
  const subsetsVs = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'payments', namespace: 'shop' },
    spec: {
      hosts: ['payments'],
      http: [
        {
          route: [
            { destination: { host: 'payments', subset: 'stable' }, weight: 100 },
            { destination: { host: 'payments', subset: 'canary' }, weight: 0 },
          ],
        },
      ],
    },
  };
  const rule = (subsets: string[]) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'payments', namespace: 'shop' },
    spec: { host: 'payments.shop.svc.cluster.local', subsets: subsets.map((name) => ({ name, labels: { track: name } })) },
  });

  test('reads and writes subset weights once the DestinationRule defines both subsets', async () => {
    await h.cluster.apply([subsetsVs, rule(['stable', 'canary'])]);
    const router = new IstioVirtualServiceRouter(h.client, { namespace: 'shop', name: 'payments', destinations: ['stable', 'canary'] });
    expect(await router.read()).toEqual({ stable: 100, canary: 0 });
    expect(await router.write({ stable: 90, canary: 10 })).toEqual({ stable: 90, canary: 10 });
    const live = h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'payments');
    expect(live.spec.http[0].route).toEqual([
      { destination: { host: 'payments', subset: 'stable' }, weight: 90 },
      { destination: { host: 'payments', subset: 'canary' }, weight: 10 },
    ]);
  });

  test('a subset missing from the DestinationRule is refused before any write', async () => {
    await h.cluster.apply([subsetsVs, rule(['stable'])]);
    const router = new IstioVirtualServiceRouter(h.client, { namespace: 'shop', name: 'payments', destinations: ['stable', 'canary'] });
    h.cluster.resetRequests();
    await expect(router.write({ stable: 90, canary: 10 })).rejects.toThrow(
      'DestinationRule shop/payments: defines no subset canary (it defines stable), used by HTTP route #0 of VirtualService shop/payments',
    );
    expect(h.cluster.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});

describe('Gateway API HTTPRoute', () => {
  test('reads proportional weights as percentages and writes the backendRefs of one rule', async () => {
    await h.cluster.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'checkout', namespace: 'shop' },
      spec: {
        parentRefs: [{ name: 'public' }],
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/admin' } }], backendRefs: [{ name: 'admin', port: 80 }] },
          {
            backendRefs: [
              { name: 'checkout-blue', port: 8080, weight: 3 },
              { name: 'checkout-green', port: 8080, weight: 1 },
            ],
          },
        ],
      },
    });
    const router = new HttpRouteRouter(h.client, {
      namespace: 'shop',
      name: 'checkout',
      rule: 1,
      destinations: ['checkout-blue', 'checkout-green'],
    });
    expect(await router.read()).toEqual({ 'checkout-blue': 75, 'checkout-green': 25 });
    expect(await router.write({ 'checkout-blue': 0, 'checkout-green': 100 })).toEqual({ 'checkout-blue': 0, 'checkout-green': 100 });
    const live = h.cluster.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'shop', 'checkout');
    // The API server stores the CRD's defaults: group "", kind Service, weight 1 (HTTPRoute schema).
    expect(live.spec.rules[1].backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'checkout-blue', port: 8080, weight: 0 },
      { group: '', kind: 'Service', name: 'checkout-green', port: 8080, weight: 100 },
    ]);
    expect(live.spec.rules[0].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'admin', port: 80, weight: 1 }]);
    const wrongRule = new HttpRouteRouter(h.client, {
      namespace: 'shop',
      name: 'checkout',
      rule: 0,
      destinations: ['checkout-blue', 'checkout-green'],
    });
    await expect(wrongRule.read()).rejects.toThrow(
      'HTTPRoute shop/checkout: rule #0 has 1 backendRef (admin); expected exactly two: checkout-blue and checkout-green',
    );
    // No rule given: the first rule holding both backendRefs, not the /admin rule in front of it.
    const byDefault = new HttpRouteRouter(h.client, {
      namespace: 'shop',
      name: 'checkout',
      destinations: ['checkout-blue', 'checkout-green'],
    });
    expect(await byDefault.read()).toEqual({ 'checkout-blue': 0, 'checkout-green': 100 });
  });
});

describe('Service selector', () => {
  test('flips the color label and refuses a split it cannot express', async () => {
    await h.cluster.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'checkout', namespace: 'shop' },
      spec: { selector: { app: 'checkout', 'app.kubernetes.io/color': 'blue' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const router = new ServiceSelectorRouter(h.client, {
      namespace: 'shop',
      name: 'checkout',
      label: 'app.kubernetes.io/color',
      destinations: ['blue', 'green'],
    });
    expect(await router.read()).toEqual({ blue: 100, green: 0 });
    h.cluster.resetRequests();
    await expect(router.write({ blue: 50, green: 50 })).rejects.toThrow(/weights can only be 0 or 100 \(asked blue 50%, green 50%\)/);
    expect(h.cluster.requests).toHaveLength(0);
    expect(await router.write({ blue: 0, green: 100 })).toEqual({ blue: 0, green: 100 });
    const live = h.cluster.get('v1', 'Service', 'shop', 'checkout');
    expect(live.spec.selector).toEqual({ app: 'checkout', 'app.kubernetes.io/color': 'green' });
    expect(live.spec.ports[0].port).toBe(80);
  });
});

describe('replica ratio', () => {
  const deployment = (name: string, replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'cart', track: name } },
      template: { metadata: { labels: { app: 'cart', track: name } }, spec: { containers: [{ name: 'app', image: 'cart:1' }] } },
    },
  });

  test('approximates weights by pod counts and says so', async () => {
    await h.cluster.apply([deployment('cart', 4), deployment('cart-canary', 0)]);
    const router: TrafficRouter = new ReplicaRatioRouter(h.client, { namespace: 'shop', stable: 'cart', canary: 'cart-canary' });
    expect(await router.read()).toEqual({ cart: 100, 'cart-canary': 0 });
    // 10% of 4 pods is 0.4: a non-zero weight gets one pod, so 25% is achieved.
    expect(await router.write({ cart: 90, 'cart-canary': 10 })).toEqual({ cart: 75, 'cart-canary': 25 });
    expect(router.describe()).toContain(
      'approximate: asked cart 90%, cart-canary 10%, achieved cart 75%, cart-canary 25% with 1 of 4 pods on the canary',
    );
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop', 'cart').spec.replicas).toBe(3);
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop', 'cart-canary').spec.replicas).toBe(1);
    expect(await router.write({ cart: 50, 'cart-canary': 50 })).toEqual({ cart: 50, 'cart-canary': 50 });
    expect(await router.read()).toEqual({ cart: 50, 'cart-canary': 50 });
    expect(await router.write({ cart: 0, 'cart-canary': 100 })).toEqual({ cart: 0, 'cart-canary': 100 });
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop', 'cart').spec.replicas).toBe(0);
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop', 'cart-canary').spec.replicas).toBe(4);
  });
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
