/** Helpers for tests that drive the test cluster with the real kubectl. */
import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestCluster, type TestCluster, type TestClusterOptions } from './server.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlHarness {
  cluster: TestCluster;
  kubeconfigPath: string;
  dir: string;
  /** Run kubectl against the cluster; never throws for a non-zero exit. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Run kubectl with another kubeconfig (e.g. `cluster.kubeconfigFor({ token })`), written to a file of its own. */
  kubectlWith(kubeconfig: string, args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  close(): Promise<void>;
}

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export async function startKubectlHarness(opts: TestClusterOptions = {}): Promise<KubectlHarness> {
  const cluster = await startTestCluster(opts);
  const dir = await mkdtemp(join(tmpdir(), 'test-cluster-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  let configs = 0;
  await cluster.writeKubeconfig(kubeconfigPath);
  return {
    cluster,
    kubeconfigPath,
    dir,
    kubectl: (args, o = {}) =>
      run('kubectl', ['--kubeconfig', kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], {
        ...o,
        env: { ...process.env, KUBECONFIG: kubeconfigPath, HOME: dir },
      }),
    async kubectlWith(kubeconfig, args, o = {}) {
      const path = join(dir, `kubeconfig-${++configs}`);
      await writeFile(path, kubeconfig, { mode: 0o600 });
      return run('kubectl', ['--kubeconfig', path, '--cache-dir', join(dir, 'cache'), ...args], {
        ...o,
        env: { ...process.env, KUBECONFIG: path, HOME: dir },
      });
    },
    async close() {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll until `check` returns a truthy value or the timeout passes. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function deployment(
  name: string,
  image: string,
  replicas = 2,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name, ...(extra.labels ?? {}) } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
        spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** A plain HTTPS request to the cluster (trusting its self-signed CA); bearer token added unless `token: null`. */
export function request(
  cluster: { url: string; token: string; caCert: string },
  method: string,
  path: string,
  opts: { body?: unknown; contentType?: string; accept?: string; token?: string | null } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, cluster.url);
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? cluster.token : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    if (opts.accept) headers.accept = opts.accept;
    const req = httpsRequest(url, { method, headers, ca: cluster.caCert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
