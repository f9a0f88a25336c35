/**
 * SelfSubjectAccessReview and SelfSubjectRulesReview through the real `kubectl auth can-i`
 * (pkg/registry/authorization/selfsubjectaccessreview, selfsubjectrulesreview), and
 * SubjectAccessReview for an admin asking about someone else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startKubectlHarness, type KubectlHarness } from './helpers.js';

let h: KubectlHarness;
let deployer: string;
const SA = 'system:serviceaccount:shop:deployer';

beforeAll(async () => {
  h = await startKubectlHarness();
  await h.cluster.apply([
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: 'shop' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'deployer', namespace: 'shop' },
      rules: [
        { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch'], resourceNames: ['web'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'deployer', namespace: 'shop' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
      subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'shop' }],
    },
  ]);
  deployer = h.cluster.kubeconfigFor({ token: h.cluster.createToken('shop', 'deployer') }, { namespace: 'shop' });
});

afterAll(async () => {
  await h?.close();
});

describe('kubectl auth can-i (SelfSubjectAccessReview)', () => {
  it('answers yes for what the Role grants and no otherwise, with exit codes 0 and 1', async () => {
    const can = (...args: string[]) => h.kubectlWith(deployer, ['auth', 'can-i', ...args]);
    expect(await can('patch', 'virtualservices.networking.istio.io', '-n', 'shop')).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect(await can('watch', 'virtualservices.networking.istio.io')).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect(await can('delete', 'virtualservices.networking.istio.io', '-n', 'shop')).toMatchObject({ code: 1, stdout: 'no\n' });
    expect(await can('patch', 'virtualservices.networking.istio.io', '-n', 'elsewhere')).toMatchObject({ code: 1, stdout: 'no\n' });
    expect(await can('patch', 'deployments.apps/web', '--subresource', 'scale')).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect(await can('patch', 'deployments.apps/api', '--subresource', 'scale')).toMatchObject({ code: 1, stdout: 'no\n' });
    expect(await can('patch', 'deployments.apps/web')).toMatchObject({ code: 1, stdout: 'no\n' });
    expect(await can('get', '/apis')).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect(await can('get', '/metrics')).toMatchObject({ code: 1, stdout: 'no\n' });
    // The admin may do anything.
    expect(await h.kubectl(['auth', 'can-i', '*', '*', '-A'])).toMatchObject({ code: 0, stdout: 'yes\n' });
  });

  it('says why it allowed, as the RBAC authorizer words it', async () => {
    const token = h.cluster.createToken('shop', 'deployer');
    const res = await request(h.cluster, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      token,
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: { namespace: 'shop', verb: 'patch', group: 'networking.istio.io', resource: 'virtualservices', name: 'web' },
        },
      },
    });
    expect(res.status).toBe(201);
    expect(res.json().status).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "deployer/shop" of Role "deployer" to ServiceAccount "deployer/shop"',
    });
    const neither = await request(h.cluster, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      token,
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {} },
    });
    expect(neither.status).toBe(422);
    expect(neither.json().message).toBe(
      'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
  });
});

describe('kubectl auth can-i --list (SelfSubjectRulesReview)', () => {
  it('lists the rules in the namespace, including the defaults every authenticated user has', async () => {
    const r = await h.kubectlWith(deployer, ['auth', 'can-i', '--list', '-n', 'shop']);
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
    expect(rows[0]).toEqual(['Resources', 'Non-Resource URLs', 'Resource Names', 'Verbs']);
    expect(rows).toContainEqual(['virtualservices.networking.istio.io', '[]', '[]', '[get list watch patch]']);
    expect(rows).toContainEqual(['deployments.apps/scale', '[]', '[web]', '[patch]']);
    expect(rows).toContainEqual(['selfsubjectaccessreviews.authorization.k8s.io', '[]', '[]', '[create]']);
    expect(rows).toContainEqual(['[/apis/*]', '[]', '[get]']);
    // In another namespace only the cluster-wide defaults remain.
    const elsewhere = await h.kubectlWith(deployer, ['auth', 'can-i', '--list', '-n', 'elsewhere']);
    expect(elsewhere.stdout).not.toContain('virtualservices');
  });

  it('needs a namespace', async () => {
    const res = await request(h.cluster, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: {} },
    });
    expect(res.status).toBe(400);
    expect(res.json().message).toBe('no namespace on request');
  });
});

describe('SubjectAccessReview', () => {
  it('lets the admin ask about a ServiceAccount; a ServiceAccount may not ask', async () => {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: SA,
        groups: ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'],
        resourceAttributes: { namespace: 'shop', verb: 'delete', group: 'networking.istio.io', resource: 'virtualservices' },
      },
    };
    const res = await request(h.cluster, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { body });
    expect(res.status).toBe(201);
    expect(res.json().status).toEqual({ allowed: false });
    const asSa = await request(h.cluster, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      body,
      token: h.cluster.createToken('shop', 'deployer'),
    });
    expect(asSa.status).toBe(403);
    expect(asSa.json().message).toBe(
      `subjectaccessreviews.authorization.k8s.io is forbidden: User "${SA}" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope`,
    );
  });
});

describe('impersonation (kubectl --as)', () => {
  it('lets the admin act as the ServiceAccount, with its groups', async () => {
    const as = ['--as', SA];
    expect(await h.kubectl(['auth', 'can-i', 'patch', 'virtualservices.networking.istio.io', '-n', 'shop', ...as])).toMatchObject({
      code: 0,
      stdout: 'yes\n',
    });
    expect(await h.kubectl(['auth', 'can-i', 'delete', 'virtualservices.networking.istio.io', '-n', 'shop', ...as])).toMatchObject({
      code: 1,
      stdout: 'no\n',
    });
    const whoami = await h.kubectl(['auth', 'whoami', '-o', 'json', ...as]);
    expect(JSON.parse(whoami.stdout).status.userInfo).toEqual({
      username: SA,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'],
    });
    const pods = await h.kubectl(['get', 'pods', '-n', 'shop', ...as]);
    expect(pods.stderr).toBe(
      `Error from server (Forbidden): pods is forbidden: User "${SA}" cannot list resource "pods" in API group "" in the namespace "shop"\n`,
    );
    const jane = await h.kubectl(['auth', 'whoami', '-o', 'json', '--as', 'jane', '--as-group', 'dev']);
    expect(JSON.parse(jane.stdout).status.userInfo).toEqual({ username: 'jane', groups: ['dev', 'system:authenticated'] });
  });

  it('refuses impersonation to whoever may not impersonate, with the 403 of the impersonate check', async () => {
    const r = await h.kubectlWith(deployer, ['get', 'pods', '--as', 'jane']);
    expect(r.stderr).toBe(
      `Error from server (Forbidden): users "jane" is forbidden: User "${SA}" cannot impersonate resource "users" in API group "" at the cluster scope\n`,
    );
    const sa = await h.kubectlWith(deployer, ['get', 'pods', '--as', 'system:serviceaccount:kube-system:admin']);
    expect(sa.stderr).toBe(
      `Error from server (Forbidden): serviceaccounts "admin" is forbidden: User "${SA}" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"\n`,
    );
  });
});
