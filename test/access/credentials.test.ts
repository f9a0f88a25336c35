/**
 * Credentials that change during a run, against the test cluster's real token check: exec
 * credential plugins (client.authentication.k8s.io v1 and v1beta1, as `aws eks update-kubeconfig`,
 * `gke-gcloud-auth-plugin` and `kubelogin` write them), token files that rotate, the in-cluster
 * ServiceAccount, and what a refused credential says. The plugins are real processes (small node
 * scripts), as client-go runs them.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { CredentialError, RENEW_BEFORE_MS } from '../../src/core/kube/credentials.js';
import { kubeCredentials, loadKubeConfig } from '../../src/core/kube/kubeconfig.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { failure, readSettings } from './support.js';

let cluster: TestCluster;
let dir: string;
beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 300 });
  await cluster.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, data: { a: '1' } });
  dir = await mkdtemp(join(tmpdir(), 'access-'));
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function kubeconfigWith(user: object, extra: { contexts?: object[]; current?: string } = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'test', cluster: { server: cluster.url, 'certificate-authority-data': Buffer.from(cluster.caCert).toString('base64') } },
    ],
    users: [{ name: 'ci', user }],
    contexts: [{ name: 'ci', context: { cluster: 'test', user: 'ci', namespace: 'shop' } }, ...(extra.contexts ?? [])],
    'current-context': extra.current ?? 'ci',
  });
}

let scripts = 0;
/**
 * A plugin as a node script. `tokens` are printed in turn (the last one repeats); it counts its runs
 * in a file, and prints KUBERNETES_EXEC_INFO to a file so the test can check what it was given.
 */
async function plugin(options: {
  apiVersion?: string;
  tokens?: string[];
  expiresInMs?: number;
  body?: string;
}): Promise<{ exec: object; runs: () => Promise<number>; info: () => Promise<any> }> {
  const name = `plugin-${++scripts}`;
  const file = join(dir, `${name}.mjs`);
  const count = join(dir, `${name}.count`);
  const info = join(dir, `${name}.info`);
  const apiVersion = options.apiVersion ?? 'client.authentication.k8s.io/v1';
  const body =
    options.body ??
    `const tokens = ${JSON.stringify(options.tokens ?? [cluster.token])};
const n = fs.existsSync(${JSON.stringify(count)}) ? Number(fs.readFileSync(${JSON.stringify(count)}, 'utf8')) : 0;
fs.writeFileSync(${JSON.stringify(count)}, String(n + 1));
fs.writeFileSync(${JSON.stringify(info)}, process.env.KUBERNETES_EXEC_INFO ?? '');
const status = { token: tokens[Math.min(n, tokens.length - 1)] };
${options.expiresInMs === undefined ? '' : `status.expirationTimestamp = new Date(Date.now() + ${options.expiresInMs}).toISOString();`}
process.stdout.write(JSON.stringify({ apiVersion: ${JSON.stringify(apiVersion)}, kind: 'ExecCredential', status }));`;
  await writeFile(file, `import fs from 'node:fs';\n${body}\n`);
  return {
    exec: { apiVersion, command: process.execPath, args: [file], interactiveMode: 'Never' },
    runs: async () => Number(await readFile(count, 'utf8').catch(() => '0')),
    info: async () => JSON.parse(await readFile(info, 'utf8')),
  };
}

describe('exec credential plugins', () => {
  for (const apiVersion of ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1']) {
    test(`${apiVersion}: the token is used and cached until shortly before it expires; the plugin is told it is not interactive`, async () => {
      const p = await plugin({ apiVersion, expiresInMs: 3_600_000 });
      const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec: p.exec }) });
      for (let i = 0; i < 3; i++) expect((await readSettings(client)).data).toEqual({ a: '1' });
      expect(await p.runs()).toBe(1);
      expect(await p.info()).toEqual({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } });
    });
  }

  test('a credential within the renewal margin of its expirationTimestamp is renewed before the next request', async () => {
    const p = await plugin({ expiresInMs: RENEW_BEFORE_MS - 5_000 });
    const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec: p.exec }) });
    await readSettings(client);
    await readSettings(client);
    expect(await p.runs()).toBe(2);
  });

  test('concurrent requests share one plugin run', async () => {
    const p = await plugin({});
    const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec: p.exec }) });
    await Promise.all([readSettings(client), readSettings(client), readSettings(client), readSettings(client)]);
    expect(await p.runs()).toBe(1);
  });

  test('a 401 renews the credential once and retries the request: a plugin whose first token lapsed', async () => {
    const p = await plugin({ tokens: ['expired-token-0123456789', cluster.token] });
    const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec: p.exec }) });
    cluster.resetRequests();
    expect((await readSettings(client)).data).toEqual({ a: '1' });
    expect(await p.runs()).toBe(2);
    expect(cluster.requests.map((r) => r.status)).toEqual([401, 200]);
  });

  test('a credential refused again after the renewal fails with the 401 message, without a loop', async () => {
    const p = await plugin({ tokens: ['wrong-token-0123456789'] });
    const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec: p.exec }) });
    cluster.resetRequests();
    const error = await failure(readSettings(client));
    expect(error.message).toBe(
      'get ConfigMap shop/settings: 401 Unauthorized: the credential (renewed once) was refused (401) for user "ci" (context "ci"): check what the exec plugin or token file yields',
    );
    expect(await p.runs()).toBe(2);
    expect(cluster.requests).toHaveLength(2);
  });

  test('a missing plugin binary is an InputError naming the command and the install hint', async () => {
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      command: 'gke-gcloud-auth-plugin-not-here',
      installHint: 'Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin',
    };
    const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec }) });
    const error = await failure(readSettings(client));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(
      'kubeconfig: the exec credential plugin of user "ci" in the kubeconfig input runs "gke-gcloud-auth-plugin-not-here", which is not installed (not found on PATH); Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin',
    );
  });

  test('a plugin that exits non-zero: the command, its exit code and its stderr, with anything token-like redacted', async () => {
    const secret = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl';
    const p = await plugin({
      body: `process.stderr.write('An error occurred (ExpiredToken) when calling the AssumeRole operation; session ${secret}\\n'); process.exit(255);`,
    });
    const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec: p.exec }) });
    const error = await failure(readSettings(client));
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toContain('the exec credential plugin of user "ci" in the kubeconfig input');
    expect(error.message).toContain(
      `failed (exit code 255); it printed on stderr: An error occurred (ExpiredToken) when calling the AssumeRole operation; session ***`,
    );
    expect(error.message).not.toContain(secret);
  });

  test('a plugin that never answers is stopped after the timeout, naming the command', async () => {
    const p = await plugin({ body: `process.stderr.write('waiting for browser login...\\n'); setInterval(() => {}, 1000);` });
    const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec: p.exec }), execTimeoutMs: 1_000 });
    const started = Date.now();
    const error = await failure(readSettings(client));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toMatch(
      /\(.*plugin-\d+\.mjs\) did not answer within 1 s; it printed on stderr: waiting for browser login\.\.\.$/,
    );
  });

  test('garbage on stdout is an InputError that does not quote it', async () => {
    const cases: [string, RegExp][] = [
      [
        `process.stdout.write('<html>token=abcdefgh12345</html>')`,
        /printed 32 bytes that are not JSON; it must print \{"apiVersion":"client.authentication.k8s.io\/v1","kind":"ExecCredential"/,
      ],
      [`process.stdout.write(JSON.stringify({ kind: 'Secret' }))`, /printed JSON that is not an ExecCredential/],
      [
        `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1alpha1', kind: 'ExecCredential', status: { token: 'x' } }))`,
        /apiVersion "client.authentication.k8s.io\/v1alpha1" but is configured for client.authentication.k8s.io\/v1/,
      ],
      [
        `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: {} }))`,
        /without status.token/,
      ],
      [
        `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'abc', expirationTimestamp: 'soon' } }))`,
        /expirationTimestamp that is not an RFC 3339 time/,
      ],
    ];
    for (const [body, message] of cases) {
      const p = await plugin({ body });
      const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec: p.exec }) });
      const error = await failure(readSettings(client));
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toMatch(/^kubeconfig: the exec credential plugin of user "ci" in the kubeconfig input/);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('abcdefgh12345');
    }
  });

  test('an exec apiVersion other than v1 and v1beta1 is an InputError', async () => {
    const client = KubeClient.fromKubeconfig({
      kubeconfig: kubeconfigWith({ exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'aws' } }),
    });
    expect((await failure(readSettings(client))).message).toBe(
      'kubeconfig: the exec credential plugin of user "ci" in the kubeconfig input has apiVersion "client.authentication.k8s.io/v1alpha1"; use client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1',
    );
  });

  test('a 401 on a watch renews the credential and watches again', async () => {
    const { waitForDeploymentRollout } = await import('../../src/core/kube/deployment.js');
    const p = await plugin({});
    const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ exec: p.exec }) });
    await readSettings(client); // the plugin has run: the wait below starts at once, well before the pods are ready
    await cluster.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'renew', namespace: 'shop' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'renew' } },
        template: { metadata: { labels: { app: 'renew' } }, spec: { containers: [{ name: 'app', image: 'renew:1' }] } },
      },
    });
    const fault = cluster.faults.add({ method: 'GET', path: /deployments\?.*watch=true/, status: 401, times: 1 });
    await waitForDeploymentRollout(client, { namespace: 'shop', name: 'renew' }, { timeoutMs: 10_000 });
    expect(cluster.faults.hits(fault)).toBe(1);
    expect(await p.runs()).toBe(2);
    cluster.faults.remove(fault);
  });
});

describe('token files', () => {
  test('tokenFile is re-read when it changes (rotation), and at once after a 401', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'not-yet-valid-0123456789\n');
    const client = KubeClient.fromKubeconfig({ kubeconfig: kubeconfigWith({ tokenFile: file }) });
    expect((await failure(readSettings(client))).message).toContain(
      'the credential (renewed once) was refused (401) for user "ci" (context "ci")',
    );
    await writeFile(file, `${cluster.token}\n`);
    expect((await readSettings(client)).data).toEqual({ a: '1' });
    // A 401 (the server stopped accepting it): the file is read again and the request retried once.
    const fault = cluster.faults.add({ path: '/api/v1/namespaces/shop/configmaps/settings', status: 401, times: 1 });
    cluster.resetRequests();
    expect((await readSettings(client)).data).toEqual({ a: '1' });
    expect(cluster.requests.map((r) => r.status)).toEqual([401, 200]);
    expect(cluster.faults.hits(fault)).toBe(1);
  });

  test('tokenFile wins over token, as in client-go; a relative path is relative to the kubeconfig file', async () => {
    const sub = join(dir, 'relative');
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, 'token'), cluster.token);
    await writeFile(join(sub, 'config'), kubeconfigWith({ token: 'stale-static-token-0123', tokenFile: 'token' }));
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = join(sub, 'config');
    try {
      expect((await readSettings(KubeClient.fromKubeconfig({}))).data).toEqual({ a: '1' });
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});

describe('static credentials and contexts', () => {
  test('an expired static token: "the token was refused (401)" naming user and context, one request, no retry', async () => {
    const client = KubeClient.fromKubeconfig({
      kubeconfig: kubeconfigWith({ token: 'expired-static-token-42' }),
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    });
    cluster.resetRequests();
    const error = await failure(readSettings(client));
    expect(error.message).toBe(
      'get ConfigMap shop/settings: 401 Unauthorized: the token was refused (401) for user "ci" (context "ci"): it is expired, revoked or for another cluster; give a fresh kubeconfig',
    );
    expect(error.message).not.toContain('expired-static-token-42');
    expect(cluster.requests).toHaveLength(1);
  });

  test('the context input selects a context that is not the current one', async () => {
    const kubeconfig = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'test', cluster: { server: cluster.url, 'certificate-authority-data': Buffer.from(cluster.caCert).toString('base64') } },
        { name: 'gone', cluster: { server: 'https://127.0.0.1:1' } },
      ],
      users: [
        { name: 'ci', user: { token: cluster.token } },
        { name: 'old', user: { token: 'old-token-0123456789' } },
      ],
      contexts: [
        { name: 'staging', context: { cluster: 'gone', user: 'old' } },
        { name: 'prod', context: { cluster: 'test', user: 'ci', namespace: 'shop' } },
      ],
      'current-context': 'staging',
    });
    const client = KubeClient.fromKubeconfig({ kubeconfig, context: 'prod' });
    expect((await readSettings(client)).data).toEqual({ a: '1' });
    expect(client.defaultNamespace).toBe('shop');
    expect(() => loadKubeConfig({ kubeconfig, context: 'dev' })).toThrow(
      'context: "dev" is not a context of the kubeconfig input; it has staging, prod',
    );
    const noCurrent = kubeconfig.replace('current-context: staging', 'current-context: ""');
    expect(() => loadKubeConfig({ kubeconfig: noCurrent })).toThrow(
      'kubeconfig: the kubeconfig input has no current context; set current-context or give the context input',
    );
  });
});

describe('the runner default', () => {
  const saved = { ...process.env };
  async function withEnv<T>(env: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    try {
      return await body();
    } finally {
      for (const k of Object.keys(env)) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  }

  test('in-cluster: without kubeconfig input, KUBECONFIG and ~/.kube/config, the ServiceAccount token, CA and namespace are used', async () => {
    const root = join(dir, 'pod');
    const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'token'), cluster.token);
    await writeFile(join(sa, 'ca.crt'), cluster.caCert);
    await writeFile(join(sa, 'namespace'), 'shop');
    const home = join(dir, 'empty-home');
    await mkdir(home, { recursive: true });
    const port = new URL(cluster.url).port;
    await withEnv({ HOME: home, KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }, async () => {
      const client = KubeClient.fromKubeconfig({ inClusterRoot: root });
      expect(client.defaultNamespace).toBe('shop');
      expect((await readSettings(client)).data).toEqual({ a: '1' });
      expect(kubeCredentials(client.kubeConfig)?.renewable(client.kubeConfig.getCurrentUser())).toBe(true);
      // The kubelet rotates the projected token: the next request uses the new file.
      await writeFile(join(sa, 'token'), 'rotated-but-wrong-token-0123');
      await chmod(join(sa, 'token'), 0o600);
      expect((await failure(readSettings(client))).message).toContain('401');
      await writeFile(join(sa, 'token'), cluster.token);
      expect((await readSettings(client)).data).toEqual({ a: '1' });
    });
  });

  test('nothing at all: an InputError saying where a kubeconfig was looked for', async () => {
    const home = join(dir, 'empty-home-2');
    await mkdir(home, { recursive: true });
    await withEnv({ HOME: home, KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: undefined }, async () => {
      expect(() => loadKubeConfig({ inClusterRoot: join(dir, 'nowhere') })).toThrow(
        /^kubeconfig: no kubeconfig input was given, KUBECONFIG names no file, ~\/.kube\/config does not exist, and the runner is not inside a cluster/,
      );
    });
  });
});
