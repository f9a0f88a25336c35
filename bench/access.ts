/**
 * Cluster access against the test API server: what the preflight costs (SelfSubjectAccessReviews
 * sent in parallel before the first write) for the largest plans, as a ServiceAccount under the
 * shipped Role, and what an exec credential plugin costs the first request.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startTestCluster } from '../test/cluster/server.js';
import { blueGreenPermissions, canaryPermissions, rollbackPermissions } from '../src/core/delivery/needed-permissions.js';
import { KubeClient } from '../src/core/kube/client.js';
import { checkPermissions } from '../src/core/kube/preflight.js';
import type { NeededPermission } from '../src/core/kube/permissions.js';
import { median, timeRuns, type BenchRow } from './lib.js';

const RUNS = 15;

export async function run(): Promise<BenchRow[]> {
  const cluster = await startTestCluster();
  const dir = await mkdtemp(join(tmpdir(), 'bench-access-'));
  try {
    const role = parseYaml(readFileSync(join(import.meta.dirname, '..', 'deploy', 'rbac', 'pd-all.yaml'), 'utf8'));
    await cluster.apply([
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: 'shop' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pd-state-web', namespace: 'shop' }, data: {} },
      { ...role, metadata: { name: 'pd-all', namespace: 'shop' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'pd-all', namespace: 'shop' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pd-all' },
        subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'shop' }],
      },
    ]);
    const token = cluster.createToken('shop', 'deployer', { expirationSeconds: 3600 });
    const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfigFor({ token }, { namespace: 'shop' }) });
    const ns = 'shop';
    const workloads = [
      { namespace: ns, name: 'web-blue' },
      { namespace: ns, name: 'web-green' },
    ];
    const plans: [string, NeededPermission[]][] = [
      [
        'blue-green istio',
        blueGreenPermissions({
          namespace: ns,
          service: 'web',
          router: { type: 'istio', namespace: ns, name: 'web', destinations: ['a', 'b'] },
          workloads,
        }),
      ],
      [
        'canary istio',
        canaryPermissions({
          namespace: ns,
          service: 'web',
          router: { type: 'istio', namespace: ns, name: 'web', destinations: ['stable', 'canary'] },
          workloads,
        }),
      ],
      [
        'rollback (to-revision)',
        rollbackPermissions({ namespace: ns, service: 'web', journal: true, entries: [], revisionOf: workloads[0] }),
      ],
    ];
    const rows: BenchRow[] = [];
    for (const [name, plan] of plans) {
      let requests = 0;
      const times = await timeRuns(RUNS, async () => {
        const before = client.requestCount;
        const result = await checkPermissions(client, plan);
        if (result.missing.length) throw new Error(`bench: ${name} misses ${result.missing.length} permissions under pd-all`);
        requests = client.requestCount - before;
      });
      rows.push({
        area: 'access',
        name: `preflight: ${name}`,
        median: median(times),
        unit: 'ms',
        runs: RUNS,
        note: `${requests} API requests (SelfSubjectAccessReviews, in parallel)`,
      });
    }

    // An exec plugin (a node script, as small as they come): the first request runs it; later ones use the cached credential.
    const script = join(dir, 'plugin.mjs');
    await writeFile(
      script,
      `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: ${JSON.stringify(token)} } }));`,
    );
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [script] };
    const read = (c: KubeClient) =>
      c.call('get', { kind: 'ConfigMap', namespace: ns, name: 'pd-state-web' }, () =>
        c.core.readNamespacedConfigMap({ name: 'pd-state-web', namespace: ns }),
      );
    const first = await timeRuns(RUNS, () =>
      read(KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfigFor({ exec }, { namespace: ns }) })),
    );
    const cachedClient = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfigFor({ exec }, { namespace: ns }) });
    const cached = await timeRuns(RUNS, () => read(cachedClient));
    rows.push({
      area: 'access',
      name: 'exec plugin: first request (runs the plugin)',
      median: median(first),
      unit: 'ms',
      runs: RUNS,
      note: 'node script plugin',
    });
    rows.push({ area: 'access', name: 'exec plugin: later request (cached credential)', median: median(cached), unit: 'ms', runs: RUNS });
    return rows;
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((rows) => console.table(rows));
}
