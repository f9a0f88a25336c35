import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Flow } from '../../src/core/flow.js';
import type { ActionSpec } from '../../src/core/specs/spec.js';
import { actionNamed } from '../../src/core/specs/index.js';
import { startTestCluster, type TestCluster } from '../../test/cluster/server.js';
import { NAMESPACE, shopManifests } from './manifests.js';
import { startMetricSource, type MetricSource } from './metrics.js';
import { outputLines, PrefixedLines, runFlowLikeCli, type FlowRun } from './run-flow.js';
import { scenarios, type Scenario } from './scenarios.js';
import { SlackReceiver } from './slack-receiver.js';

export interface DemoOptions {
  /** Output folder (default demo-output). */
  out: string;
  metrics: 'auto' | 'prometheus' | 'simulated';
  /** After the scenarios, keep the servers up until `signal` aborts (for kubectl). */
  hold: boolean;
  verbose: boolean;
  /** Aborted on Ctrl-C: the running flow is cancelled (its post step restores traffic), then everything stops. */
  signal: AbortSignal;
  /** Where the console lines go (default stdout). */
  print?: (line: string) => void;
}

export interface Verdict {
  scenario: string;
  title: string;
  expected: string;
  result: string;
  ok: boolean;
  durationMs: number;
  error?: string;
}

export interface DemoResult {
  verdicts: Verdict[];
  metricSource?: MetricSource['kind'];
  out: string;
}

/** Marks a folder as the demo's own, so a later run may empty it. */
const MARKER = '.progressive-delivery-demo';

/**
 * `npm run demo`: the test Kubernetes API server with a `shop` namespace, a metric source, a
 * stand-in Slack webhook, and three runs of the actions' flows against them (blue-green switch,
 * canary promoted, canary aborted). Every server is stopped at the end, also on error or abort.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const out = options.out;
  const shown = displayPath(out);
  await prepareOutput(out);
  const result: DemoResult = { verdicts: [], out };
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  try {
    print("Progressive delivery demo: the actions' own flows against a local Kubernetes API, metrics and Slack.");
    print('');

    const cluster = await startTestCluster({ podReadyDelayMs: 100 });
    stops.push({ name: 'Kubernetes test API server', stop: () => cluster.stop() });
    const manifests = shopManifests();
    await cluster.apply(manifests);
    const kubeconfigPath = join(out, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfigPath);
    await chmod(kubeconfigPath, 0o600);
    await writeFile(join(out, 'manifests.yaml'), manifests.map((m) => stringifyYaml(m)).join('---\n'));
    // The actions run as a ServiceAccount under the shipped Roles (deploy/rbac/), with a TokenRequest token, as on a real cluster.
    const deployerKubeconfig = await serviceAccountKubeconfig(cluster);
    print(`Kubernetes  test API server at ${cluster.url} (controllers simulated, no containers run)`);
    print(
      `            namespace ${NAMESPACE}: checkout-blue/-green + VirtualService checkout (blue-green), cart + cart-canary + VirtualService/DestinationRule cart (canary)`,
    );
    print(
      `            the actions run as ServiceAccount ${NAMESPACE}/deployer under the Roles pd-blue-green-istio and pd-canary-istio (deploy/rbac/)`,
    );
    print(`            while it runs:  kubectl --kubeconfig ${join(shown, 'kubeconfig')} get vs -n ${NAMESPACE} -o yaml`);

    const metrics = await startMetricSource(options.metrics);
    stops.push({ name: 'metric source', stop: () => metrics.stop() });
    result.metricSource = metrics.kind;
    print(`Metrics     ${metrics.description}`);

    const slack = new SlackReceiver(join(out, 'slack'));
    await slack.start();
    stops.push({ name: 'Slack receiver', stop: () => slack.stop() });
    print(`Slack       a webhook receiver on 127.0.0.1 stands in for Slack; payloads are saved to ${join(shown, 'slack')}/`);

    const registered = await flowsToRun();
    for (const [index, scenario] of scenarios().entries()) {
      if (options.signal.aborted) break;
      print('');
      print(`━━ ${index + 1}/3 ${scenario.title}: ${scenario.story}`);
      const verdict = await runScenario(scenario, {
        flow: registered[scenario.action],
        cluster,
        kubeconfig: deployerKubeconfig,
        metrics,
        slack,
        out,
        signal: options.signal,
        verbose: options.verbose,
        print,
      });
      result.verdicts.push(verdict);
    }

    if (options.hold && !options.signal.aborted) {
      print('');
      print(
        `Holding the servers for kubectl (kubectl --kubeconfig ${join(shown, 'kubeconfig')} get vs,deploy,configmap -n ${NAMESPACE}); Ctrl-C to stop.`,
      );
      await new Promise<void>((resolve) => {
        if (options.signal.aborted) resolve();
        options.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  } finally {
    // Stopped in reverse order; one that fails to stop does not keep the others running.
    for (const { name, stop } of stops.reverse()) {
      await stop().catch((error: Error) => print(`warning: could not stop the ${name}: ${error.message}`));
    }
    await writeFile(join(out, 'verdicts.json'), `${JSON.stringify(result.verdicts, null, 2)}\n`).catch(() => undefined);
  }

  print('');
  print(
    `Files in ${shown}/: kubeconfig, manifests.yaml, verdicts.json, slack/*.json, and per scenario <n>-<name>/summary.md, outputs.json, inputs.yaml, log.txt`,
  );
  for (const v of result.verdicts) {
    print(
      `${v.ok ? 'PASS' : 'FAIL'}  ${v.title}: ${v.result || 'no result'}${v.ok ? '' : ` (expected ${v.expected})${v.error ? `: ${v.error}` : ''}`} in ${(v.durationMs / 1000).toFixed(1)} s`,
    );
  }
  if (result.verdicts.length === 3)
    print(
      `Read next: ${join(shown, '3-cart-canary-abort', 'summary.md')} (why the canary was aborted, step by step) and ${join(shown, 'slack')}/ (what Slack was told).`,
    );
  if (options.signal.aborted) print('Interrupted: the scenarios left were not run.');
  return result;
}

/** The flows the command line runs (the list in src/core/specs/index.ts), by the action each scenario uses. */
async function flowsToRun(): Promise<Record<Scenario['action'], Flow<ActionSpec>>> {
  return { 'blue-green': await actionNamed('blue-green').flow(), canary: await actionNamed('canary').flow() };
}

interface ScenarioDeps {
  flow: Flow<ActionSpec>;
  cluster: TestCluster;
  /** What the actions get as their kubeconfig input: the deployer ServiceAccount's. */
  kubeconfig: string;
  metrics: MetricSource;
  slack: SlackReceiver;
  out: string;
  signal: AbortSignal;
  verbose: boolean;
  print: (line: string) => void;
}

/** ServiceAccount shop/deployer bound to the shipped Roles of the demo's actions; its kubeconfig (a one-hour token). */
async function serviceAccountKubeconfig(cluster: TestCluster): Promise<string> {
  const objects: object[] = [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: NAMESPACE } }];
  for (const role of ['pd-blue-green-istio', 'pd-canary-istio']) {
    const shipped = parseYaml(await readFile(join(import.meta.dirname, '..', '..', 'deploy', 'rbac', `${role}.yaml`), 'utf8'));
    objects.push(
      { ...shipped, metadata: { name: role, namespace: NAMESPACE } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: role, namespace: NAMESPACE },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
        subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: NAMESPACE }],
      },
    );
  }
  await cluster.apply(objects);
  return cluster.kubeconfigFor(
    { token: cluster.createToken(NAMESPACE, 'deployer', { expirationSeconds: 3600 }) },
    { namespace: NAMESPACE },
  );
}

async function runScenario(scenario: Scenario, deps: ScenarioDeps): Promise<Verdict> {
  const dir = join(deps.out, scenario.id);
  await mkdir(dir, { recursive: true });
  const prefix = `[${scenario.title}] `;
  const log = new PrefixedLines(prefix, deps.print);
  deps.slack.scenario = scenario.id;
  deps.slack.onPayload = (payload) => log.line(`slack ← ${payload.text} (${displayPath(payload.file)})`);
  // What a workflow's `with:` would hold, without the secrets (the demo adds them below).
  await writeFile(
    join(dir, 'inputs.yaml'),
    `# The step this scenario runs; the demo adds kubeconfig, prometheus-address and slack-webhook-url\n# (in a workflow: \${{ secrets.KUBECONFIG }} and so on).\n${stringifyYaml({ uses: `./actions/${scenario.action}`, with: scenario.inputs }, { lineWidth: 0 })}`,
  );

  const raw = {
    ...scenario.inputs,
    kubeconfig: deps.kubeconfig,
    'prometheus-address': deps.metrics.url,
    'slack-webhook-url': deps.slack.url,
  };
  const run: FlowRun = await runFlowLikeCli(deps.flow, raw, {
    out: log,
    signal: deps.signal,
    verbose: deps.verbose,
    env: { GITHUB_REPOSITORY: 'example/shop', GITHUB_ACTOR: actor() },
  });
  log.flushPending();
  const lines = outputLines(run.outputs);
  for (const line of lines) log.line(`output ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`);
  log.line(`traffic now: ${liveTraffic(deps.cluster, scenario)}`);

  await writeFile(
    join(dir, 'summary.md'),
    run.summary ? `${run.summary}\n` : `(no summary: the run ended with ${run.outcome}${run.error ? `: ${run.error}` : ''})\n`,
  );
  await writeFile(
    join(dir, 'outputs.json'),
    `${JSON.stringify(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])), null, 2)}\n`,
  );
  await writeFile(join(dir, 'log.txt'), `${log.lines.join('\n')}\n`);

  const result = typeof run.outputs.result === 'string' ? run.outputs.result : '';
  return {
    scenario: scenario.id,
    title: scenario.title,
    expected: scenario.expected,
    result,
    ok: result === scenario.expected && run.outcome !== 'error',
    durationMs: run.durationMs,
    ...(run.error ? { error: run.error } : {}),
  };
}

/** The VirtualService's weights as a person reads them, straight from the cluster's store. */
function liveTraffic(cluster: TestCluster, scenario: Scenario): string {
  const name = scenario.action === 'blue-green' ? 'checkout' : 'cart';
  const vs = cluster.get('networking.istio.io/v1', 'VirtualService', NAMESPACE, name) as
    | { spec?: { http?: { route?: { destination: { host: string; subset?: string }; weight?: number }[] }[] } }
    | undefined;
  const route = vs?.spec?.http?.[0]?.route ?? [];
  const parts = route.map((r) => `${r.destination.subset ?? r.destination.host.split('.')[0]} ${r.weight ?? 0}%`);
  const images = (scenario.action === 'blue-green' ? ['checkout-blue', 'checkout-green'] : ['cart', 'cart-canary']).map((d) => {
    const dep = cluster.get('apps/v1', 'Deployment', NAMESPACE, d) as
      | { spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } } }
      | undefined;
    return `${d} ${dep?.spec?.template?.spec?.containers?.[0]?.image?.split('/').pop() ?? '?'} ×${dep?.spec?.replicas ?? 0}`;
  });
  return `VirtualService ${name}: ${parts.join(', ')}; ${images.join(', ')}`;
}

function actor(): string {
  try {
    return userInfo().username;
  } catch {
    return 'demo';
  }
}

/** The folder relative to the working directory when inside it, else absolute. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Creates the folder; empties it when a previous demo made it; refuses a foreign folder that is not empty. */
async function prepareOutput(out: string): Promise<void> {
  const exists = await stat(out).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (exists) {
    const entries = await readdir(out);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new Error(`${out} is not empty and was not written by the demo: give an empty or new folder with --out`);
    }
    for (const entry of entries) await rm(join(out, entry), { recursive: true, force: true });
  }
  await mkdir(out, { recursive: true });
  await writeFile(join(out, MARKER), 'Written by `npm run demo`; the next run empties this folder.\n');
}
