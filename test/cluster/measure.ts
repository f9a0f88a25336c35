/**
 * Quick measurements (not a test): startup time of startTestCluster and
 * requests/second for GET and PATCH of a ConfigMap from one keep-alive client.
 *   npx tsx test/cluster/measure.ts
 */
import { Agent, request } from 'node:https';
import { cpus } from 'node:os';
import { startTestCluster, type TestCluster } from './server.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function call(cluster: TestCluster, agent: Agent, method: string, path: string, body?: string, contentType?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${cluster.token}` };
    if (body) headers['content-type'] = contentType ?? 'application/json';
    const req = request(new URL(path, cluster.url), { method, headers, agent, ca: cluster.caCert }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function rate(cluster: TestCluster, method: string, durationMs: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: cluster.caCert });
  const path = '/api/v1/namespaces/default/configmaps/bench';
  let n = 0;
  const end = Date.now() + durationMs;
  const started = performance.now();
  while (Date.now() < end) {
    const status =
      method === 'GET'
        ? await call(cluster, agent, 'GET', path)
        : await call(cluster, agent, 'PATCH', path, JSON.stringify({ data: { n: String(n) } }), 'application/merge-patch+json');
    if (status !== 200) throw new Error(`${method} answered ${status}`);
    n++;
  }
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return n / seconds;
}

async function main(): Promise<void> {
  const startups: number[] = [];
  for (let i = 0; i < 11; i++) {
    const t0 = performance.now();
    const c = await startTestCluster();
    startups.push(performance.now() - t0);
    await c.stop();
  }
  console.log(`startup: first ${startups[0]!.toFixed(1)} ms (includes certificate generation), median of next 10 ${median(startups.slice(1)).toFixed(1)} ms`);

  const cluster = await startTestCluster();
  await cluster.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bench' }, data: { n: '0' } });
  for (const method of ['GET', 'PATCH']) {
    await rate(cluster, method, 500); // warm-up
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) runs.push(await rate(cluster, method, 2000));
    console.log(`${method}: median ${median(runs).toFixed(0)} req/s (runs: ${runs.map((r) => r.toFixed(0)).join(', ')})`);
  }
  await cluster.stop();
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
}

void main();
