/**
 * Authentication: ServiceAccount tokens from the TokenRequest API, their expiry, client
 * certificates signed by the cluster's client CA, and the admin token, checked with the real
 * kubectl (`kubectl create token`, `kubectl auth whoami`) and raw requests, against what a
 * v1.32 kube-apiserver answers (see the sources cited in tokens.ts, authn.ts, auth-endpoints.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { request, startKubectlHarness, type KubectlHarness } from './helpers.js';
import { startTestCluster } from './server.js';

let h: KubectlHarness;

const serviceAccount = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
const UNAUTHORIZED = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'Unauthorized',
  reason: 'Unauthorized',
  code: 401,
};

beforeAll(async () => {
  h = await startKubectlHarness({ podReadyDelayMs: 20 });
  await h.cluster.apply([serviceAccount('shop', 'deployer')]);
});

afterAll(async () => {
  await h?.close();
});

describe('TokenRequest (kubectl create token)', () => {
  it('mints a JWT bound to the ServiceAccount with the requested duration', async () => {
    const r = await h.kubectl(['create', 'token', 'deployer', '-n', 'shop', '--duration', '10m']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const claims = claimsOf(token);
    const sa = h.cluster.get('v1', 'ServiceAccount', 'shop', 'deployer');
    expect(claims).toMatchObject({
      iss: 'https://kubernetes.default.svc.cluster.local',
      aud: ['https://kubernetes.default.svc.cluster.local'],
      sub: 'system:serviceaccount:shop:deployer',
      'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'deployer', uid: sa.metadata.uid } },
    });
    expect(claims.exp - claims.iat).toBe(600);
  });

  it('defaults to one hour and answers status.token and status.expirationTimestamp', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await request(h.cluster, 'POST', '/api/v1/namespaces/shop/serviceaccounts/deployer/token', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    });
    expect(res.status).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      spec: { expirationSeconds: 3600, audiences: ['https://kubernetes.default.svc.cluster.local'] },
    });
    const claims = claimsOf(body.status.token);
    expect(claims.exp - claims.iat).toBe(3600);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(Date.parse(body.status.expirationTimestamp) / 1000).toBe(claims.exp);
  });

  it('refuses less than 10 minutes with the real 422 message, and an unknown ServiceAccount with 404', async () => {
    const short = await h.kubectl(['create', 'token', 'deployer', '-n', 'shop', '--duration', '5m']);
    expect(short.code).toBe(1);
    expect(short.stderr).toBe(
      'error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes\n',
    );
    const unknown = await h.kubectl(['create', 'token', 'nobody', '-n', 'shop']);
    expect(unknown.stderr).toBe('error: failed to create token: serviceaccounts "nobody" not found\n');
  });

  it('authenticates the token as the ServiceAccount (kubectl auth whoami)', async () => {
    const token = h.cluster.createToken('shop', 'deployer', { expirationSeconds: 600 });
    const r = await h.kubectlWith(h.cluster.kubeconfigFor({ token }), ['auth', 'whoami', '-o', 'json']);
    expect(r.code).toBe(0);
    const review = JSON.parse(r.stdout);
    expect(review.kind).toBe('SelfSubjectReview');
    expect(review.status.userInfo).toEqual({
      username: 'system:serviceaccount:shop:deployer',
      uid: h.cluster.get('v1', 'ServiceAccount', 'shop', 'deployer').metadata.uid,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${claimsOf(token).jti}`] },
    });
  });
});

describe('token expiry and revocation', () => {
  it('a token works until its expiry (plus the one-minute leeway), then gets 401 Unauthorized', async () => {
    const cluster = await startTestCluster();
    try {
      await cluster.apply([serviceAccount('shop', 'deployer')]);
      const token = cluster.createToken('shop', 'deployer', { expirationSeconds: 600 });
      const whoami = () =>
        request(cluster, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
          token,
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        });
      expect((await whoami()).status).toBe(201);
      cluster.advanceTime(600_000 + 59_000);
      expect((await whoami()).status).toBe(201);
      cluster.advanceTime(2_000);
      const res = await whoami();
      expect(res.status).toBe(401);
      expect(res.json()).toEqual(UNAUTHORIZED);
      // A new token from the same cluster works again.
      const fresh = cluster.createToken('shop', 'deployer');
      expect((await request(cluster, 'GET', '/api', { token: fresh })).status).toBe(200);
    } finally {
      await cluster.stop();
    }
  });

  it('kubectl reports an expired token as Unauthorized', async () => {
    const k = await startKubectlHarness();
    try {
      await k.cluster.apply([serviceAccount('shop', 'deployer')]);
      const token = k.cluster.createToken('shop', 'deployer', { expirationSeconds: 600 });
      k.cluster.advanceTime(12 * 60_000);
      const r = await k.kubectlWith(k.cluster.kubeconfigFor({ token }), ['auth', 'whoami']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('error: You must be logged in to the server (Unauthorized)\n');
    } finally {
      await k.close();
    }
  });

  it('deleting the ServiceAccount revokes its tokens, and a new one of the same name does not revive them', async () => {
    await h.cluster.apply([serviceAccount('shop', 'temp')]);
    const token = h.cluster.createToken('shop', 'temp');
    expect((await request(h.cluster, 'GET', '/apis', { token })).status).toBe(200);
    expect((await h.kubectl(['delete', 'serviceaccount', 'temp', '-n', 'shop'])).code).toBe(0);
    expect((await request(h.cluster, 'GET', '/apis', { token })).status).toBe(401);
    await h.cluster.apply([serviceAccount('shop', 'temp')]);
    expect((await request(h.cluster, 'GET', '/apis', { token })).status).toBe(401);
  });

  it('a token bound to a Pod (kubectl create token --bound-object-kind Pod) lives only as long as the Pod', async () => {
    await h.cluster.apply([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'runner', namespace: 'shop' },
        spec: { serviceAccountName: 'deployer', containers: [{ name: 'c', image: 'runner:1' }] },
      },
    ]);
    const r = await h.kubectl(['create', 'token', 'deployer', '-n', 'shop', '--bound-object-kind', 'Pod', '--bound-object-name', 'runner']);
    expect(r.stderr).toBe('');
    const token = r.stdout.trim();
    const pod = h.cluster.get('v1', 'Pod', 'shop', 'runner');
    expect(claimsOf(token)['kubernetes.io'].pod).toEqual({ name: 'runner', uid: pod.metadata.uid });
    expect((await request(h.cluster, 'GET', '/apis', { token })).status).toBe(200);
    expect((await h.kubectl(['delete', 'pod', 'runner', '-n', 'shop'])).code).toBe(0);
    expect((await request(h.cluster, 'GET', '/apis', { token })).status).toBe(401);
    // A Pod that runs as another ServiceAccount cannot be bound (token.go).
    await h.cluster.apply([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'other', namespace: 'shop' },
        spec: { serviceAccountName: 'builder', containers: [{ name: 'c', image: 'x:1' }] },
      },
    ]);
    const refused = await h.kubectl([
      'create',
      'token',
      'deployer',
      '-n',
      'shop',
      '--bound-object-kind',
      'Pod',
      '--bound-object-name',
      'other',
    ]);
    expect(refused.stderr).toBe(
      'error: failed to create token: cannot bind token for serviceaccount "deployer" to pod running with serviceaccount "builder"\n',
    );
  });

  it('refuses a forged, a foreign, a garbage and a missing token with 401', async () => {
    const token = h.cluster.createToken('shop', 'deployer');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = claimsOf(token);
    claims.sub = 'system:serviceaccount:kube-system:admin';
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    const other = await startTestCluster();
    try {
      await other.apply([serviceAccount('shop', 'deployer')]);
      const foreign = other.createToken('shop', 'deployer');
      for (const t of [forged, foreign, 'garbage', `${header}.${payload}`, null]) {
        const res = await request(h.cluster, 'GET', '/api/v1/namespaces', { token: t });
        expect(res.status).toBe(401);
        expect(res.json()).toEqual(UNAUTHORIZED);
      }
    } finally {
      await other.stop();
    }
  });

  it('TokenReview tells a valid token from an expired one', async () => {
    const token = h.cluster.createToken('shop', 'deployer');
    const review = async (t: string) =>
      (
        await request(h.cluster, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: t } },
        })
      ).json().status;
    expect(await review(token)).toMatchObject({ authenticated: true, user: { username: 'system:serviceaccount:shop:deployer' } });
    expect((await review('nope')).authenticated).toBeUndefined();
  });
});

describe('client certificates and the admin token', () => {
  it('a certificate signed by the cluster CA is its CN, with its O as groups (kubectl and client-node)', async () => {
    const { cert, key } = h.cluster.issueClientCertificate('jane', ['dev', 'ops']);
    const kubeconfig = h.cluster.kubeconfigFor({ clientCertificate: cert, clientKey: key }, { namespace: 'shop' });
    const r = await h.kubectlWith(kubeconfig, ['auth', 'whoami', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).status.userInfo).toEqual({ username: 'jane', groups: ['dev', 'ops', 'system:authenticated'] });

    // client-node: authenticated (no 401), then refused by RBAC (403) since jane has no Role yet.
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    const err: any = await kc
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: 'shop' })
      .catch((e) => e);
    expect(err.code).toBe(403);
    expect(JSON.parse(err.body).message).toBe(
      'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "shop"',
    );
  });

  it('a certificate from another CA is not an identity: 401 without a token', async () => {
    const other = await startTestCluster();
    try {
      const { cert, key } = other.issueClientCertificate('mallory', ['system:masters']);
      const r = await h.kubectlWith(h.cluster.kubeconfigFor({ clientCertificate: cert, clientKey: key }), ['get', 'namespaces']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('error: You must be logged in to the server (Unauthorized)\n');
    } finally {
      await other.stop();
    }
  });

  it('a certificate in system:masters may do anything, like the admin token', async () => {
    const { cert, key } = h.cluster.issueClientCertificate('root', ['system:masters']);
    const r = await h.kubectlWith(h.cluster.kubeconfigFor({ clientCertificate: cert, clientKey: key }), [
      'get',
      'namespaces',
      '-o',
      'name',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('namespace/shop');
  });

  it('the admin token is kubernetes-admin in system:masters', async () => {
    const r = await h.kubectl(['auth', 'whoami', '-o', 'json']);
    expect(JSON.parse(r.stdout).status.userInfo).toEqual({
      username: 'kubernetes-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
  });

  it('kubeconfigFor writes token, tokenFile, client certificate and exec users', () => {
    const users = [
      { token: 't' },
      { tokenFile: '/var/run/token' },
      { clientCertificate: 'CERT', clientKey: 'KEY' },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks', 'get-token'] } },
    ] as const;
    const written = users.map((u) => parse(h.cluster.kubeconfigFor(u)).users[0].user);
    expect(written).toEqual([
      { token: 't' },
      { tokenFile: '/var/run/token' },
      { 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key-data': Buffer.from('KEY').toString('base64') },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks', 'get-token'] } },
    ]);
  });
});
