import type { RouterSpec } from '../../src/core/kube/routers/factory.js';
import { createRouter } from '../../src/core/kube/routers/factory.js';
import { runDeliverySession, type DeliverySession, type SessionInputs } from '../../src/core/delivery/session.js';
import type { FlowContext, RunInfo } from '../../src/core/flow.js';
import { KubeClient } from '../../src/core/kube/client.js';
import {
  deploymentRef,
  findContainer,
  readDeployment,
  revisionOf,
  scaleDeployment,
  setDeploymentImage,
  waitForDeploymentRollout,
  type DeploymentName,
} from '../../src/core/kube/deployment.js';
import { Journal, type JournalEntry } from '../../src/core/kube/journal.js';
import type { Weights } from '../../src/core/kube/weights.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { runRollback, type RollbackInputs } from '../../src/core/rollback/flow.js';
import type { RollbackAction } from '../../src/core/rollback/report.js';
import { Secrets } from '../../src/core/secrets.js';
import { rollbackSpec } from '../../src/core/specs/rollback.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { FlowFailure, type FlowOutputs } from '../../src/core/flow.js';
import type { TestCluster } from '../cluster/server.js';

/**
 * Shared pieces of the rollback tests: a flow context, the rollback's inputs parsed through its
 * spec, and "deployments" recorded the way blue-green and canary record them: through the real
 * delivery session, one journaled `session.change` per write to a real router or Deployment.
 */

export type TestContext = FlowContext & { reporter: MemoryReporter; saved: Map<string, string> };

export function flowContext(runId: string, secrets = new Secrets()): TestContext {
  const saved = new Map<string, string>();
  const run: RunInfo = {
    serverUrl: 'https://github.com',
    repository: 'acme/shop',
    runId: runId.replace(/^run-/, ''),
    runAttempt: '1',
    actor: 'octocat',
    sha: '',
    ref: 'refs/heads/main',
    runUrl: '',
  };
  return {
    reporter: new MemoryReporter(),
    secrets,
    runId,
    signal: new AbortController().signal,
    state: { get: (key) => saved.get(key) ?? '', set: (key, value) => void saved.set(key, value) },
    run,
    saved,
  };
}

export interface Target {
  namespace: string;
  service: string;
}

/** The rollback's inputs as the runner hands them over (strings), parsed through the action's spec. */
export function rollbackInputs(cluster: TestCluster, target: Target, raw: Record<string, string> = {}): RollbackInputs {
  return parseInputs(rollbackSpec, {
    kubeconfig: cluster.kubeconfig,
    namespace: target.namespace,
    service: target.service,
    'lock-timeout': '10s',
    ...raw,
  });
}

export interface RollbackRun {
  outputs: FlowOutputs;
  /** Set when the flow ended with FlowFailure (the step would fail). */
  failure?: FlowFailure;
  context: TestContext;
  actions: RollbackAction[];
  log: string;
  summary: string;
}

/** Runs the rollback flow; a FlowFailure is caught and returned with its outputs, anything else is thrown. */
export async function rollBack(
  cluster: TestCluster,
  target: Target,
  raw: Record<string, string> = {},
  options: { runId?: string; context?: TestContext; onUndone?: (a: RollbackAction) => void } = {},
): Promise<RollbackRun> {
  const context = options.context ?? flowContext(options.runId ?? `run-rb-${Math.random().toString(36).slice(2, 8)}`);
  let outputs: FlowOutputs;
  let failure: FlowFailure | undefined;
  try {
    outputs = await runRollback(rollbackInputs(cluster, target, raw), context, { onUndone: options.onUndone });
  } catch (error) {
    if (!(error instanceof FlowFailure)) throw error;
    failure = error;
    outputs = error.outputs;
  }
  return {
    outputs,
    failure,
    context,
    actions: (outputs.actions ?? []) as RollbackAction[],
    log: context.reporter.entries.map((e) => `${e.level}: ${e.message}`).join('\n'),
    summary: context.reporter.summaries.join('\n'),
  };
}

export function sessionInputs(cluster: TestCluster, target: Target): SessionInputs {
  return {
    kubeconfig: cluster.kubeconfig,
    namespace: target.namespace,
    service: target.service,
    'dry-run': false,
    'lock-timeout': 10_000,
    'notify-failure-fails': false,
  };
}

/** One delivery run (blue-green, canary…) through the real session: its lock, its journal. */
export async function deliver(
  cluster: TestCluster,
  target: Target,
  run: { runId: string; strategy: 'blue-green' | 'canary' },
  work: (session: DeliverySession) => Promise<void>,
): Promise<void> {
  await runDeliverySession(
    { inputs: sessionInputs(cluster, target), strategy: run.strategy, context: flowContext(run.runId) },
    async (session) => {
      await work(session);
      return { outcome: 'succeeded', result: 'done', outputs: {} };
    },
  );
}

/** Sets a container's image as blue-green and canary do: journaled with the image and revision before, then rolled out. */
export async function journaledImage(session: DeliverySession, d: DeploymentName, image: string, container = 'app'): Promise<void> {
  const ref = deploymentRef(d);
  const dep = await readDeployment(session.client, d);
  const current = findContainer(ref, dep.spec?.template, container);
  await session.change(
    `image-${d.name}`,
    ref,
    { kind: 'image', container, previous: { image: current.image, revision: revisionOf(dep) }, next: { image } },
    () => setDeploymentImage(session.client, { ...d, container, image }),
  );
  await waitForDeploymentRollout(session.client, d, { timeoutMs: 20_000 });
}

/** Scales a Deployment, journaled with the replicas before. */
export async function journaledScale(session: DeliverySession, d: DeploymentName, replicas: number): Promise<void> {
  const dep = await readDeployment(session.client, d);
  await session.change(
    `scale-${d.name}`,
    deploymentRef(d),
    { kind: 'scale', previous: { replicas: dep.spec?.replicas ?? 1 }, next: { replicas } },
    () => scaleDeployment(session.client, { ...d, replicas }),
  );
}

/** Writes weights through the router, journaled with its RouterSpec and the weights before. */
export async function journaledWeights(session: DeliverySession, step: string, router: RouterSpec, weights: Weights): Promise<void> {
  const live = createRouter(session.client, router);
  const previous = await live.read();
  await session.change(step, live.ref, { kind: 'traffic', router, previous, next: weights }, () => live.write(weights));
}

export function clientFor(cluster: TestCluster): KubeClient {
  return KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig, retry: { baseDelayMs: 20, maxDelayMs: 200 } });
}

export async function journalOf(cluster: TestCluster, target: Target): Promise<JournalEntry[]> {
  return new Journal(clientFor(cluster), target).entries();
}

/** Write requests (not GET, not watches, not access reviews: the preflight's questions change nothing) since `since`, as `METHOD path`. */
export function writesSince(cluster: TestCluster, since: number): string[] {
  return cluster.requests
    .slice(since)
    .filter((r) => r.method !== 'GET' && !r.path.endsWith('accessreviews'))
    .map((r) => `${r.method} ${r.path}`);
}

// --- Fixtures -------------------------------------------------------------------------------------

export function deployment(namespace: string, name: string, image: string, replicas = 2, labels: Record<string, string> = {}) {
  const podLabels = { app: name, ...labels };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: podLabels },
      template: { metadata: { labels: podLabels }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

/** Blue-green with Istio: two color Deployments and a VirtualService routing 100% to blue by host. */
export function blueGreenFixtures(t: Target) {
  const host = (color: string) => `${t.service}-${color}.${t.namespace}.svc.cluster.local`;
  const objects = [
    deployment(t.namespace, `${t.service}-blue`, `${t.service}:1.0`),
    deployment(t.namespace, `${t.service}-green`, `${t.service}:1.0`),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: t.service, namespace: t.namespace },
      spec: {
        hosts: [`${t.service}.example.com`],
        http: [
          {
            name: 'primary',
            route: [
              { destination: { host: host('blue') }, weight: 100 },
              { destination: { host: host('green') }, weight: 0 },
            ],
          },
        ],
      },
    },
  ];
  const router: RouterSpec = {
    type: 'istio',
    namespace: t.namespace,
    name: t.service,
    route: 'primary',
    destinations: [host('blue'), host('green')],
  };
  return { objects, router, blue: host('blue'), green: host('green') };
}

/** Canary with Istio subsets: stable and canary Deployments, a DestinationRule and a VirtualService 100% stable. */
export function canaryFixtures(t: Target) {
  const objects = [
    deployment(t.namespace, `${t.service}-stable`, `${t.service}:1.0`, 3, { track: 'stable' }),
    deployment(t.namespace, `${t.service}-canary`, `${t.service}:1.0`, 0, { track: 'canary' }),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: t.service, namespace: t.namespace },
      spec: {
        host: t.service,
        subsets: [
          { name: 'stable', labels: { track: 'stable' } },
          { name: 'canary', labels: { track: 'canary' } },
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: t.service, namespace: t.namespace },
      spec: {
        hosts: [t.service],
        http: [
          {
            route: [
              { destination: { host: t.service, subset: 'stable' }, weight: 100 },
              { destination: { host: t.service, subset: 'canary' }, weight: 0 },
            ],
          },
        ],
      },
    },
  ];
  const router: RouterSpec = { type: 'istio', namespace: t.namespace, name: t.service, destinations: ['stable', 'canary'] };
  return { objects, router, canary: { namespace: t.namespace, name: `${t.service}-canary` } };
}

/** The weights of the VirtualService's first weighted route, as the cluster stores them. */
export function liveWeights(cluster: TestCluster, t: Target): number[] {
  const vs = cluster.get('networking.istio.io/v1', 'VirtualService', t.namespace, t.service);
  const route = (vs.spec.http as { route: { weight?: number }[] }[]).find((h) => h.route.length === 2)!;
  return route.route.map((r) => r.weight ?? 0);
}

export function liveDeployment(cluster: TestCluster, d: DeploymentName) {
  const dep = cluster.get('apps/v1', 'Deployment', d.namespace, d.name);
  return {
    image: dep.spec.template.spec.containers[0].image as string,
    replicas: dep.spec.replicas as number,
    revision: Number(dep.metadata.annotations?.['deployment.kubernetes.io/revision']),
  };
}
