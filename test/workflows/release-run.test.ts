/**
 * deploy.yml run for real where it can be: simulate.ts drives the workflow (conditions and
 * inputs by GitHub's evaluator), and each of our action steps runs as the runner starts it
 * (src/actions/<name>.ts with INPUT_*, then its post step) against the test cluster and a real
 * PostgreSQL. The checkout steps are no-ops: the migrations are this repository's fixtures.
 *
 * The shape of issue 21, item 2: release 1 is good (expand + blue-green switch); release 2 fails
 * before any write; the failure() rollback is given release 2's id, so release 1 stays live.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { runAction } from '../support/action-runner.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { checkoutBlueGreen } from './checkout-service.js';
import { loadModels, simulate, type ActionStepRun, type StepEnd, type WorkflowRun } from './simulate.js';
import { ownActionName } from './workflow-files.js';

const DEPLOY = '.github/workflows/deploy.yml';
const deploy = loadModels([DEPLOY])[DEPLOY]!;
const FIXTURES = fileURLToPath(new URL('../rollback/fixtures/', import.meta.url));
const psql = (file: string) => `psql -X -q -v ON_ERROR_STOP=1 -f ${FIXTURES}${file} $DATABASE_URL`;

let cluster: TestCluster;
let db: TestPostgres;
let dir: string;
const logs: string[] = [];

beforeAll(async () => {
  [cluster, db] = await Promise.all([startTestCluster({ podReadyDelayMs: 20 }), startPostgres()]);
  dir = mkdtempSync(join(tmpdir(), 'pd-release-run-'));
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query("CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL); INSERT INTO orders (customer) VALUES ('ada');");
  await client.end();
  await cluster.apply(checkoutBlueGreen());
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), db?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Our action steps run as the runner runs them (main, then post); actions/checkout is a no-op here. */
async function act(step: ActionStepRun): Promise<StepEnd | undefined> {
  if (step.uses.startsWith('actions/checkout@')) return { outcome: 'success' };
  const name = ownActionName(step.uses);
  if (!name) return undefined;
  const env = {
    GITHUB_RUN_ID: step.github.run_id!,
    GITHUB_RUN_ATTEMPT: step.github.run_attempt!,
    GITHUB_REPOSITORY: 'shop/checkout',
    GITHUB_JOB: step.job,
  };
  const main = await runAction({ entry: `src/actions/${name}.ts`, inputs: step.with, dir, env });
  const post = await runAction({ entry: `src/actions/${name}.ts`, inputs: step.with, dir, env, post: { stateFile: main.stateFile } });
  logs.push(`== ${step.job}.${step.id} (${main.code}/${post.code})\n${main.stdout}\n${post.stdout}`);
  return { outcome: main.code === 0 && post.code === 0 ? 'success' : 'failure', outputs: main.outputs };
}

const BASE = {
  service: 'checkout',
  namespace: 'shop',
  environment: 'staging',
  image: 'registry.example.com/checkout',
  strategy: 'blue-green',
  router: 'service',
};

function releaseRun(runId: string, inputs: Record<string, string | boolean>): Promise<WorkflowRun> {
  return simulate(deploy, {
    trigger: 'call',
    inputs: { ...BASE, ...inputs },
    // No GitHub token (no deployment is recorded), no Slack.
    secrets: { KUBECONFIG: cluster.kubeconfig, DATABASE_URL: db.url },
    github: { run_id: runId, token: '' },
    act,
  });
}

function live() {
  const service = cluster.get('v1', 'Service', 'shop', 'checkout');
  const green = cluster.get('apps/v1', 'Deployment', 'shop', 'checkout-green');
  return { color: service.spec.selector.color as string, greenImage: green.spec.template.spec.containers[0].image as string };
}

async function hasColumn(column: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const r = await client.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = $1", [column]);
    return r.rowCount === 1;
  } finally {
    await client.end();
  }
}
const emailColumn = () => hasColumn('customer_email');

// Each action step starts a process through tsx (main and post), seconds each on a shared machine.
describe('deploy.yml on the test cluster and PostgreSQL', { timeout: 300_000 }, () => {
  let first: WorkflowRun;

  it('release 1 (expand + blue-green switch) is delivered, and nothing is rolled back', async () => {
    first = await releaseRun('5001', {
      version: '1.1',
      migration: '2026_12_01_email',
      'expand-command': psql('expand-email.sql'),
      'migration-rollback-command': psql('rollback-email.sql'),
    });
    const ran = Object.values(first.jobs)
      .filter((j) => j.ran)
      .map((j) => `${j.id}:${j.result}`);
    expect(ran, logs.join('\n')).toEqual(['prepare:success', 'expand:success', 'deliver:success', 'summary:success']);
    expect(first.jobs.deliver!.outputs.result).toBe('switched');
    expect(live()).toEqual({ color: 'green', greenImage: 'registry.example.com/checkout:1.1' });
    expect(await emailColumn()).toBe(true);
  });

  let second: WorkflowRun;
  let secondLog = '';

  it('release 2 fails before any write (a router that does not exist): deliver fails, the rollback gets release 2’s id', async () => {
    logs.length = 0;
    second = await releaseRun('5002', { version: '1.2', router: 'istio' });
    secondLog = logs.join('\n');
    expect(second.jobs.deliver!.result, secondLog).toBe('failure');
    expect(second.jobs.expand!.ran).toBe(false);
    expect(second.jobs.rollback!.ran).toBe(true);
    const given = second.jobs.rollback!.steps.rollback!.with;
    expect(given.release).toBe(second.jobs.prepare!.outputs.release);
    expect(given.release).not.toBe(first.jobs.prepare!.outputs.release);
    expect(given.mode).toBe('auto');
    expect(given['database-url']).toBe('');
    expect(second.jobs.summary!.result).toBe('failure');
  });

  // Rollback scoped to `release` (issue 17). Before it, the same rollback undid the newest
  // recorded run: release 1's switch (traffic back on blue, green back on 1.0).
  it('…and that rollback ends nothing-to-do (exit 0), leaving release 1 live with its migration', async () => {
    expect(second.jobs.rollback!.outputs.result, secondLog).toBe('nothing-to-do');
    expect(second.jobs.rollback!.result).toBe('success');
    expect(live()).toEqual({ color: 'green', greenImage: 'registry.example.com/checkout:1.1' });
    expect(await emailColumn()).toBe(true);
  });

  it('release 3 expands its own migration, then deliver fails: rollback (mode all, its version) compensates only that expand', async () => {
    logs.length = 0;
    const third = await releaseRun('5004', {
      version: '1.3',
      router: 'istio',
      migration: '2026_12_02_coupon',
      'expand-command': psql('expand-coupon.sql'),
      'migration-rollback-command': psql('rollback-coupon.sql'),
    });
    const log = logs.join('\n');
    expect(third.jobs.expand!.result, log).toBe('success');
    expect(third.jobs.deliver!.result, log).toBe('failure');
    expect(third.jobs.rollback!.steps.rollback!.with).toMatchObject({
      mode: 'all',
      version: '2026_12_02_coupon',
      release: third.jobs.prepare!.outputs.release,
    });
    expect(third.jobs.rollback!.result, log).toBe('success');
    expect(third.jobs.rollback!.outputs.result).toBe('rolled-back');
    expect(await hasColumn('coupon')).toBe(false);
    // Release 1 untouched: its migration and its live color.
    expect(await emailColumn()).toBe(true);
    expect(live()).toEqual({ color: 'green', greenImage: 'registry.example.com/checkout:1.1' });
  });
});
