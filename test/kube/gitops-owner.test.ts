/**
 * A GitOps controller owns the weights (it applied the object with server-side apply): our
 * weight write warns, naming the manager, the object and the field, writes anyway, and the
 * ownership then moves as on a real API server (the test cluster keeps managedFields as
 * structured-merge-diff does; see test/cluster/apply.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { IstioVirtualServiceRouter } from '../../src/core/kube/routers/istio-virtual-service.js';
import { HttpRouteRouter } from '../../src/core/kube/routers/gateway-httproute.js';
import { request } from '../cluster/helpers.js';
import { setDeploymentImage } from '../../src/core/kube/deployment.js';
import { startHarness, type KubeHarness } from './harness.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.reporter.entries.length = 0;
});

const VS = '/apis/networking.istio.io/v1/namespaces/shop/virtualservices';
const ROUTE = '/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes';

function virtualService(name: string, stable: number) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'shop' },
    spec: {
      hosts: [`${name}.example.com`],
      http: [
        {
          name: 'primary',
          route: [
            { destination: { host: `${name}-stable` }, weight: stable },
            { destination: { host: `${name}-canary` }, weight: 100 - stable },
          ],
        },
      ],
    },
  };
}

function httpRoute(name: string, stable: number) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'shop' },
    spec: {
      parentRefs: [{ name: 'gateway' }],
      rules: [
        {
          backendRefs: [
            { name: `${name}-stable`, port: 80, weight: stable },
            { name: `${name}-canary`, port: 80, weight: 100 - stable },
          ],
        },
      ],
    },
  };
}

/** What Argo CD (ServerSideApply=true) and Flux send: an apply with force. */
async function gitopsApply(collection: string, obj: { metadata: { name: string } }, manager = 'argocd-controller') {
  const res = await request(h.cluster, 'PATCH', `${collection}/${obj.metadata.name}?fieldManager=${manager}&force=true`, {
    body: JSON.stringify(obj),
    contentType: 'application/apply-patch+yaml',
  });
  expect(res.status, res.text).toBeLessThan(300);
  return res.json();
}

const warnings = () => h.reporter.entries.filter((e) => e.level === 'warn').map((e) => e.message);
const managerOf = (obj: any, manager: string) => obj.metadata.managedFields?.find((e: any) => e.manager === manager);

describe('weights owned by a GitOps controller', () => {
  beforeAll(async () => {
    await h.cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  });

  test('Istio: the canary step warns naming the manager, the object and .spec.http, writes, and takes the field', async () => {
    await gitopsApply(VS, virtualService('web', 100));
    const router = new IstioVirtualServiceRouter(h.client, {
      namespace: 'shop',
      name: 'web',
      route: 'primary',
      by: 'host',
      destinations: ['web-stable', 'web-canary'],
    });
    expect(await router.write({ 'web-stable': 90, 'web-canary': 10 })).toEqual({ 'web-stable': 90, 'web-canary': 10 });

    expect(warnings()).toEqual([
      'VirtualService shop/web: .spec.http (which we change to move traffic) is owned by field manager "argocd-controller" (server-side apply). ' +
        'We change it anyway, but "argocd-controller" will put its own value back on its next sync unless it is told to ignore this field: see "GitOps (Argo CD, Flux)" in the README.',
    ]);
    // The write went out as our field manager; the server moved .spec.http (an atomic list in Istio's CRD) to us.
    const patches = h.cluster.requests.filter((r) => r.method === 'PATCH' && r.path === `${VS}/web`);
    expect(patches.at(-1)!.query).toContain('fieldManager=progressive-delivery');
    const live = h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'web');
    expect(managerOf(live, 'progressive-delivery')).toMatchObject({ operation: 'Update', fieldsV1: { 'f:spec': { 'f:http': {} } } });
    expect(managerOf(live, 'argocd-controller').fieldsV1['f:spec']).toEqual({ 'f:hosts': {} });

    // The next step: we own the weights now, no new warning.
    await router.write({ 'web-stable': 75, 'web-canary': 25 });
    expect(warnings()).toHaveLength(1);

    // What the warning says happens: the next sync (apply with force) puts the manifest's weights back.
    const synced = await gitopsApply(VS, virtualService('web', 100));
    expect(synced.spec.http[0].route.map((r: any) => r.weight)).toEqual([100, 0]);
    expect(managerOf(synced, 'progressive-delivery')).toBeUndefined();
    expect(await router.read()).toEqual({ 'web-stable': 100, 'web-canary': 0 });
  });

  test('Gateway API: the same for an HTTPRoute applied by kustomize-controller (Flux), on .spec.rules', async () => {
    await gitopsApply(ROUTE, httpRoute('api', 100), 'kustomize-controller');
    const router = new HttpRouteRouter(h.client, { namespace: 'shop', name: 'api', destinations: ['api-stable', 'api-canary'] });
    expect(await router.write({ 'api-stable': 80, 'api-canary': 20 })).toEqual({ 'api-stable': 80, 'api-canary': 20 });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain(
      'HTTPRoute shop/api: .spec.rules (which we change to move traffic) is owned by field manager "kustomize-controller" (server-side apply)',
    );
    const live = h.cluster.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'shop', 'api');
    expect(managerOf(live, 'progressive-delivery').fieldsV1).toEqual({ 'f:spec': { 'f:rules': {} } });
    expect(managerOf(live, 'kustomize-controller').fieldsV1['f:spec']).toEqual({ 'f:parentRefs': {} });
  });

  test('no warning when nobody else applies the weights (client-side apply, our own writes)', async () => {
    // kubectl's client-side apply and plain creates are Update entries of non-GitOps managers.
    const res = await request(h.cluster, 'POST', `${VS}?fieldManager=kubectl-client-side-apply`, { body: virtualService('plain', 100) });
    expect(res.status).toBe(201);
    const router = new IstioVirtualServiceRouter(h.client, {
      namespace: 'shop',
      name: 'plain',
      route: 'primary',
      by: 'host',
      destinations: ['plain-stable', 'plain-canary'],
    });
    await router.write({ 'plain-stable': 50, 'plain-canary': 50 });
    await router.write({ 'plain-stable': 0, 'plain-canary': 100 });
    expect(warnings()).toEqual([]);
  });

  test('an Argo CD client-side sync (Update by argocd-controller) warns too', async () => {
    const res = await request(h.cluster, 'POST', `${VS}?fieldManager=argocd-controller`, { body: virtualService('legacy', 100) });
    expect(res.status).toBe(201);
    const router = new IstioVirtualServiceRouter(h.client, {
      namespace: 'shop',
      name: 'legacy',
      route: 'primary',
      by: 'host',
      destinations: ['legacy-stable', 'legacy-canary'],
    });
    await router.write({ 'legacy-stable': 90, 'legacy-canary': 10 });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain(
      'VirtualService shop/legacy: .spec.http (which we change to move traffic) is owned by field manager "argocd-controller" (a GitOps sync)',
    );
  });
});

describe('a Deployment applied by a GitOps controller', () => {
  test('setting its image and replicas warns, naming the manager and each field, and writes', async () => {
    const labels = { app: 'shop' };
    const dep = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'shop', namespace: 'shop' },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'shop:1' }] } },
      },
    };
    await gitopsApply('/apis/apps/v1/namespaces/shop/deployments', dep);
    const change = await setDeploymentImage(h.client, { namespace: 'shop', name: 'shop', image: 'shop:2', replicas: 3 });
    expect(change).toMatchObject({ previousImage: 'shop:1', image: 'shop:2', changed: true });
    const why = (field: string) =>
      `Deployment shop/shop: ${field} (which we change to roll out the release) is owned by field manager "argocd-controller" (server-side apply). ` +
      'We change it anyway, but "argocd-controller" will put its own value back on its next sync unless it is told to ignore this field: see "GitOps (Argo CD, Flux)" in the README.';
    expect(warnings()).toEqual([why('.spec.template.spec.containers[name="app"].image'), why('.spec.replicas')]);
    const live = h.cluster.get('apps/v1', 'Deployment', 'shop', 'shop');
    expect(live.spec.template.spec.containers[0].image).toBe('shop:2');
    expect(live.spec.replicas).toBe(3);
  });
});
