/**
 * Wire-level behaviour: Status objects, discovery documents, watch framing,
 * methods and media types, and the standalone CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { startTestCluster, type TestCluster } from './server.js';
import { request, waitFor } from './helpers.js';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 10 });
});

afterAll(async () => {
  await cluster?.stop();
});

describe('HTTP semantics', () => {
  it('answers 401 with a Status object for a missing or wrong token', async () => {
    for (const token of [null, 'wrong']) {
      const res = await request(cluster, 'GET', '/api/v1/namespaces', { token });
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
    expect((await request(cluster, 'GET', '/version', { token: null })).json().gitVersion).toMatch(/^v1\.32\./);
  });

  it('serves legacy and aggregated discovery with short names and subresources', async () => {
    const core = (await request(cluster, 'GET', '/api/v1')).json();
    const deployments = (await request(cluster, 'GET', '/apis/apps/v1')).json().resources;
    expect(core.resources.find((r: any) => r.name === 'services')).toMatchObject({
      kind: 'Service',
      namespaced: true,
      shortNames: ['svc'],
    });
    expect(core.resources.find((r: any) => r.name === 'namespaces')).toMatchObject({ namespaced: false, shortNames: ['ns'] });
    expect(deployments.find((r: any) => r.name === 'deployments')).toMatchObject({ kind: 'Deployment', shortNames: ['deploy'] });
    expect(deployments.find((r: any) => r.name === 'deployments/scale')).toMatchObject({ group: 'autoscaling', kind: 'Scale' });
    const groups = (await request(cluster, 'GET', '/apis')).json();
    expect(groups.groups.find((g: any) => g.name === 'networking.istio.io').preferredVersion.version).toBe('v1');

    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
    const aggregated = await request(cluster, 'GET', '/apis', { accept });
    expect(aggregated.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const argo = aggregated.json().items.find((i: any) => i.metadata.name === 'argoproj.io');
    expect(argo.versions[0].resources[0]).toMatchObject({ resource: 'rollouts', scope: 'Namespaced', shortNames: ['ro'] });
  });

  it('answers unknown paths, wrong methods and unsupported patch types with Status objects', async () => {
    const missing = await request(cluster, 'GET', '/apis/example.com/v1/widgets');
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });

    const put = await request(cluster, 'PUT', '/api/v1/namespaces/default/configmaps', { body: {} });
    expect(put.status).toBe(405);
    expect(put.json()).toMatchObject({ reason: 'MethodNotAllowed', code: 405 });

    await cluster.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'media' } });
    const ssa = await request(cluster, 'PATCH', '/api/v1/namespaces/default/configmaps/media', {
      body: 'apiVersion: v1',
      contentType: 'text/plain',
    });
    expect(ssa.status).toBe(415);
    expect(ssa.json()).toMatchObject({ reason: 'UnsupportedMediaType', code: 415 });
  });

  it('returns a Success Status for DELETE and the deleted Pod for pods', async () => {
    await cluster.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'doomed' } });
    const res = await request(cluster, 'DELETE', '/api/v1/namespaces/default/configmaps/doomed');
    expect(res.json()).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'doomed', kind: 'configmaps' } });
    expect(cluster.get('v1', 'ConfigMap', 'default', 'doomed')).toBeUndefined();
  });

  it('streams watch events as newline-delimited JSON with bookmarks and a timeout', async () => {
    await cluster.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'streamed' }, data: { a: '1' } });
    const lines: string[] = [];
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const url = new URL(
        '/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=metadata.name%3Dstreamed&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1',
        cluster.url,
      );
      const req = httpsRequest(url, { headers: { authorization: `Bearer ${cluster.token}` }, ca: cluster.caCert }, (res) => {
        let buffer = '';
        res.on('data', (c: Buffer) => {
          buffer += c.toString();
          const parts = buffer.split('\n');
          buffer = parts.pop()!;
          lines.push(...parts);
        });
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
      setTimeout(() => void cluster.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'streamed' }, data: { a: '2' } }), 100);
    });
    const events = lines.map((l) => JSON.parse(l));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(events[0]).toMatchObject({
      type: 'ADDED',
      object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'streamed' }, data: { a: '1' } },
    });
    expect(events[1]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    expect(events.find((e) => e.type === 'MODIFIED')).toMatchObject({ object: { data: { a: '2' } } });
  });

  it('records every request and can reset the log', async () => {
    cluster.resetRequests();
    await request(cluster, 'GET', '/api/v1/namespaces/default/configmaps?labelSelector=x%3Dy');
    expect(cluster.requests).toEqual([
      { method: 'GET', path: '/api/v1/namespaces/default/configmaps', query: 'labelSelector=x%3Dy', status: 200, at: expect.any(Number) },
    ]);
  });

  it('applies probabilistic faults deterministically for a given seed', async () => {
    const outcomes = async () => {
      cluster.faults.clear();
      cluster.faults.seed(42);
      cluster.faults.add({ path: '/api/v1/namespaces/default/configmaps', status: 500, probability: 0.5 });
      const out: number[] = [];
      for (let i = 0; i < 12; i++) out.push((await request(cluster, 'GET', '/api/v1/namespaces/default/configmaps')).status);
      cluster.faults.clear();
      return out;
    };
    const first = await outcomes();
    expect(first).toEqual(await outcomes());
    expect(first).toContain(500);
    expect(first).toContain(200);
  });
});

describe('cli', () => {
  it('starts, loads manifests, prints ready and stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'test-cluster-cli-'));
    try {
      await writeFile(
        join(dir, 'app.yaml'),
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: shop\ndata:\n  k: v\n',
      );
      const kubeconfig = join(dir, 'kubeconfig');
      const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
      const child = spawn(
        tsx,
        ['test/cluster/cli.ts', '--port', '0', '--kubeconfig', kubeconfig, '--manifests', dir, '--pod-ready-delay-ms', '5'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await waitFor(() => out.includes('ready\n'), 20_000, 'cli ready');
      const config = await readFile(kubeconfig, 'utf8');
      const server = /server: (https:\/\/127\.0\.0\.1:\d+)/.exec(config)![1]!;
      const token = /token: (\S+)/.exec(config)![1]!;
      const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(config)![1]!, 'base64').toString();
      const res = await request({ url: server, token, caCert: ca }, 'GET', '/api/v1/namespaces/shop/configmaps/cfg');
      expect(res.json().data).toEqual({ k: 'v' });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
