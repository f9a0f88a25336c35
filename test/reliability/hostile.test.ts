import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { actionNamed } from '../../src/core/specs/index.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { colorDeployments, hostOf, hostsVirtualService, testContext } from '../blue-green/harness.js';
import { CANARY_IMAGE, ISTIO_ROUTING, WORKLOADS, meshObjects } from '../canary/harness.js';

/**
 * Hostile and malformed inputs, each run through the flow as the action runs it (inputs parsed by
 * the action's spec, then `flow.main`) against a live test cluster holding the objects the inputs
 * name: each is refused with a message naming the input, and the cluster is unchanged (no write in
 * the request log, every resourceVersion as it was).
 */

let cluster: TestCluster;
let workspace: string;
const NO_CLUSTER = 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n';

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 5 });
  await cluster.apply([...colorDeployments('checkout'), hostsVirtualService('checkout'), ...meshObjects('shop')]);
  workspace = await mkdtemp(join(tmpdir(), 'pd-hostile-'));
  await writeFile(join(workspace, 'broken.yaml'), 'steps: [ { setWeight: 10 }\n');
  process.env.GITHUB_WORKSPACE = workspace;
  // The simulated controllers finish rolling the fixtures out: from here on, only a write of ours could change them.
  let last = '';
  for (let i = 0; i < 200; i++) {
    const now = snapshot();
    if (now === last) break;
    last = now;
    await new Promise((r) => setTimeout(r, 150));
  }
});
afterAll(async () => {
  await cluster?.stop();
  if (workspace) await rm(workspace, { recursive: true, force: true });
});

interface Case {
  action: 'blue-green' | 'canary' | 'validate' | 'migrate' | 'rollback';
  name: string;
  inputs: Record<string, string>;
  /** The input the message must name. */
  names: string;
}

const bgBase = () => ({
  kubeconfig: cluster.kubeconfig,
  namespace: 'shop',
  service: 'checkout',
  router: 'istio',
  'route-rule': 'primary',
  blue: hostOf('checkout', 'blue'),
  green: hostOf('checkout', 'green'),
  'blue-workload': 'shop-blue/checkout',
  'green-workload': 'shop-green/checkout',
  image: 'registry.example.com/app:2.0.0',
  'lock-timeout': '1s',
});
const CONFIG = { routing: ISTIO_ROUTING, workloads: WORKLOADS, steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }] };
const cnBase = () => ({
  kubeconfig: cluster.kubeconfig,
  namespace: 'shop',
  service: 'checkout',
  image: CANARY_IMAGE,
  config: stringifyYaml(CONFIG),
  'lock-timeout': '1s',
});
const METRICS = `metrics: [{ name: errors, successCondition: "result[0] < 0.01", provider: { prometheus: { query: 'sum(rate(http_requests_total{service="{{args.service}}"}[2m]))' } } }]`;
const vBase = () => ({
  metrics: `args: [{ name: service }]\n${METRICS}`,
  args: 'service: checkout',
  'prometheus-address': 'http://127.0.0.1:1',
});
const mBase = () => ({
  phase: 'expand',
  version: '2026_11_23_split_name',
  command: 'true',
  'database-url': 'postgresql://app:pw-secret-1@127.0.0.1:1/shop',
});
const rbBase = () => ({ kubeconfig: cluster.kubeconfig, namespace: 'shop', service: 'checkout', 'lock-timeout': '1s' });
const withConfig = (change: (c: Record<string, unknown>) => void) => {
  const c = structuredClone(CONFIG) as Record<string, unknown>;
  change(c);
  return stringifyYaml(c);
};
const HUGE = 'a'.repeat(100_000);

const cases: Case[] = [
  // blue-green
  { action: 'blue-green', name: 'weights over 100', inputs: { steps: '10,150' }, names: 'steps' },
  { action: 'blue-green', name: 'negative weight', inputs: { steps: '-10,100' }, names: 'steps' },
  { action: 'blue-green', name: 'decreasing steps', inputs: { steps: '50,10,100' }, names: 'steps' },
  { action: 'blue-green', name: 'steps not ending at 100', inputs: { steps: '10,50' }, names: 'steps' },
  { action: 'blue-green', name: 'negative validation duration', inputs: { 'validation-duration': '-5m' }, names: 'validation-duration' },
  { action: 'blue-green', name: 'negative scale-down delay', inputs: { 'scale-down-after': '-1m' }, names: 'scale-down-after' },
  { action: 'blue-green', name: 'negative lock timeout', inputs: { 'lock-timeout': '-1s' }, names: 'lock-timeout' },
  { action: 'blue-green', name: 'rollout timeout in words', inputs: { 'rollout-timeout': 'forever' }, names: 'rollout-timeout' },
  { action: 'blue-green', name: 'service with ; rm -rf', inputs: { service: 'web;rm -rf /' }, names: 'service' },
  { action: 'blue-green', name: 'service with $(...)', inputs: { service: 'web$(id)' }, names: 'service' },
  { action: 'blue-green', name: 'service oversized', inputs: { service: HUGE }, names: 'service' },
  { action: 'blue-green', name: 'namespace with capitals', inputs: { namespace: 'Shop' }, names: 'namespace' },
  { action: 'blue-green', name: 'namespace with a newline', inputs: { namespace: 'shop\nkube-system' }, names: 'namespace' },
  { action: 'blue-green', name: 'image with backticks', inputs: { image: 'app:`id`' }, names: 'image' },
  { action: 'blue-green', name: 'image with a pipe', inputs: { image: 'app:1.0|sh' }, names: 'image' },
  { action: 'blue-green', name: 'image oversized', inputs: { image: `registry.example.com/${HUGE}:1` }, names: 'image' },
  { action: 'blue-green', name: 'unknown router', inputs: { router: 'nginx' }, names: 'router' },
  { action: 'blue-green', name: 'workload with ;', inputs: { 'blue-workload': 'shop-blue/checkout;id' }, names: 'blue-workload' },
  { action: 'blue-green', name: 'kubeconfig with no cluster', inputs: { kubeconfig: NO_CLUSTER }, names: 'kubeconfig' },
  {
    action: 'blue-green',
    name: 'kubeconfig malformed YAML',
    inputs: { kubeconfig: 'apiVersion: v1\nclusters: [ {\n' },
    names: 'kubeconfig',
  },
  { action: 'blue-green', name: 'analysis malformed YAML', inputs: { analysis: 'metrics: [ {\n' }, names: 'analysis' },
  {
    action: 'blue-green',
    name: 'analysis path outside the workspace',
    inputs: { analysis: '../../../etc/passwd.yaml' },
    names: 'analysis',
  },
  {
    action: 'blue-green',
    name: 'smoke command with an unclosed quote',
    inputs: { 'smoke-command': 'curl "http://x' },
    names: 'smoke-command',
  },
  { action: 'blue-green', name: 'dry-run not a boolean', inputs: { 'dry-run': 'maybe' }, names: 'dry-run' },
  { action: 'blue-green', name: 'run id with spaces', inputs: { 'run-id': 'a b' }, names: 'run-id' },
  { action: 'blue-green', name: 'webhook not a URL', inputs: { 'slack-webhook-url': 'not a url' }, names: 'slack-webhook-url' },
  // canary
  { action: 'canary', name: 'config malformed YAML', inputs: { config: 'steps: [ { setWeight: 10 }\n' }, names: 'config' },
  { action: 'canary', name: 'config file malformed YAML', inputs: { config: 'broken.yaml' }, names: 'config' },
  { action: 'canary', name: 'unknown key in config', inputs: { config: withConfig((c) => (c.stepz = [])) }, names: 'stepz' },
  {
    action: 'canary',
    name: 'unknown key in a step',
    inputs: { config: withConfig((c) => ((c.steps as object[])[0] = { setWeight: 10, shell: 'id' })) },
    names: 'shell',
  },
  {
    action: 'canary',
    name: 'weight over 100',
    inputs: { config: withConfig((c) => ((c.steps as object[])[0] = { setWeight: 150 })) },
    names: 'setWeight',
  },
  {
    action: 'canary',
    name: 'negative weight',
    inputs: { config: withConfig((c) => ((c.steps as object[])[0] = { setWeight: -5 })) },
    names: 'setWeight',
  },
  {
    action: 'canary',
    name: 'negative pause',
    inputs: { config: withConfig((c) => ((c.steps as object[])[1] = { pause: { duration: '-5m' } })) },
    names: 'duration',
  },
  { action: 'canary', name: 'config path outside the workspace', inputs: { config: '../../../../etc/passwd.yaml' }, names: 'config' },
  { action: 'canary', name: 'config file missing', inputs: { config: 'missing/canary.yaml' }, names: 'config' },
  { action: 'canary', name: 'unknown action', inputs: { action: 'deploy' }, names: 'action' },
  { action: 'canary', name: 'image with ;', inputs: { image: 'app:1.0;reboot' }, names: 'image' },
  { action: 'canary', name: 'image missing on start', inputs: { image: '' }, names: 'image' },
  { action: 'canary', name: 'full without promote', inputs: { full: 'true' }, names: 'full' },
  {
    action: 'canary',
    name: 'prometheus address javascript:',
    inputs: { 'prometheus-address': 'javascript:alert(1)' },
    names: 'prometheus-address',
  },
  { action: 'canary', name: 'kubeconfig with no cluster', inputs: { kubeconfig: NO_CLUSTER }, names: 'kubeconfig' },
  { action: 'canary', name: 'namespace oversized', inputs: { namespace: 'a'.repeat(300) }, names: 'namespace' },
  // validate
  { action: 'validate', name: 'metrics malformed YAML', inputs: { metrics: 'metrics: [ {\n' }, names: 'metrics' },
  {
    action: 'validate',
    name: 'unknown key in a metric',
    inputs: { metrics: `metrics: [{ name: x, exec: id, provider: { prometheus: { query: up } } }]` },
    names: 'exec',
  },
  {
    action: 'validate',
    name: 'condition with a statement',
    inputs: {
      metrics: `metrics: [{ name: x, successCondition: "result[0] < 1; process.exit(1)", provider: { prometheus: { query: up } } }]`,
    },
    names: 'successCondition',
  },
  { action: 'validate', name: 'negative duration', inputs: { duration: '-1m' }, names: 'duration' },
  { action: 'validate', name: 'metrics path outside the workspace', inputs: { metrics: '../../etc/shadow.yaml' }, names: 'metrics' },
  { action: 'validate', name: 'arg not declared by the template', inputs: { args: 'service: checkout\nquery: up' }, names: 'query' },
  // migrate
  { action: 'migrate', name: 'version with shell metacharacters', inputs: { version: 'v1;rm -rf /' }, names: 'version' },
  { action: 'migrate', name: 'version with a path', inputs: { version: '../../etc/passwd' }, names: 'version' },
  { action: 'migrate', name: 'unknown phase', inputs: { phase: 'drop' }, names: 'phase' },
  { action: 'migrate', name: 'database URL of another kind', inputs: { 'database-url': 'mysql://root:pw@db/x' }, names: 'database-url' },
  { action: 'migrate', name: 'empty JSON command', inputs: { command: '[]' }, names: 'command' },
  { action: 'migrate', name: 'negative statement timeout', inputs: { 'statement-timeout': '-5s' }, names: 'statement-timeout' },
  {
    action: 'migrate',
    name: 'require-rollout without expected-image',
    inputs: { 'require-rollout': 'shop/checkout', kubeconfig: NO_CLUSTER },
    names: 'expected-image',
  },
  // rollback
  { action: 'rollback', name: 'unknown mode', inputs: { mode: 'everything' }, names: 'mode' },
  { action: 'rollback', name: 'to-revision with mode auto', inputs: { 'to-revision': '3' }, names: 'to-revision' },
  { action: 'rollback', name: 'deployment without to-revision', inputs: { deployment: 'checkout' }, names: 'deployment' },
  {
    action: 'rollback',
    name: 'mode migration without database-url',
    inputs: { mode: 'migration', 'rollback-command': 'true' },
    names: 'database-url',
  },
  { action: 'rollback', name: 'reason oversized', inputs: { reason: HUGE }, names: 'reason' },
  { action: 'rollback', name: 'service with a newline', inputs: { service: 'checkout\nx' }, names: 'service' },
  { action: 'rollback', name: 'kubeconfig with no cluster', inputs: { kubeconfig: NO_CLUSTER }, names: 'kubeconfig' },
  { action: 'rollback', name: 'force not a boolean', inputs: { force: 'please' }, names: 'force' },
];

const bases = { 'blue-green': bgBase, canary: cnBase, validate: vBase, migrate: mBase, rollback: rbBase };

function snapshot(): string {
  const objects: [string, string, string, string][] = [
    ['networking.istio.io/v1', 'VirtualService', 'shop', 'checkout'],
    ['networking.istio.io/v1', 'DestinationRule', 'shop', 'checkout'],
    ['apps/v1', 'Deployment', 'shop-blue', 'checkout'],
    ['apps/v1', 'Deployment', 'shop-green', 'checkout'],
    ['apps/v1', 'Deployment', 'shop', 'checkout'],
    ['apps/v1', 'Deployment', 'shop', 'checkout-canary'],
    ['v1', 'ConfigMap', 'shop', 'pd-state-checkout'],
    ['v1', 'ConfigMap', 'shop', 'pd-canary-checkout'],
    ['coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-checkout'],
  ];
  return JSON.stringify(
    objects.map(([v, k, ns, n]) => `${k} ${ns}/${n}@${cluster.get(v, k, ns, n)?.metadata.resourceVersion ?? 'absent'}`),
  );
}

describe(`${cases.length} hostile inputs through the flows`, () => {
  test('there are at least 50', () => expect(cases.length).toBeGreaterThanOrEqual(50));
  test.each(cases)('$action: $name is refused naming $names; the cluster is unchanged', async (c) => {
    const before = snapshot();
    const since = cluster.requests.length;
    const flow = await actionNamed(c.action).flow();
    const context = testContext(`hostile-${c.action}`);
    let message = '';
    try {
      const inputs = parseInputs(flow.spec, { ...bases[c.action](), ...c.inputs });
      await flow.main(inputs, context);
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message, 'it must be refused').not.toBe('');
    expect(message).toContain(c.names);
    expect(message.length).toBeLessThan(2000); // a clear message, not the oversized value echoed back
    expect(
      cluster.requests
        .slice(since)
        .filter((r) => r.method !== 'GET' && !r.path.endsWith('accessreviews'))
        .map((r) => `${r.method} ${r.path}`),
    ).toEqual([]);
    expect(snapshot()).toBe(before);
  });
});
