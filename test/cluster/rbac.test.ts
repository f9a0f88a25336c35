/**
 * RBAC: what a ServiceAccount may do under Roles and bindings, and the exact 403 a v1.32
 * kube-apiserver answers otherwise (responsewriters/errors.go forbiddenMessage, apierrors.NewForbidden),
 * through the real kubectl, client-node and raw requests; and the request attributes as
 * requestinfo.go parses them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { deployment, request, startKubectlHarness, type KubectlHarness } from './helpers.js';
import { requestInfo } from './request-info.js';

let h: KubectlHarness;
let deployer: string; // kubeconfig of system:serviceaccount:shop:deployer
const SA = 'system:serviceaccount:shop:deployer';

const virtualService = (name: string) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name, namespace: 'shop' },
  spec: { hosts: [name], http: [{ route: [{ destination: { host: name }, weight: 100 }] }] },
});

const role = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name: 'deployer', namespace: 'shop' },
  rules: [
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch', 'update'] },
    { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['get'] },
    { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['patch'], resourceNames: ['web'] },
    { apiGroups: ['argoproj.io'], resources: ['*/status'], verbs: ['get'] },
  ],
};

const roleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: 'deployer', namespace: 'shop' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
  subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'shop' }],
};

async function kubectlApply(objects: object[]): Promise<void> {
  const path = join(h.dir, `rbac-${Date.now()}.yaml`);
  await writeFile(path, objects.map((o) => stringify(o)).join('---\n'));
  const r = await h.kubectl(['apply', '-f', path]);
  expect(r.stderr).toBe('');
}

const asDeployer = (args: string[]) => h.kubectlWith(deployer, args);

beforeAll(async () => {
  h = await startKubectlHarness({ podReadyDelayMs: 20 });
  await h.cluster.apply([
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: 'shop' } },
    { ...deployment('web', 'app:1'), metadata: { ...deployment('web', 'app:1').metadata, namespace: 'shop' } },
    virtualService('web'),
    virtualService('other'),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'elsewhere' } },
  ]);
  await kubectlApply([role, roleBinding]); // served so kubectl apply works
  deployer = h.cluster.kubeconfigFor({ token: h.cluster.createToken('shop', 'deployer') }, { namespace: 'shop' });
});

afterAll(async () => {
  await h?.close();
});

describe('RBAC through kubectl', () => {
  it('allows what the Role grants: list, get, watch with a name, patch of the named VirtualService', async () => {
    expect((await asDeployer(['get', 'deployments', '-o', 'name'])).stdout).toBe('deployment.apps/web\n');
    const patched = await asDeployer([
      'patch',
      'virtualservice.networking.istio.io',
      'web',
      '--type',
      'merge',
      '-p',
      '{"spec":{"hosts":["web","web.shop"]}}',
    ]);
    expect(patched.stderr).toBe('');
    expect(h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'web').spec.hosts).toEqual(['web', 'web.shop']);
  });

  it('refuses a patch outside resourceNames (kubectl may get it first) with the real 403 message, and changes nothing', async () => {
    const before = h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'other');
    const r = await asDeployer([
      'patch',
      'virtualservice.networking.istio.io',
      'other',
      '--type',
      'merge',
      '-p',
      '{"spec":{"hosts":["x"]}}',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error from server (Forbidden): virtualservices.networking.istio.io "other" is forbidden: User "${SA}" cannot patch resource "virtualservices" in API group "networking.istio.io" in the namespace "shop"\n`,
    );
    expect(h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'other')).toEqual(before);
  });

  it('a list has no name part; another namespace and cluster scope are named as such', async () => {
    const vsList = await asDeployer(['get', 'virtualservices.networking.istio.io']);
    expect(vsList.stderr).toBe(
      `Error from server (Forbidden): virtualservices.networking.istio.io is forbidden: User "${SA}" cannot list resource "virtualservices" in API group "networking.istio.io" in the namespace "shop"\n`,
    );
    const elsewhere = await asDeployer(['get', 'deployments', '-n', 'elsewhere']);
    expect(elsewhere.stderr).toBe(
      `Error from server (Forbidden): deployments.apps is forbidden: User "${SA}" cannot list resource "deployments" in API group "apps" in the namespace "elsewhere"\n`,
    );
    const namespaces = await asDeployer(['get', 'namespaces']);
    expect(namespaces.stderr).toBe(
      `Error from server (Forbidden): namespaces is forbidden: User "${SA}" cannot list resource "namespaces" in API group "" at the cluster scope\n`,
    );
  });

  it('a subresource rule (deployments/scale) allows kubectl scale but not a patch of the Deployment', async () => {
    const scaled = await asDeployer(['scale', 'deployment', 'web', '--replicas', '3']);
    expect(scaled.stderr).toBe('');
    expect(h.cluster.get('apps/v1', 'Deployment', 'shop', 'web').spec.replicas).toBe(3);
    const patch = await asDeployer(['patch', 'deployment', 'web', '--type', 'merge', '-p', '{"spec":{"replicas":1}}']);
    expect(patch.stderr).toBe(
      `Error from server (Forbidden): deployments.apps "web" is forbidden: User "${SA}" cannot patch resource "deployments" in API group "apps" in the namespace "shop"\n`,
    );
  });

  it('names a missing role in the reason, as "RBAC: clusterrole... not found"', async () => {
    await kubectlApply([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'ghost', namespace: 'shop' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ghost' },
        subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'shop' }],
      },
    ]);
    try {
      const r = await asDeployer(['get', 'services']);
      expect(r.stderr).toBe(
        `Error from server (Forbidden): services is forbidden: User "${SA}" cannot list resource "services" in API group "" in the namespace "shop": RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found\n`,
      );
    } finally {
      await h.kubectl(['delete', 'rolebinding', 'ghost', '-n', 'shop']);
    }
  });

  it('a ClusterRoleBinding to a group of ServiceAccounts grants cluster-wide; removing it takes the grant back', async () => {
    const before = await asDeployer(['get', 'namespaces', '-o', 'name']);
    expect(before.code).toBe(1);
    await kubectlApply([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'ns-reader' },
        rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['*'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'ns-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ns-reader' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:serviceaccounts:shop' }],
      },
    ]);
    expect((await asDeployer(['get', 'namespaces', '-o', 'name'])).stdout).toContain('namespace/elsewhere');
    expect((await h.kubectl(['delete', 'clusterrolebinding', 'ns-reader'])).code).toBe(0);
    expect((await asDeployer(['get', 'namespaces'])).code).toBe(1);
  });
});

describe('RBAC on watches, discovery and non-resource paths', () => {
  it('a denied watch is a 403 Status, not an empty stream (raw and client-node)', async () => {
    const token = h.cluster.createToken('shop', 'deployer');
    const res = await request(h.cluster, 'GET', '/apis/networking.istio.io/v1/namespaces/shop/virtualservices?watch=true', { token });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `virtualservices.networking.istio.io is forbidden: User "${SA}" cannot watch resource "virtualservices" in API group "networking.istio.io" in the namespace "shop"`,
      reason: 'Forbidden',
      details: { group: 'networking.istio.io', kind: 'virtualservices' },
      code: 403,
    });
    // A watch of one named object (field selector metadata.name) is authorized on that name.
    const named = await request(
      h.cluster,
      'GET',
      '/apis/networking.istio.io/v1/namespaces/shop/virtualservices?watch=true&fieldSelector=metadata.name%3Dother',
      { token },
    );
    expect(named.status).toBe(403);
    expect(named.json().message).toMatch(/^virtualservices\.networking\.istio\.io "other" is forbidden: .* cannot watch resource/);

    const kc = new KubeConfig();
    kc.loadFromString(deployer);
    const err = await new Promise<any>((resolve) => {
      void new Watch(kc)
        .watch(
          '/api/v1/namespaces/shop/pods',
          {},
          () => resolve(new Error('got an event')),
          (e) => resolve(e),
        )
        .catch(resolve);
    });
    expect(String(err)).toMatch(/403|Forbidden/);
  });

  it('an authenticated ServiceAccount may do discovery (system:discovery) but not other paths', async () => {
    const token = h.cluster.createToken('shop', 'deployer');
    for (const path of ['/api', '/apis', '/api/v1', '/apis/apps/v1', '/openapi/v3', '/version']) {
      expect((await request(h.cluster, 'GET', path, { token })).status, path).toBe(200);
    }
    const metrics = await request(h.cluster, 'GET', '/metrics', { token });
    expect(metrics.status).toBe(403);
    expect(metrics.json()).toMatchObject({ reason: 'Forbidden', message: `forbidden: User "${SA}" cannot get path "/metrics"` });
    expect(metrics.json().details).toBeUndefined();
    // kubectl api-resources works from discovery alone.
    const r = await asDeployer(['api-resources', '--api-group', 'networking.istio.io', '-o', 'name']);
    expect(r.stdout).toBe('destinationrules.networking.istio.io\nvirtualservices.networking.istio.io\n');
  });

  it('a request for a type the server does not serve is authorized first (403, not 404)', async () => {
    const token = h.cluster.createToken('shop', 'deployer');
    const res = await request(h.cluster, 'GET', '/apis/example.com/v1/namespaces/shop/widgets', { token });
    expect(res.status).toBe(403);
    const admin = await request(h.cluster, 'GET', '/apis/example.com/v1/namespaces/shop/widgets');
    expect(admin.status).toBe(404);
  });
});

describe('request attributes (requestinfo.go)', () => {
  const q = (s = '') => new URLSearchParams(s);
  const pick = (method: string, path: string, query = '') => {
    const i = requestInfo(method, path, q(query));
    return [i.isResourceRequest, i.verb, i.apiGroup, i.namespace, i.resource, i.subresource, i.name].join('|');
  };
  it('derives verbs, resources, subresources, names and namespaces as the apiserver does', () => {
    expect(pick('GET', '/api/v1/namespaces/shop/pods')).toBe('true|list||shop|pods||');
    expect(pick('GET', '/api/v1/namespaces/shop/pods', 'watch=true')).toBe('true|watch||shop|pods||');
    expect(pick('GET', '/api/v1/watch/namespaces/shop/pods')).toBe('true|watch||shop|pods||');
    expect(pick('GET', '/api/v1/namespaces/shop/pods/p1')).toBe('true|get||shop|pods||p1');
    expect(pick('GET', '/api/v1/pods')).toBe('true|list|||pods||');
    expect(pick('GET', '/apis/apps/v1/namespaces/shop/deployments', 'fieldSelector=metadata.name%3Dweb')).toBe(
      'true|list|apps|shop|deployments||web',
    );
    expect(pick('PATCH', '/apis/apps/v1/namespaces/shop/deployments/web/scale')).toBe('true|patch|apps|shop|deployments|scale|web');
    expect(pick('PUT', '/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/r/status')).toBe(
      'true|update|argoproj.io|shop|rollouts|status|r',
    );
    expect(pick('POST', '/api/v1/namespaces/shop/serviceaccounts/deployer/token')).toBe('true|create||shop|serviceaccounts|token|deployer');
    expect(pick('DELETE', '/api/v1/namespaces/shop/pods')).toBe('true|deletecollection||shop|pods||');
    expect(pick('DELETE', '/api/v1/namespaces/shop/pods/p1')).toBe('true|delete||shop|pods||p1');
    // A namespace is in its own namespace; its status is a subresource.
    expect(pick('GET', '/api/v1/namespaces/shop')).toBe('true|get||shop|namespaces||shop');
    expect(pick('PUT', '/api/v1/namespaces/shop/status')).toBe('true|update||shop|namespaces|status|shop');
    expect(pick('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).toBe(
      'true|create|authorization.k8s.io||selfsubjectaccessreviews||',
    );
    // Discovery is not a resource request.
    for (const path of ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/version', '/openapi/v3']) {
      expect(requestInfo('GET', path, q()), path).toMatchObject({ isResourceRequest: false, verb: 'get', path });
    }
  });
});
