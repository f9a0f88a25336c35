import { spawn, type ChildProcess } from 'node:child_process';
import type { TestCluster } from '../cluster/server.js';
import { until } from './support.js';

/**
 * Kills a flow's process at a chosen write: every GET and every Lease write is served, the first
 * `n - 1` other writes (journal, router, Deployments, canary record) are served, and the n-th is
 * held (then dropped unserved, so it never lands). Once the cluster holds it, the process gets
 * SIGKILL: the cluster is left exactly as the run left it after its (n-1)-th write.
 */
export interface KillPoint {
  /** Writes the run had made when it was killed. */
  served: number;
  /** The held write, `METHOD path`. */
  held: string;
}

export function startCli(
  cluster: TestCluster,
  flow: string,
  raw: Record<string, string>,
): { child: ChildProcess; log: () => string; exited: Promise<void> } {
  const argv = Object.entries(raw).flatMap(([name, value]) => [`--${name}`, value]);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/reliability/run-cli.ts', flow, ...argv], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PD_KUBECONFIG: cluster.kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, log: () => log, exited };
}

/** Non-GET, non-Lease requests since `since`: the writes a run makes. */
export function runWrites(cluster: TestCluster, since: number): { method: string; path: string; status: number }[] {
  return cluster.requests
    .slice(since)
    .filter((r) => r.method !== 'GET' && !r.path.endsWith('accessreviews') && !r.path.includes('/leases'));
}

/** Runs the flow in a child and kills it while its n-th write is held. Returns undefined if the run finished with fewer writes. */
export async function killAtWrite(
  cluster: TestCluster,
  flow: string,
  raw: Record<string, string>,
  n: number,
): Promise<KillPoint | undefined> {
  const ids = [
    cluster.faults.add({ method: 'GET', path: /./ }),
    cluster.faults.add({ path: /\/leases(\/|$|\?)/ }),
    cluster.faults.add({ path: /accessreviews$/ }), // the preflight's questions: not writes
    ...(n > 1 ? [cluster.faults.add({ path: /^\/apis?\//, times: n - 1 })] : []),
  ];
  const hold = cluster.faults.add({ path: /^\/apis?\//, delayMs: 4000, drop: true, times: 1 });
  const since = cluster.requests.length;
  const run = startCli(cluster, flow, raw);
  try {
    let ended = false;
    void run.exited.then(() => (ended = true));
    await until(() => ended || cluster.faults.hits(hold) === 1, 60_000, `write ${n} of the ${flow} run`);
    if (cluster.faults.hits(hold) !== 1) return undefined;
    run.child.kill('SIGKILL');
    await run.exited;
    const writes = runWrites(cluster, since);
    const held = writes.at(-1)!;
    return { served: writes.length - 1, held: `${held.method} ${held.path}` };
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    for (const id of [...ids, hold]) cluster.faults.remove(id);
  }
}
