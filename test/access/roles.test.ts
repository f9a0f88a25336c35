/**
 * The shipped Roles (deploy/rbac/) are exactly enough. Each action runs in-process as a
 * ServiceAccount whose token comes from the TokenRequest API, bound to exactly the shipped Role of
 * its action and router, against the test cluster's RBAC (rbac.ts, the real authorizer's rules):
 * it succeeds. Then each rule of that Role is removed in turn: the run fails at its preflight,
 * naming that rule's resource and verbs, and writes nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runBlueGreen } from '../../src/core/blue-green/flow.js';
import { runCanary, type CanaryInputs } from '../../src/core/canary/index.js';
import { type FlowContext, type FlowOutputs, FlowFailure } from '../../src/core/flow.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { runRollback } from '../../src/core/rollback/flow.js';
import { runRolling } from '../../src/core/rolling/flow.js';
import { Secrets } from '../../src/core/secrets.js';
import { blueGreenSpec } from '../../src/core/specs/blue-green.js';
import { canarySpec } from '../../src/core/specs/canary.js';
import { rollbackSpec } from '../../src/core/specs/rollback.js';
import { rollingSpec } from '../../src/core/specs/rolling.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 5, progressDeadlineMs: 2000 });
});
afterAll(async () => {
  await cluster?.stop();
});

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
const roleFile = (name: string) =>
  parseYaml(readFileSync(join(import.meta.dirname, '../../deploy/rbac', `${name}.yaml`), 'utf8')) as {
    metadata: { name: string };
    rules: Rule[];
  };

/** A ServiceAccount (named as the Role, so it holds no other) bound to the shipped Role `role` in `namespace`; a client with its TokenRequest token. */
async function serviceAccountUnder(namespace: string, role: string, rules?: Rule[]): Promise<KubeClient> {
  const shipped = roleFile(role);
  await cluster.apply([
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: role, namespace } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: role, namespace }, rules: rules ?? shipped.rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: role, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
      subjects: [{ kind: 'ServiceAccount', name: role, namespace }],
    },
  ]);
  const token = cluster.createToken(namespace, role, { expirationSeconds: 600 });
  return KubeClient.fromKubeconfig({
    kubeconfig: cluster.kubeconfigFor({ token }, { namespace }),
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
  });
}

function context(runId: string): FlowContext & { reporter: MemoryReporter } {
  const saved = new Map<string, string>();
  return {
    reporter: new MemoryReporter(),
    secrets: new Secrets(),
    runId,
    signal: new AbortController().signal,
    state: { get: (k) => saved.get(k) ?? '', set: (k, v) => void saved.set(k, v) },
    run: {
      serverUrl: 'https://github.com',
      repository: 'acme/shop',
      runId,
      runAttempt: '1',
      actor: 'octocat',
      sha: '',
      ref: 'refs/heads/main',
      runUrl: '',
    },
  };
}

async function outcome(run: Promise<FlowOutputs>): Promise<{ outputs: FlowOutputs; failure?: FlowFailure }> {
  try {
    return { outputs: await run };
  } catch (error) {
    if (error instanceof FlowFailure) return { outputs: error.outputs, failure: error };
    throw error;
  }
}

const deployment = (namespace: string, name: string, replicas: number, labels: Record<string, string>, image = 'shop/app:1.0') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } } },
});

type Run = (client: KubeClient, runId: string) => Promise<{ outputs: FlowOutputs; failure?: FlowFailure }>;

interface Scenario {
  name: string;
  role: string;
  objects: (ns: string) => object[];
  run: (ns: string) => Run;
  /** Then the rollback of what it did, under its own Role. */
  rollback?: string;
  /** The Deployment a rollback with to-revision rolls back (the plan that needs every rule of the rollback Role). */
  revisionOf?: string;
}

const blueGreen = (router: 'istio' | 'gateway' | 'service'): Scenario => ({
  name: `blue-green ${router}`,
  role: `pd-blue-green-${router}`,
  rollback: `pd-rollback-${router}`,
  revisionOf: 'web-green',
  objects: (ns) => [
    deployment(ns, 'web-blue', 2, { app: 'web', color: 'blue' }),
    deployment(ns, 'web-green', 0, { app: 'web', color: 'green' }), // idle at 0: the run scales it up (a journaled scale)
    router === 'istio'
      ? {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'web', namespace: ns },
          spec: {
            hosts: ['web'],
            http: [
              {
                name: 'primary',
                route: [
                  { destination: { host: 'web-blue' }, weight: 100 },
                  { destination: { host: 'web-green' }, weight: 0 },
                ],
              },
            ],
          },
        }
      : router === 'gateway'
        ? {
            apiVersion: 'gateway.networking.k8s.io/v1',
            kind: 'HTTPRoute',
            metadata: { name: 'web', namespace: ns },
            spec: {
              parentRefs: [{ name: 'public' }],
              rules: [
                {
                  name: 'main',
                  backendRefs: [
                    { name: 'web-blue', port: 80, weight: 100 },
                    { name: 'web-green', port: 80, weight: 0 },
                  ],
                },
              ],
            },
          }
        : {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'web', namespace: ns },
            spec: { selector: { app: 'web', color: 'blue' }, ports: [{ port: 80 }] },
          },
  ],
  run: (ns) => (client, runId) => {
    const raw: Record<string, string> = {
      namespace: ns,
      service: 'web',
      router,
      image: 'shop/app:2.0',
      'lock-timeout': '2s',
      'blue-workload': 'web-blue',
      'green-workload': 'web-green',
    };
    if (router === 'service') Object.assign(raw, { blue: 'blue', green: 'green' });
    else Object.assign(raw, { blue: 'web-blue', green: 'web-green' });
    return outcome(runBlueGreen(parseInputs(blueGreenSpec, raw), context(runId), { client, env: {} }));
  },
});

const canary = (routing: 'istio' | 'gateway' | 'replica-ratio' | 'argo'): Scenario => ({
  name: `canary ${routing}`,
  role: `pd-canary-${routing}`,
  rollback: routing === 'argo' || routing === 'replica-ratio' ? `pd-rollback-${routing}` : undefined,
  revisionOf: routing === 'replica-ratio' ? 'web' : undefined,
  objects: (ns) =>
    routing === 'argo'
      ? [
          {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'Rollout',
            metadata: { name: 'web', namespace: ns },
            spec: {
              replicas: 2,
              selector: { matchLabels: { app: 'web' } },
              template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'shop/app:1.0' }] } },
              strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
            },
          },
        ]
      : [
          deployment(ns, 'web', 2, { app: 'web', track: 'stable' }),
          deployment(ns, 'web-canary', 0, { app: 'web', track: 'canary' }),
          {
            apiVersion: 'networking.istio.io/v1',
            kind: 'VirtualService',
            metadata: { name: 'web', namespace: ns },
            spec: {
              hosts: ['web'],
              http: [
                {
                  name: 'primary',
                  route: [
                    { destination: { host: 'web', subset: 'stable' }, weight: 100 },
                    { destination: { host: 'web', subset: 'canary' }, weight: 0 },
                  ],
                },
              ],
            },
          },
          {
            apiVersion: 'networking.istio.io/v1',
            kind: 'DestinationRule',
            metadata: { name: 'web', namespace: ns },
            spec: {
              host: 'web',
              subsets: [
                { name: 'stable', labels: { track: 'stable' } },
                { name: 'canary', labels: { track: 'canary' } },
              ],
            },
          },
          {
            apiVersion: 'gateway.networking.k8s.io/v1',
            kind: 'HTTPRoute',
            metadata: { name: 'web', namespace: ns },
            spec: {
              parentRefs: [{ name: 'public' }],
              rules: [
                {
                  name: 'main',
                  backendRefs: [
                    { name: 'web-stable', port: 80, weight: 100 },
                    { name: 'web-canary', port: 80, weight: 0 },
                  ],
                },
              ],
            },
          },
        ],
  run: (ns) => (client, runId) => {
    const routingConfig = {
      istio: { istio: { virtualService: 'web', route: 'primary' } },
      gateway: { gateway: { httpRoute: 'web', rule: 'main', stableBackend: 'web-stable', canaryBackend: 'web-canary' } },
      'replica-ratio': { replicaRatio: {} },
      argo: { argo: { rollout: 'web' } },
    }[routing];
    const config = {
      routing: routingConfig,
      ...(routing === 'argo' ? {} : { workloads: { stable: 'web', canary: 'web-canary' } }),
      steps: [{ setWeight: 50 }, { pause: {} }],
    };
    const inputs = parseInputs(canarySpec, {
      namespace: ns,
      service: 'web',
      action: 'start',
      image: 'shop/app:2.0',
      config: stringifyYaml(config),
      'lock-timeout': '2s',
      'rollout-timeout': '20s',
    }) as CanaryInputs;
    return outcome(runCanary(inputs, context(runId), { client, env: {} }));
  },
});

/** rolling: one Deployment; pd-rolling is also the Role of its rollback (an image put back, or to-revision). */
const rolling: Scenario = {
  name: 'rolling',
  role: 'pd-rolling',
  rollback: 'pd-rolling',
  revisionOf: 'web',
  objects: (ns) => [deployment(ns, 'web', 2, { app: 'web' })],
  run: (ns) => (client, runId) =>
    outcome(
      runRolling(
        parseInputs(rollingSpec, { namespace: ns, service: 'web', image: 'shop/app:2.0', 'lock-timeout': '2s', 'rollout-timeout': '20s' }),
        context(runId),
        { client, env: {} },
      ),
    ),
};

const rollbackRun =
  (ns: string, raw: Record<string, string> = { mode: 'auto' }): Run =>
  (client, runId) =>
    outcome(
      runRollback(parseInputs(rollbackSpec, { namespace: ns, service: 'web', 'lock-timeout': '2s', ...raw }), context(runId), { client }),
    );

/** Writes (not GET, not access reviews) since `since`. */
const writesSince = (since: number) =>
  cluster.requests
    .slice(since)
    .filter((r) => r.method !== 'GET' && !r.path.endsWith('accessreviews'))
    .map((r) => `${r.method} ${r.path}`);

let namespaces = 0;
const scenarios = [
  blueGreen('istio'),
  blueGreen('gateway'),
  blueGreen('service'),
  canary('istio'),
  canary('gateway'),
  canary('replica-ratio'),
  canary('argo'),
  rolling,
];

describe.each(scenarios)('$name', (scenario) => {
  test(`runs under exactly ${scenario.role}${scenario.rollback ? `, and is rolled back under exactly ${scenario.rollback}` : ''}; without any one rule, stops before any write naming it`, async () => {
    const ns = `access-${++namespaces}`;
    await cluster.apply(scenario.objects(ns));
    const run = scenario.run(ns);
    await checkRole(ns, scenario.role, () => run, run, 'run');
    // The preflight asks what the plan needs: the journal's release for the routers and workloads it
    // undoes; the Deployment's revisions (replicasets) only with to-revision. Each rule is checked with the plan that needs it.
    const revisionPlan = scenario.revisionOf
      ? rollbackRun(ns, { mode: 'workload', 'to-revision': '1', deployment: scenario.revisionOf })
      : undefined;
    const planNeeding = (rule: Rule) => (rule.resources[0] === 'replicasets' && revisionPlan ? revisionPlan : rollbackRun(ns));
    if (scenario.rollback) await checkRole(ns, scenario.rollback, planNeeding, rollbackRun(ns), 'rollback');
  });
});

async function checkRole(ns: string, role: string, withoutRule: (rule: Rule) => Run, run: Run, label: string): Promise<void> {
  const rules = roleFile(role).rules;
  // Without each rule: the preflight stops the run before its first write, naming the rule.
  for (const [i, rule] of rules.entries()) {
    const client = await serviceAccountUnder(
      ns,
      role,
      rules.filter((_, j) => j !== i),
    );
    const since = cluster.requests.length;
    const result = await withoutRule(rule)(client, `${label}-without-${i}`);
    const resource = `${rule.resources[0]}${rule.apiGroups[0] ? `.${rule.apiGroups[0]}` : ''}`;
    expect(result.failure?.message, `${role} without rule ${resource}`).toContain('lacks');
    expect(result.outputs.result).toBe('failed');
    for (const verb of rule.verbs) expect(result.failure!.message).toMatch(new RegExp(`- ${verb} ${resource.replace(/\./g, '\\.')}\\b`));
    expect(result.failure!.message).toContain(`resources: ["${rule.resources[0]}"]`);
    expect(writesSince(since), `${role} without rule ${resource} wrote`).toEqual([]);
  }
  // With exactly the shipped Role: it runs.
  const client = await serviceAccountUnder(ns, role);
  const result = await run(client, `${label}-ok`);
  expect(result.failure?.message, `${role}`).toBeUndefined();
  const expected =
    label === 'rollback' ? 'rolled-back' : role.startsWith('pd-blue-green') ? 'switched' : role === 'pd-rolling' ? 'rolled-out' : 'paused';
  expect(result.outputs.result, role).toBe(expected);
}

describe('rollback preflight', () => {
  const without = (role: string, resource: string) => roleFile(role).rules.filter((r) => r.resources[0] !== resource);

  test('with force, a Role without the leases rule stops at the preflight listing it, not at a 403 on the lock', async () => {
    const ns = `access-${++namespaces}`;
    const client = await serviceAccountUnder(ns, 'pd-rollback-istio', without('pd-rollback-istio', 'leases'));
    const since = cluster.requests.length;
    const result = await rollbackRun(ns, { mode: 'auto', force: 'true' })(client, 'force-without-leases');
    expect(result.outputs.result).toBe('failed');
    expect(result.failure?.message).toContain('lacks');
    for (const verb of ['get', 'create', 'patch']) expect(result.failure!.message).toContain(`- ${verb} leases.coordination.k8s.io`);
    expect(result.failure!.message).not.toMatch(/forbidden|403/i);
    // No lease read (nor any other call the plan lists) before the access reviews.
    const firstReview = cluster.requests.slice(since).findIndex((r) => r.path.endsWith('selfsubjectaccessreviews'));
    expect(cluster.requests.slice(since, since + firstReview).filter((r) => r.path.includes('/leases'))).toEqual([]);
    expect(writesSince(since)).toEqual([]);
  });
});

describe('rollback preflight asks what the plan needs', () => {
  test("a blue-green release's rollback passes without access to the canary's record (configmaps narrowed to the journal)", async () => {
    const ns = `access-${++namespaces}`;
    const scenario = blueGreen('istio');
    await cluster.apply(scenario.objects(ns));
    expect((await scenario.run(ns)(await serviceAccountUnder(ns, scenario.role), 'bg')).outputs.result).toBe('switched');
    // The journal by name; no get or update of pd-canary-web (create cannot be narrowed by name: a create names no object).
    const rules = [
      ...roleFile('pd-rollback-istio').rules.filter((r) => r.resources[0] !== 'configmaps'),
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'patch'], resourceNames: ['pd-state-web'] },
    ];
    const client = await serviceAccountUnder(ns, 'pd-rollback-istio', rules);
    const result = await rollbackRun(ns)(client, 'rb');
    expect(result.failure?.message).toBeUndefined();
    expect(result.outputs.result).toBe('rolled-back');
  });

  test('mode migration asks for the lock only: a Role of leases alone passes the preflight', async () => {
    const ns = `access-${++namespaces}`;
    const client = await serviceAccountUnder(
      ns,
      'pd-rollback-istio',
      roleFile('pd-rollback-istio').rules.filter((r) => r.resources[0] === 'leases'),
    );
    const since = cluster.requests.length;
    // No database listens on port 1: the run fails there, after the preflight and the lock.
    const result = await rollbackRun(ns, { mode: 'migration', 'database-url': 'postgres://u:p@127.0.0.1:1/db' })(client, 'mig');
    expect(result.outputs.result).toBe('failed');
    expect(result.failure?.message).not.toContain('lacks');
    const reviews = cluster.requests.slice(since).filter((r) => r.path.endsWith('selfsubjectaccessreviews'));
    expect(reviews.length).toBe(3); // get, create, patch leases
    expect(cluster.requests.slice(since).filter((r) => r.path.includes('/configmaps'))).toEqual([]);
  });
});

describe('preflight with a Role narrowed by resourceNames', () => {
  // The watch on a Deployment carries `fieldSelector=metadata.name=<name>`, which the API server
  // authorizes against resourceNames (requestinfo.go: "if a list or a watch has a field selector on
  // metadata.name, use it as the name"): the preflight asks for the watch with the name, as it does a get.
  test('blue-green runs under a Role whose deployments rule names its two Deployments', async () => {
    const ns = `access-${++namespaces}`;
    const scenario = blueGreen('istio');
    await cluster.apply(scenario.objects(ns));
    const rules = roleFile(scenario.role).rules.map((r) =>
      r.apiGroups[0] === 'apps' && r.resources[0]!.startsWith('deployments') ? { ...r, resourceNames: ['web-blue', 'web-green'] } : r,
    );
    expect(rules.filter((r) => r.resourceNames).map((r) => r.resources[0])).toEqual(['deployments', 'deployments/scale']);
    const result = await scenario.run(ns)(await serviceAccountUnder(ns, scenario.role, rules), 'narrowed');
    expect(result.failure?.message).toBeUndefined();
    expect(result.outputs.result).toBe('switched');
  });
});
