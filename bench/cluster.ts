import { startTestCluster } from '../test/cluster/server.js';
import { type BenchRow, median, timeRuns } from './lib.js';

/** The test cluster itself: startup, and requests per second for GET and PATCH of a ConfigMap over keep-alive. */
export async function run(): Promise<BenchRow[]> {
  const startups = await timeRuns(10, async () => (await startTestCluster()).stop());
  const cluster = await startTestCluster();
  try {
    await cluster.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bench', namespace: 'default' }, data: { n: '0' } });
    const path = `${cluster.url}/api/v1/namespaces/default/configmaps/bench`;
    const headers = { authorization: `Bearer ${cluster.token}` };
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    const rate = async (send: (i: number) => Promise<Response>) => {
      const rates: number[] = [];
      for (let round = 0; round < 5; round++) {
        const started = performance.now();
        let count = 0;
        while (performance.now() - started < 1000) (await send(count++)).body?.cancel();
        rates.push(count / ((performance.now() - started) / 1000));
      }
      return rates;
    };
    const gets = await rate(() => fetch(path, { headers }));
    const patches = await rate((i) =>
      fetch(path, {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ data: { n: String(i) } }),
      }),
    );
    return [
      { area: 'cluster', name: 'startTestCluster to stop', median: median(startups), unit: 'ms', runs: startups.length },
      { area: 'cluster', name: 'GET ConfigMap, one keep-alive client', median: median(gets), unit: 'req/s', runs: gets.length },
      {
        area: 'cluster',
        name: 'PATCH (merge) ConfigMap, one keep-alive client',
        median: median(patches),
        unit: 'req/s',
        runs: patches.length,
      },
    ];
  } finally {
    delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    await cluster.stop();
  }
}
