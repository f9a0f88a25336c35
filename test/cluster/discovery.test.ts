/**
 * A cluster started without some API groups or versions (option omitApis) behaves as a cluster
 * without that CRD, or whose CRD does not serve that version: absent from legacy, aggregated and
 * OpenAPI discovery, 404 on its resource paths, the other versions serving the same objects.
 * Also: the older versions (networking.istio.io/v1beta1, gateway.networking.k8s.io/v1beta1) are
 * served as further versions of the same storage, as by a CRD with several served versions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startKubectlHarness, type KubectlHarness } from './helpers.js';
import { startTestCluster } from './server.js';
import { AGGREGATED_DISCOVERY_CONTENT_TYPE } from './discovery.js';

let h: KubectlHarness;

const NOT_FOUND = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'the server could not find the requested resource',
  reason: 'NotFound',
  code: 404,
};

const route = (apiVersion: string) => ({
  apiVersion,
  kind: 'HTTPRoute',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { rules: [{ backendRefs: [{ name: 'web', port: 80, weight: 100 }] }] },
});

beforeAll(async () => {
  h = await startKubectlHarness({ omitApis: ['networking.istio.io/v1', 'gateway.networking.k8s.io'] });
});

afterAll(async () => {
  await h?.close();
});

describe('omitApis', () => {
  it('leaves the group/version out of /apis, /apis/GROUP, aggregated discovery and OpenAPI', async () => {
    const list = (await request(h.cluster, 'GET', '/apis')).json();
    const istio = list.groups.find((g: any) => g.name === 'networking.istio.io');
    expect(istio).toEqual({
      name: 'networking.istio.io',
      versions: [{ groupVersion: 'networking.istio.io/v1beta1', version: 'v1beta1' }],
      preferredVersion: { groupVersion: 'networking.istio.io/v1beta1', version: 'v1beta1' },
    });
    expect(list.groups.map((g: any) => g.name)).not.toContain('gateway.networking.k8s.io');
    expect((await request(h.cluster, 'GET', '/apis/networking.istio.io')).json().versions).toEqual([
      { groupVersion: 'networking.istio.io/v1beta1', version: 'v1beta1' },
    ]);
    expect((await request(h.cluster, 'GET', '/apis/gateway.networking.k8s.io')).json()).toEqual(NOT_FOUND);
    expect((await request(h.cluster, 'GET', '/apis/networking.istio.io/v1')).status).toBe(404);
    expect((await request(h.cluster, 'GET', '/apis/networking.istio.io/v1beta1')).json().resources.map((r: any) => r.name)).toEqual([
      'virtualservices',
      'virtualservices/status',
      'destinationrules',
      'destinationrules/status',
    ]);

    const aggregated = (await request(h.cluster, 'GET', '/apis', { accept: AGGREGATED_DISCOVERY_CONTENT_TYPE })).json();
    expect(aggregated.items.find((i: any) => i.metadata.name === 'networking.istio.io').versions.map((v: any) => v.version)).toEqual([
      'v1beta1',
    ]);
    expect(aggregated.items.map((i: any) => i.metadata.name)).not.toContain('gateway.networking.k8s.io');

    const openapi = Object.keys((await request(h.cluster, 'GET', '/openapi/v3')).json().paths);
    expect(openapi).toContain('apis/networking.istio.io/v1beta1');
    expect(openapi).not.toContain('apis/networking.istio.io/v1');
    expect(openapi.some((p) => p.startsWith('apis/gateway.networking.k8s.io'))).toBe(false);
    expect((await request(h.cluster, 'GET', '/openapi/v3/apis/networking.istio.io/v1')).status).toBe(404);
  });

  it('answers 404 on the resource paths of an omitted version, serving the objects through the others', async () => {
    const vs = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { hosts: ['web'] },
    };
    await h.cluster.apply([vs]);
    for (const path of [
      '/apis/networking.istio.io/v1/namespaces/shop/virtualservices',
      '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/web',
      '/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes',
      '/apis/gateway.networking.k8s.io/v1beta1/namespaces/shop/httproutes',
    ]) {
      const res = await request(h.cluster, 'GET', path);
      expect(res.json(), path).toEqual(NOT_FOUND);
    }
    const patch = await request(h.cluster, 'PATCH', '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/web', {
      body: { spec: { hosts: ['x'] } },
      contentType: 'application/merge-patch+json',
    });
    expect(patch.status).toBe(404);
    const old = await request(h.cluster, 'GET', '/apis/networking.istio.io/v1beta1/namespaces/shop/virtualservices/web');
    expect(old.json()).toMatchObject({ apiVersion: 'networking.istio.io/v1beta1', spec: { hosts: ['web'] } });
    // Test setup refuses what the cluster does not serve, too.
    await expect(h.cluster.apply([route('gateway.networking.k8s.io/v1')])).rejects.toThrow(
      'test cluster does not serve gateway.networking.k8s.io/v1 HTTPRoute',
    );
    expect(() => h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'web')).toThrow(/does not serve/);
  });

  it('kubectl sees the cluster as one without the CRD', async () => {
    const missing = await h.kubectl(['get', 'httproutes', '-n', 'shop']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`error: the server doesn't have a resource type "httproutes"`);
    const vs = await h.kubectl(['get', 'virtualservices', '-n', 'shop', '-o', 'jsonpath={.items[*].apiVersion}']);
    expect(vs.stdout).toBe('networking.istio.io/v1beta1');
    const versions = await h.kubectl(['api-versions']);
    expect(versions.stdout).toContain('networking.istio.io/v1beta1\n');
    expect(versions.stdout).not.toContain('networking.istio.io/v1\n');
    expect(versions.stdout).not.toContain('gateway.networking.k8s.io');
  });

  it('refuses an omitApis entry the cluster does not serve, naming what it does', async () => {
    await expect(startTestCluster({ omitApis: ['networking.istio.io/v2'] })).rejects.toThrow(
      /^omitApis: "networking.istio.io\/v2" is not an API group or group\/version the test cluster serves; use one of .*networking.istio.io\/v1beta1/,
    );
  });
});

describe('older versions on a full cluster', () => {
  it('serves HTTPRoute as gateway.networking.k8s.io v1 and v1beta1 from one storage', async () => {
    const cluster = await startTestCluster();
    try {
      await cluster.apply([route('gateway.networking.k8s.io/v1beta1')]);
      const v1 = await request(cluster, 'GET', '/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/web');
      expect(v1.json()).toMatchObject({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'web' } });
      const group = (await request(cluster, 'GET', '/apis/gateway.networking.k8s.io')).json();
      expect(group.versions.map((v: any) => v.version)).toEqual(['v1', 'v1beta1']);
      expect(group.preferredVersion.version).toBe('v1');
      const istio = (await request(cluster, 'GET', '/apis/networking.istio.io')).json();
      expect(istio.versions.map((v: any) => v.version)).toEqual(['v1', 'v1beta1']);
    } finally {
      await cluster.stop();
    }
  });

  it('serves ServiceAccounts with the token subresource in discovery, as a real cluster', async () => {
    const list = (await request(h.cluster, 'GET', '/api/v1')).json();
    expect(list.resources.find((r: any) => r.name === 'serviceaccounts/token')).toEqual({
      name: 'serviceaccounts/token',
      singularName: '',
      namespaced: true,
      group: 'authentication.k8s.io',
      version: 'v1',
      kind: 'TokenRequest',
      verbs: ['create'],
    });
    const authz = (await request(h.cluster, 'GET', '/apis/authorization.k8s.io/v1')).json();
    expect(authz.resources.find((r: any) => r.name === 'selfsubjectaccessreviews')).toMatchObject({
      namespaced: false,
      kind: 'SelfSubjectAccessReview',
      verbs: ['create'],
    });
  });
});
