/**
 * Issue 15, item 5: a run started by hand (workflow_dispatch) and a run called from a workflow
 * (workflow_call) read the same delivery file and make the same plan. blue-green.yml and
 * canary.yml run under simulate.ts (GitHub's evaluator), and their action step runs for real as
 * the runner starts it (src/actions/<name>.ts, INPUT_*, GITHUB_WORKSPACE = the caller's checked
 * out repository, test/workflows/fixtures/workspace) as a dry run against the test cluster.
 * Before the delivery file, a dispatched blue-green.yml had no analysis, route or validation at
 * all: the dispatch could not ask for them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment } from '../cluster/helpers.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { type ActionRun, runAction } from '../support/action-runner.js';
import { loadModels, simulate, type ActionStepRun, type Scenario, type StepEnd } from './simulate.js';
import { ownActionName } from './workflow-files.js';

const BLUE_GREEN = '.github/workflows/blue-green.yml';
const CANARY = '.github/workflows/canary.yml';
const models = loadModels([BLUE_GREEN, CANARY]);
const WORKSPACE = fileURLToPath(new URL('./fixtures/workspace/', import.meta.url));

let cluster: TestCluster;
let dir: string;

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 20 });
  dir = mkdtempSync(join(tmpdir(), 'pd-dispatch-call-'));
  await cluster.apply(
    [
      deployment('checkout-blue', 'registry.example.com/checkout:1.0', 2, { labels: { color: 'blue' } }),
      deployment('checkout-green', 'registry.example.com/checkout:1.0', 2, { labels: { color: 'green' } }),
      deployment('checkout', 'registry.example.com/checkout:1.0', 4),
      deployment('checkout-canary', 'registry.example.com/checkout:1.0', 0),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'checkout-bg' },
        spec: { selector: { app: 'checkout', color: 'blue' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    ].map((o: any) => ({ ...o, metadata: { ...o.metadata, namespace: 'shop' } })),
  );
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs our action step (main, then post) as the runner does, in the caller's workspace; checkout is a no-op. */
function actor(runs: ActionRun[]) {
  return async (step: ActionStepRun): Promise<StepEnd | undefined> => {
    if (step.uses.startsWith('actions/checkout@')) return { outcome: 'success' };
    const name = ownActionName(step.uses);
    if (!name) return undefined;
    const env = {
      GITHUB_RUN_ID: step.github.run_id!,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_REPOSITORY: 'shop/checkout',
      GITHUB_WORKSPACE: WORKSPACE,
    };
    const main = await runAction({ entry: `src/actions/${name}.ts`, inputs: step.with, dir, env });
    const post = await runAction({ entry: `src/actions/${name}.ts`, inputs: step.with, dir, env, post: { stateFile: main.stateFile } });
    runs.push(main);
    return { outcome: main.code === 0 && post.code === 0 ? 'success' : 'failure', outputs: main.outputs };
  };
}

/** The plan as the user reads it (job summary and log), without what differs by nature from one run to another (times, durations, the journal entries' nonces). */
function plan(run: ActionRun): { summary: string; log: string } {
  const clean = (text: string) =>
    text
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
      .replace(/\b\d+(\.\d+)?(ms|s)\b/g, '<elapsed>')
      .replace(/#[a-z0-9]{4,12}:/g, '#<nonce>:')
      .replace(/^::debug::.*$/gm, '')
      .replace(/\n{2,}/g, '\n');
  return { summary: clean(run.summary), log: clean(run.stdout) };
}

async function planOf(path: string, scenario: Omit<Scenario, 'act'>): Promise<{ run: ActionRun; given: Record<string, string> }> {
  const runs: ActionRun[] = [];
  const wf = await simulate(models[path]!, { ...scenario, secrets: { KUBECONFIG: cluster.kubeconfig }, act: actor(runs) });
  const job = Object.values(wf.jobs)[0]!;
  const step = Object.values(job.steps).find((s) => s.uses && ownActionName(s.uses))!;
  expect(runs, `${path} ${scenario.trigger}`).toHaveLength(1);
  return { run: runs[0]!, given: step.with };
}

describe('blue-green.yml: dispatched and called with the same delivery file, the same plan (dry run)', { timeout: 180_000 }, () => {
  // What changes per release, and all a dispatch asks for.
  const perRelease = { service: 'checkout', environment: 'production', image: 'registry.example.com/checkout:1.1', 'dry-run': true };
  let dispatched: Awaited<ReturnType<typeof planOf>>;

  it('the same plan, taken from the file: namespace, router, route, analysis, validation and the environment URL', async () => {
    dispatched = await planOf(BLUE_GREEN, { trigger: 'dispatch', inputs: perRelease });
    const called = await planOf(BLUE_GREEN, { trigger: 'call', inputs: perRelease });
    for (const { run } of [dispatched, called]) {
      expect(run.code, run.stdout).toBe(0);
      expect(run.outputs.result).toBe('planned');
      expect(run.stdout).toMatch(
        /Delivery file \.github\/delivery\/checkout\.yaml: namespace, prometheus-address, router, route, analysis, validation-duration, environment-url from the file\./,
      );
    }
    // The dispatch asked for none of these: the Service checkout-bg, the analysis and production's URL are the file's.
    expect(dispatched.given).toMatchObject({ namespace: '', router: '', route: '', analysis: '', 'validation-duration': '' });
    expect(dispatched.run.summary).toContain('checkout-bg');
    expect(dispatched.run.summary).toContain('https://shop.example.com');
    expect(plan(dispatched.run)).toEqual(plan(called.run));
    expect(dispatched.run.outputs).toEqual(called.run.outputs);
  });

  it('…and the same plan as a call that types those settings as inputs', async () => {
    const typed = await planOf(BLUE_GREEN, {
      trigger: 'call',
      inputs: {
        ...perRelease,
        namespace: 'shop',
        router: 'service',
        route: 'checkout-bg',
        analysis:
          'metrics: [{ name: error-rate, interval: 30s, count: 2, successCondition: "result[0] < 0.01", provider: { prometheus: { query: "sum(rate(http_requests_total{code=~\\"5..\\",color=\\"{{args.color}}\\"}[1m]))" } } }]',
        'validation-duration': '2m',
        'prometheus-address': 'http://prometheus.monitoring:9090',
        'environment-url': 'https://shop.example.com',
      },
    });
    expect(typed.run.code, typed.run.stdout).toBe(0);
    expect(typed.run.stdout).toContain('every input it sets was given');
    expect(plan(typed.run).summary).toEqual(plan(dispatched.run).summary);
  });

  it('an input given by the caller wins over the file', async () => {
    const called = await planOf(BLUE_GREEN, {
      trigger: 'call',
      inputs: { ...perRelease, 'environment-url': 'https://checkout.example.org' },
    });
    expect(called.run.code, called.run.stdout).toBe(0);
    expect(called.run.summary).toContain('https://checkout.example.org');
    expect(called.run.summary).not.toContain('https://shop.example.com');
  });

  it('a file error fails the run before any cluster call, naming the file, the key and the fix, with result failed', async () => {
    const before = cluster.requests.length;
    const bad = await planOf(BLUE_GREEN, { trigger: 'dispatch', inputs: { ...perRelease, service: 'checkout-broken' } });
    expect(bad.run.code).not.toBe(0);
    expect(bad.run.outputs.result).toBe('failed');
    expect(bad.run.stdout).toContain('delivery file .github/delivery/checkout-broken.yaml');
    expect(bad.run.stdout).toContain("'blue-green.steps': expected the last step to be 100");
    expect(cluster.requests.length).toBe(before);
  });
});

describe('canary.yml: dispatched and called with the same delivery file, the same plan (dry run)', { timeout: 120_000 }, () => {
  it('the canary config comes from the file under both triggers', async () => {
    const perRelease = { service: 'checkout', environment: 'production', image: 'registry.example.com/checkout:1.1', 'dry-run': true };
    const dispatched = await planOf(CANARY, { trigger: 'dispatch', inputs: perRelease });
    const called = await planOf(CANARY, { trigger: 'call', inputs: perRelease });
    for (const { run } of [dispatched, called]) {
      expect(run.code, run.stdout).toBe(0);
      expect(run.outputs.result).toBe('planned');
    }
    expect(dispatched.given.config).toBe('');
    expect(plan(dispatched.run)).toEqual(plan(called.run));
    expect(dispatched.run.stdout).toMatch(/25%/); // deploy/canary.yaml's first step
  });
});
