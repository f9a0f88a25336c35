/**
 * Proxies: a cluster's `proxy-url` (client-node's own support), and HTTPS_PROXY / NO_PROXY when
 * it has none, as Go's http.ProxyFromEnvironment (and so kubectl) honours them. The proxy is a
 * real HTTP CONNECT proxy in-process that counts the tunnels it opens.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubeClient } from '../../src/core/kube/client.js';
import { noProxy } from '../../src/core/kube/kubeconfig.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';

let cluster: TestCluster;
let proxy: Server;
let proxyUrl: string;
const tunnels: string[] = [];
const sockets: { destroy(): void }[] = [];
beforeAll(async () => {
  cluster = await startTestCluster();
  await cluster.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, data: { a: '1' } });
  proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, socket, head) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    sockets.push(socket);
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    sockets.push(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy(); // the tunnels client-node's keep-alive agent still holds
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
  await cluster?.stop();
});

const read = (client: KubeClient) =>
  client.call('get', { kind: 'ConfigMap', namespace: 'shop', name: 'settings' }, () =>
    client.core.readNamespacedConfigMap({ name: 'settings', namespace: 'shop' }),
  );

async function withEnv<T>(env: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  try {
    return await body();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

describe('proxies', () => {
  const server = () => new URL(cluster.url).host;

  test("a cluster's proxy-url tunnels every request through the proxy", async () => {
    const doc = parseYaml(cluster.kubeconfig);
    doc.clusters[0].cluster['proxy-url'] = proxyUrl;
    tunnels.length = 0;
    const client = KubeClient.fromKubeconfig({ kubeconfig: stringifyYaml(doc) });
    expect((await read(client)).data).toEqual({ a: '1' });
    expect(tunnels).toEqual([server()]);
  });

  test('HTTPS_PROXY is used when the cluster names no proxy, unless NO_PROXY covers the server', async () => {
    tunnels.length = 0;
    await withEnv({ HTTPS_PROXY: proxyUrl, https_proxy: undefined, NO_PROXY: 'example.com', no_proxy: undefined }, async () => {
      expect((await read(KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig }))).data).toEqual({ a: '1' });
    });
    expect(tunnels).toEqual([server()]);
    tunnels.length = 0;
    await withEnv({ HTTPS_PROXY: proxyUrl, https_proxy: undefined, NO_PROXY: '10.0.0.0/8,127.0.0.0/8', no_proxy: undefined }, async () => {
      expect((await read(KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig }))).data).toEqual({ a: '1' });
    });
    expect(tunnels).toEqual([]);
  });

  test('NO_PROXY matching: hosts, domain suffixes, *, IPs and CIDRs', () => {
    expect(noProxy('api.eks.amazonaws.com', '.amazonaws.com')).toBe(true);
    expect(noProxy('api.eks.amazonaws.com', 'amazonaws.com')).toBe(true);
    expect(noProxy('notamazonaws.com', 'amazonaws.com')).toBe(false);
    expect(noProxy('10.96.0.1', '10.0.0.0/8')).toBe(true);
    expect(noProxy('10.96.0.1', '192.168.0.0/16,localhost')).toBe(false);
    expect(noProxy('anything', '*')).toBe(true);
    expect(noProxy('127.0.0.1', '127.0.0.1:6443')).toBe(true);
    expect(noProxy('fd00::1', 'fd00::/8')).toBe(true);
  });
});
