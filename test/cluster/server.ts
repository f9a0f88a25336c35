/**
 * A Kubernetes API server for tests: real HTTP on 127.0.0.1, bearer-token auth,
 * the resource types our actions use, and simulated controllers.
 *
 *   const cluster = await startTestCluster();
 *   await cluster.writeKubeconfig('/tmp/kubeconfig');   // kubectl --kubeconfig ...
 *   ...
 *   await cluster.stop();
 */
import { createServer, type Server } from 'node:https';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { Store, type KubeObject } from './store.js';
import { Api, withVersion } from './api.js';
import { WatchHub } from './watch.js';
import { FaultInjector } from './faults.js';
import { createRequestHandler, type RequestRecord } from './http.js';
import { findByKind, splitApiVersion } from './resources.js';
import { buildKubeconfig, buildKubeconfigFor, type KubeconfigUser } from './kubeconfig.js';
import { AccessControl } from './access.js';
import { ServedApis } from './served-apis.js';
import { selfSignedCertificate } from './certs.js';
import { PodLifecycleController } from './controllers/pods.js';
import { ReplicaSetController } from './controllers/replicaset.js';
import { DeploymentController } from './controllers/deployment.js';
import { RolloutController } from './controllers/rollout.js';

export type { FaultRule } from './faults.js';
export { FaultInjector } from './faults.js';
export type { RequestRecord } from './http.js';
export type { KubeconfigUser } from './kubeconfig.js';

export interface TestClusterOptions {
  /** 0 = random (default). */
  port?: number;
  /** Bearer token; random by default. */
  token?: string;
  /** How long a new Pod takes to turn Ready (default 50). */
  podReadyDelayMs?: number;
  /** Overrides spec.progressDeadlineSeconds of Deployments and Argo Rollouts (ms). */
  progressDeadlineMs?: number;
  /** Seed of the RNG behind fault rules' `probability` (default 1). */
  faultSeed?: number;
  /** How often watches with allowWatchBookmarks get a BOOKMARK (default 60000, about every minute as on a real server). */
  bookmarkIntervalMs?: number;
  /** How long past events stay resumable by a watch before 410 Gone (default 300000: etcd compacts every 5 minutes). */
  watchHistoryMs?: number;
  /** When the server ends a watch that gave no timeoutSeconds (default 30-60 minutes, random, as the kube-apiserver). */
  watchTimeoutMs?: number;
  /**
   * API groups or group/versions this cluster does not serve, as a cluster without that CRD or
   * version: e.g. ['networking.istio.io/v1', 'gateway.networking.k8s.io'] (see served-apis.ts).
   */
  omitApis?: string[];
}

export interface TestCluster {
  /** https://127.0.0.1:PORT (self-signed; the CA is in `kubeconfig` and `caCert`). */
  url: string;
  token: string;
  /** PEM of the self-signed certificate the server presents (also its own CA). */
  caCert: string;
  kubeconfig: string;
  writeKubeconfig(path: string): Promise<void>;
  apply(objects: object | object[]): Promise<void>;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): any | undefined;
  /** Objects of a kind (deep copies), optionally in one namespace. */
  list(apiVersion: string, kind: string, namespace?: string): any[];
  /**
   * Told of every stored change, synchronously, as it happens (for tests that check
   * what never happened in between, e.g. the most pods a rollout ever ran). Returns unsubscribe.
   */
  onChange(listener: (event: { type: 'ADDED' | 'MODIFIED' | 'DELETED'; kind: string; object: any }) => void): () => void;
  requests: RequestRecord[];
  resetRequests(): void;
  /** Compact now: watches resuming from any earlier resourceVersion get 410 Gone (as after an etcd compaction). */
  compact(): void;
  /** End every open watch now, as the server does when their timeout comes. */
  closeWatches(): void;
  faults: FaultInjector;
  stop(): Promise<void>;

  // Identities (see README "Identities and RBAC").
  /**
   * A ServiceAccount token through the TokenRequest code path (as `kubectl create token`):
   * expirationSeconds defaults to 3600 and must be >= 600. The ServiceAccount must exist.
   */
  createToken(namespace: string, serviceAccount: string, opts?: { expirationSeconds?: number; audiences?: string[] }): string;
  /** A client certificate signed by the cluster's client CA: CN = user, one O per group (PEM). */
  issueClientCertificate(user: string, groups?: string[]): { cert: string; key: string };
  /** A kubeconfig (context `test`, namespace `default` unless given) for any identity. */
  kubeconfigFor(user: KubeconfigUser, opts?: { namespace?: string }): string;
  /** PEM of the CA that signs client certificates (kube-apiserver --client-ca-file). */
  clientCaCert: string;
  /** Move the cluster's token clock forward (ServiceAccount tokens expire as if the time had passed). */
  advanceTime(ms: number): void;
}

const NAMESPACE = findByKind('v1', 'Namespace')!;

export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const token = opts.token ?? randomBytes(16).toString('hex');
  const served = new ServedApis(opts.omitApis);
  const store = new Store(opts.watchHistoryMs);
  const api = new Api(store);
  const watches = new WatchHub(store, { bookmarkIntervalMs: opts.bookmarkIntervalMs, watchTimeoutMs: opts.watchTimeoutMs });
  const faults = new FaultInjector(opts.faultSeed ?? 1);
  const requests: RequestRecord[] = [];
  const access = new AccessControl(store, token);

  for (const name of ['default', 'kube-system', 'kube-public']) {
    api.create({ type: NAMESPACE, version: 'v1' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }

  const controllers = [
    new PodLifecycleController(store, opts.podReadyDelayMs ?? 50),
    new ReplicaSetController(store),
    new DeploymentController(store, { progressDeadlineMs: opts.progressDeadlineMs }),
    new RolloutController(store, { progressDeadlineMs: opts.progressDeadlineMs }),
  ];

  const tls = selfSignedCertificate();
  const server: Server = createServer(
    // Ask for (not require) a client certificate and check it against the client CA, as the
    // kube-apiserver does with --client-ca-file; a request without one falls through to tokens.
    {
      key: tls.key,
      cert: tls.cert,
      keepAlive: true,
      requestTimeout: 0,
      requestCert: true,
      rejectUnauthorized: false,
      ca: [access.clientCa.cert],
    },
    createRequestHandler({ api, watches, faults, access, served, requests }),
  );
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = buildKubeconfig(url, token, tls.cert);
  let stopped = false;

  const cluster: TestCluster = {
    url,
    token,
    caCert: tls.cert,
    kubeconfig,
    requests,
    faults,
    async writeKubeconfig(path: string) {
      await writeFile(path, kubeconfig, { mode: 0o600 });
    },
    async apply(objects: object | object[]) {
      for (const raw of Array.isArray(objects) ? objects : [objects]) applyObject(api, store, served, raw as KubeObject);
    },
    get(apiVersion, kind, namespace, name) {
      const t = servedType(served, apiVersion, kind);
      if (!t) throw new Error(`test cluster does not serve ${apiVersion} ${kind}`);
      const obj = store.peek(t, t.namespaced ? (namespace ?? 'default') : undefined, name);
      return obj ? withVersion(t, splitApiVersion(apiVersion).version, obj) : undefined;
    },
    list(apiVersion, kind, namespace) {
      const t = servedType(served, apiVersion, kind);
      if (!t) throw new Error(`test cluster does not serve ${apiVersion} ${kind}`);
      const version = splitApiVersion(apiVersion).version;
      return store.list(t, t.namespaced ? namespace : undefined).map((obj) => withVersion(t, version, obj));
    },
    onChange(listener) {
      return store.subscribe((e) => listener({ type: e.type, kind: e.type_.kind, object: e.object }));
    },
    resetRequests() {
      requests.length = 0;
    },
    compact() {
      store.compact();
    },
    closeWatches() {
      watches.closeAll();
    },
    clientCaCert: access.clientCa.cert,
    createToken(namespace, serviceAccount, tokenOpts = {}) {
      return access.createToken(namespace, serviceAccount, tokenOpts).token;
    },
    issueClientCertificate(user, groups = []) {
      return access.issueClientCertificate(user, groups);
    },
    kubeconfigFor(user, kubeconfigOpts = {}) {
      return buildKubeconfigFor(url, tls.cert, user, kubeconfigOpts.namespace);
    },
    advanceTime(ms) {
      access.tokens.advance(ms);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of controllers) c.stop();
      watches.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return cluster;
}

/** The type of apiVersion/kind if this cluster serves that version (not omitted by omitApis). */
function servedType(served: ServedApis, apiVersion: string, kind: string) {
  const t = findByKind(apiVersion, kind);
  const { group, version } = splitApiVersion(apiVersion);
  return t && served.serves(group, version) ? t : undefined;
}

/** Test setup: create or replace an object (including its status, if given), creating its namespace if needed. */
function applyObject(api: Api, store: Store, served: ServedApis, raw: KubeObject): void {
  if (!raw || typeof raw !== 'object' || !raw.apiVersion || !raw.kind) throw new Error('apply: objects need apiVersion and kind');
  const t = servedType(served, raw.apiVersion, raw.kind);
  if (!t) throw new Error(`test cluster does not serve ${raw.apiVersion} ${raw.kind}`);
  const version = splitApiVersion(raw.apiVersion).version;
  const namespace = t.namespaced ? (raw.metadata?.namespace ?? 'default') : undefined;
  if (namespace && !store.peek(NAMESPACE, undefined, namespace)) {
    api.create({ type: NAMESPACE, version: 'v1' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  }
  const target = { type: t, version, namespace, name: raw.metadata?.name };
  const body = structuredClone(raw);
  body.metadata = { ...(body.metadata ?? {}), ...(namespace ? { namespace } : {}) };
  delete body.metadata.resourceVersion;
  const existing = store.peek(t, namespace, body.metadata.name);
  if (existing) api.update(target, body);
  else api.create(target, body);
  if (raw.status !== undefined && t.subresources.includes('status')) {
    const current = store.peek(t, namespace, body.metadata.name)!;
    api.update(
      { ...target, name: current.metadata.name, subresource: 'status' },
      { ...structuredClone(current), apiVersion: raw.apiVersion, status: raw.status },
    );
  }
}
