import { startTestCluster, type TestCluster, type TestClusterOptions } from '../cluster/server.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { MemoryReporter } from '../../src/core/reporter.js';

export interface KubeHarness {
  cluster: TestCluster;
  client: KubeClient;
  reporter: MemoryReporter;
  /** A second, independent client: "another writer" or "another run". */
  other: KubeClient;
  close(): Promise<void>;
}

/** A test cluster and clients built from its kubeconfig content, as an action builds them from the input. */
export async function startHarness(options: TestClusterOptions = {}): Promise<KubeHarness> {
  const cluster = await startTestCluster(options);
  const reporter = new MemoryReporter();
  const retry = { baseDelayMs: 20, maxDelayMs: 200 };
  const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry, reporter });
  const other = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry });
  return { cluster, client, reporter, other, close: () => cluster.stop() };
}

/** Requests the cluster saw whose path starts with `prefix` (method and path). */
export function requestsTo(cluster: TestCluster, prefix: string): string[] {
  return cluster.requests.filter((r) => r.path.startsWith(prefix)).map((r) => `${r.method} ${r.path}`);
}
