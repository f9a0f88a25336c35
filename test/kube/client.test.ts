import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubeClient } from '../../src/core/kube/client.js';
import { KubeApiError } from '../../src/core/kube/errors.js';
import { loadKubeConfig } from '../../src/core/kube/kubeconfig.js';
import { readDeployment } from '../../src/core/kube/deployment.js';
import { getCustomObject, VIRTUAL_SERVICE } from '../../src/core/kube/custom-resources.js';
import { InputError } from '../../src/core/config/input-error.js';
import { startHarness, type KubeHarness } from './harness.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness();
  await h.cluster.apply({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'shop' },
    data: { a: '1' },
  });
});
afterAll(async () => {
  await h?.close();
});

const configMapPath = '/api/v1/namespaces/shop/configmaps/settings';
const readSettings = (client: KubeClient) =>
  client.call('get', { kind: 'ConfigMap', namespace: 'shop', name: 'settings' }, () =>
    client.core.readNamespacedConfigMap({ name: 'settings', namespace: 'shop' }),
  );

describe('kubeconfig', () => {
  test('a kubeconfig without clusters or current context is an InputError naming the kubeconfig input, without its content', () => {
    const secret = 'tok-3f9a8b7c6d5e4f3a2b1c';
    const noContext = `apiVersion: v1\nkind: Config\nclusters: []\nusers:\n- name: u\n  user:\n    token: ${secret}\ncontexts: []\n`;
    const error = (() => {
      try {
        loadKubeConfig({ kubeconfig: noContext });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(InputError);
    expect(error!.message).toMatch(/^kubeconfig: /);
    expect(error!.message).toContain('no current context');
    expect(error!.message).not.toContain(secret);

    const broken = `apiVersion: v1\nusers:\n- name: u\n  user:\n    token: ${secret}\n  : : [\n`;
    expect(() => loadKubeConfig({ kubeconfig: broken })).toThrow(InputError);
    try {
      loadKubeConfig({ kubeconfig: broken });
    } catch (e) {
      expect((e as Error).message).not.toContain(secret);
    }
  });

  test('an unknown context is an InputError naming the context input and the contexts there are', () => {
    expect(() => loadKubeConfig({ kubeconfig: h.cluster.kubeconfig, context: 'prod' })).toThrow(
      /^context: "prod" is not a context .* it has test$/,
    );
  });

  test("the runner's default kubeconfig (KUBECONFIG) is used when no content is given", async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'kube-'));
    const saved = process.env.KUBECONFIG;
    try {
      await h.cluster.writeKubeconfig(join(dir, 'config'));
      process.env.KUBECONFIG = join(dir, 'config');
      const client = KubeClient.fromKubeconfig({ context: 'test' });
      expect((await readSettings(client)).data).toEqual({ a: '1' });
      expect(client.defaultNamespace).toBe('default');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('calls', () => {
  test('errors name the verb and the object, and carry no token', async () => {
    const error = await getCustomObject(h.client, VIRTUAL_SERVICE, 'shop', 'missing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message).toMatch(/^get VirtualService shop\/missing: 404 NotFound: .*"missing" not found/);
    expect((error as KubeApiError).message).not.toContain(h.cluster.token);

    const deployment = await readDeployment(h.client, { namespace: 'shop', name: 'nope' }).catch((e: unknown) => e);
    expect((deployment as Error).message).toMatch(/^get Deployment shop\/nope: 404 NotFound/);
  });

  test('injected 503s are retried and the call succeeds; every attempt is counted', async () => {
    h.cluster.resetRequests();
    const before = h.client.requestCount;
    h.cluster.faults.add({ method: 'GET', path: configMapPath, status: 503, times: 2 });
    const cm = await readSettings(h.client);
    expect(cm.data).toEqual({ a: '1' });
    const seen = h.cluster.requests.filter((r) => r.path === configMapPath);
    expect(seen.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(h.client.requestCount - before).toBe(3);
    expect(h.reporter.messages('debug').some((m) => m.startsWith('get ConfigMap shop/settings: 503 ServiceUnavailable'))).toBe(true);
  });

  test('a 429 is retried after the Retry-After the server asked for', async () => {
    h.cluster.resetRequests();
    h.cluster.faults.add({ method: 'GET', path: configMapPath, status: 429, retryAfterSeconds: 1, times: 1 });
    await readSettings(h.client);
    const seen = h.cluster.requests.filter((r) => r.path === configMapPath);
    expect(seen.map((r) => r.status)).toEqual([429, 200]);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  test('a dropped connection is retried', async () => {
    h.cluster.resetRequests();
    h.cluster.faults.add({ method: 'GET', path: configMapPath, drop: true, times: 1 });
    const cm = await readSettings(h.client);
    expect(cm.data).toEqual({ a: '1' });
    expect(h.cluster.requests.filter((r) => r.path === configMapPath)).toHaveLength(2);
  });

  test('a 4xx other than 408/429 is not retried', async () => {
    h.cluster.resetRequests();
    h.cluster.faults.add({ method: 'GET', path: configMapPath, status: 403, times: 1 });
    const error = await readSettings(h.client).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^get ConfigMap shop\/settings: 403 Forbidden/);
    expect(h.cluster.requests.filter((r) => r.path === configMapPath)).toHaveLength(1);
  });

  test('persistent 503s end in an error naming the object after the bounded attempts', async () => {
    const client = KubeClient.fromKubeconfig({ kubeconfig: h.cluster.kubeconfig, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
    h.cluster.resetRequests();
    const id = h.cluster.faults.add({ method: 'GET', path: configMapPath, status: 503 });
    try {
      const error = await readSettings(client).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/^get ConfigMap shop\/settings: 503 ServiceUnavailable/);
      expect(h.cluster.requests.filter((r) => r.path === configMapPath)).toHaveLength(3);
    } finally {
      h.cluster.faults.remove(id);
    }
  });
});
