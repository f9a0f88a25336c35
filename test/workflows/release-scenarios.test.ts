/**
 * What the reusable workflows do on every path of a release (issue 21), checked under GitHub's
 * semantics by simulate.ts: which jobs run, in which environment, with which inputs. `run:`
 * steps (the release id, the summary) really run; our actions' inputs are checked with the
 * actions' own input parsing (src/core/specs).
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { parseInputsWithFile } from '../../src/core/specs/delivery-file.js';
import { actionSpecs } from '../../src/core/specs/index.js';
import { callInputs, loadModels, ranJobs, simulate, type JobPlan, type Scenario, type WorkflowRun } from './simulate.js';
import { actionInputs, ownActionName } from './workflow-files.js';
import { parse as parseYaml } from 'yaml';

const DEPLOY = '.github/workflows/deploy.yml';
const ROLLBACK = '.github/workflows/rollback.yml';
const BLUE_GREEN = '.github/workflows/blue-green.yml';
const CANARY = '.github/workflows/canary.yml';
const EXAMPLE = '.github/workflows/examples/release-checkout.yml';
const models = loadModels([DEPLOY, ROLLBACK, BLUE_GREEN, CANARY, EXAMPLE]);
const deploy = models[DEPLOY]!;

const STAGING = {
  service: 'checkout',
  namespace: 'shop',
  environment: 'staging',
  image: 'registry.example.com/checkout',
  version: '1.25.0',
  strategy: 'blue-green',
  router: 'service',
};

/** The caller's checked-out repository: its delivery file gives what the inputs leave empty. */
const WORKSPACE = fileURLToPath(new URL('./fixtures/workspace/', import.meta.url));

const PRODUCTION = {
  service: 'checkout',
  namespace: 'shop',
  environment: 'production',
  image: 'registry.example.com/checkout',
  version: '1.25.0',
  strategy: 'canary',
  config: 'deploy/canary.yaml',
  validation: 'deploy/validation.yaml',
  'prometheus-address': 'http://prometheus.monitoring:9090',
  migration: '2026_11_23_split_name',
  'expand-command': 'npx knex migrate:up 2026_11_23_split_name_expand.js',
  'contract-command': 'npx knex migrate:up 2026_11_23_split_name_contract.js',
  'migration-rollback-command': 'npx knex migrate:down 2026_11_23_split_name_expand.js',
  contract: true,
  'contract-environment': 'production-contract',
};

const SECRETS = {
  KUBECONFIG: 'apiVersion: v1\nkind: Config\nclusters: []\n',
  DATABASE_URL: 'postgresql://app:secret@db.internal:5432/shop',
};

/** Every action step ends well, with the outputs a good release gives. */
const GOOD: Record<string, JobPlan> = {
  expand: { outputs: { expand: { result: 'succeeded', state: 'expand' } } },
  deliver: {
    outputs: {
      canary: { result: 'promoted', weight: '100' },
      'blue-green': { result: 'switched', 'active-color': 'green', 'previous-color': 'blue' },
      validate: { result: 'Successful' },
    },
  },
  contract: { outputs: { contract: { result: 'succeeded', state: 'contract' } } },
  rollback: { outputs: { rollback: { result: 'rolled-back' } } },
};

function plans(...overrides: Record<string, JobPlan>[]): Record<string, JobPlan> {
  const out: Record<string, JobPlan> = structuredClone(GOOD);
  for (const o of overrides) {
    for (const [job, plan] of Object.entries(o)) {
      out[job] = {
        ...out[job],
        ...plan,
        outputs: {
          ...out[job]?.outputs,
          ...Object.fromEntries(Object.entries(plan.outputs ?? {}).map(([s, v]) => [s, { ...out[job]?.outputs?.[s], ...v }])),
        },
      };
    }
  }
  return out;
}

function release(inputs: Scenario['inputs'], ...overrides: Record<string, JobPlan>[]): Promise<WorkflowRun> {
  return simulate(deploy, { trigger: 'call', inputs, secrets: SECRETS, jobs: plans(...overrides) });
}

/** The inputs of one action step, as the action parses them (the delivery file of WORKSPACE, then the defaults), or the parse error. */
async function actionParse(
  run: WorkflowRun,
  job: string,
  step: string,
): Promise<{ ok: true; inputs: Record<string, unknown> } | { ok: false; error: string }> {
  const s = run.jobs[job]!.steps[step]!;
  const name = ownActionName(s.uses!)!;
  try {
    return { ok: true, inputs: (await parseInputsWithFile(actionSpecs[name]!, s.with, WORKSPACE)).inputs as Record<string, unknown> };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

function withOf(run: WorkflowRun, job: string, step: string): Record<string, string> {
  const s = run.jobs[job]?.steps[step];
  expect(s?.ran, `${job}.${step} ran`).toBe(true);
  return s!.with;
}

describe('deploy.yml: rollback undoes this release only, and only when it changed something it can undo (issue 21, items 1 and 2)', () => {
  it('a release without a migration that fails in deliver rolls back with mode auto, which needs no database', async () => {
    const run = await release(STAGING, { deliver: { failAt: 'blue-green', outputs: { 'blue-green': { result: 'rolled-back' } } } });
    expect(run.jobs.rollback!.ran).toBe(true);
    const given = withOf(run, 'rollback', 'rollback');
    expect(given.mode).toBe('auto');
    expect(given['database-url']).toBe('');
    expect(await actionParse(run, 'rollback', 'rollback')).toMatchObject({ ok: true });
  });

  it('the rollback names this release (one id for every job of this call), so a previous good release is never the target', async () => {
    const run = await release(STAGING, { deliver: { failAt: 'blue-green' } });
    const id = run.jobs.prepare!.outputs.release!;
    expect(id).toMatch(/^[A-Za-z0-9._-]{1,63}$/);
    expect(id).toContain('17000000001');
    expect(withOf(run, 'deliver', 'blue-green').release).toBe(id);
    expect(withOf(run, 'rollback', 'rollback').release).toBe(id);
  });

  it('expand fails (migrate ran its own compensation) → deliver and rollback do not run', async () => {
    const run = await release(PRODUCTION, { expand: { failAt: 'expand', outputs: { expand: { result: 'rolled-back' } } } });
    expect(run.jobs.expand!.result).toBe('failure');
    expect(run.jobs.deliver!.ran).toBe(false);
    expect(run.jobs.rollback!.ran).toBe(false);
    expect(run.jobs.summary!.ran).toBe(true);
    expect(run.jobs.summary!.result).toBe('failure');
  });

  it('deliver promoted, validation fails → rollback runs with mode all, this release and the migration version', async () => {
    const run = await release(PRODUCTION, { deliver: { failAt: 'validate', outputs: { validate: { result: 'Failed' } } } });
    expect(run.jobs.contract!.ran).toBe(false);
    const given = withOf(run, 'rollback', 'rollback');
    expect(given).toMatchObject({
      mode: 'all',
      release: run.jobs.prepare!.outputs.release,
      version: '2026_11_23_split_name',
      'database-url': SECRETS.DATABASE_URL,
    });
    // The expand recorded its compensation in the ledger: the rollback passes no command of its own.
    expect(given).not.toHaveProperty('rollback-command');
    expect(await actionParse(run, 'rollback', 'rollback')).toMatchObject({ ok: true });
  });

  it('deliver fails before its first write (lock timeout, bad kubeconfig) → rollback of this release, which has nothing to undo', async () => {
    const run = await release(STAGING, { deliver: { failAt: 'blue-green', outputs: { 'blue-green': { result: 'failed' } } } });
    expect(withOf(run, 'rollback', 'rollback').release).toBe(run.jobs.prepare!.outputs.release);
  });

  it('every job of the release gets the same release id, and ids differ per environment and per caller run but not per attempt', async () => {
    const a = await release(PRODUCTION);
    const id = a.jobs.prepare!.outputs.release!;
    expect(withOf(a, 'expand', 'expand').release).toBe(id);
    expect(withOf(a, 'deliver', 'canary').release).toBe(id);
    expect(withOf(a, 'contract', 'contract').release).toBe(id);
    const staging = await release({ ...PRODUCTION, environment: 'staging' });
    expect(staging.jobs.prepare!.outputs.release).not.toBe(id);
    const again = await simulate(deploy, {
      trigger: 'call',
      inputs: PRODUCTION,
      secrets: SECRETS,
      jobs: plans(),
      github: { run_attempt: '2' },
    });
    expect(again.jobs.prepare!.outputs.release).toBe(id);
    const next = await simulate(deploy, {
      trigger: 'call',
      inputs: PRODUCTION,
      secrets: SECRETS,
      jobs: plans(),
      github: { run_id: '17000000002' },
    });
    expect(next.jobs.prepare!.outputs.release).not.toBe(id);
  });

  it('an explicit release is used as given; a long or odd environment still gives a valid id', async () => {
    const given = await release({ ...STAGING, release: 'checkout-1.25.0' });
    expect(given.jobs.prepare!.outputs.release).toBe('checkout-1.25.0');
    const odd = await release({
      ...STAGING,
      service: 'a-very-long-service-name-for-the-checkout-of-the-shop',
      environment: 'Production EU west with a long environment name',
    });
    expect(odd.jobs.prepare!.outputs.release).toMatch(/^[A-Za-z0-9._-]{1,63}$/);
    expect(await actionParse(odd, 'deliver', 'blue-green')).toMatchObject({ ok: true });
  });

  it('a bad explicit release stops the release before anything runs', async () => {
    const run = await release({ ...STAGING, release: 'not a valid id!' });
    expect(run.jobs.prepare!.result).toBe('failure');
    expect(ranJobs(run)).toEqual(['prepare', 'summary']);
  });
});

describe('deploy.yml: after contract, fix forward (item 3)', () => {
  it('contract fails → no rollback; the summary fails the release and says to fix forward', async () => {
    const run = await release(PRODUCTION, { contract: { failAt: 'contract', outputs: { contract: { result: 'failed' } } } });
    expect(run.jobs.rollback!.ran).toBe(false);
    expect(run.jobs.summary!.result).toBe('failure');
    expect(
      Object.values(run.jobs.summary!.steps)
        .map((s) => s.log ?? '')
        .join(''),
    ).toMatch(/fix forward/i);
  });

  it('the contract approval is rejected or times out → contract does not run, nothing is rolled back', async () => {
    const run = await release(PRODUCTION, { 'approve-contract': { result: 'failure' } });
    expect(run.jobs['approve-contract']!.ran).toBe(true);
    expect(run.jobs.contract!.ran).toBe(false);
    expect(run.jobs.rollback!.ran).toBe(false);
  });

  it('the release is cancelled while contract runs → no rollback', async () => {
    const run = await simulate(deploy, {
      trigger: 'call',
      inputs: PRODUCTION,
      secrets: SECRETS,
      jobs: plans({ contract: { result: 'cancelled' } }),
    });
    expect(run.jobs.rollback!.ran).toBe(false);
  });
});

describe('deploy.yml: a cancelled run', () => {
  it('cancelled while deliver runs → the rollback of this release still runs (the post step restored traffic only)', async () => {
    const run = await simulate(deploy, { trigger: 'call', inputs: PRODUCTION, secrets: SECRETS, jobs: plans(), cancelled: 'deliver' });
    expect(run.jobs.deliver!.result).toBe('cancelled');
    expect(run.jobs.contract!.ran).toBe(false);
    expect(withOf(run, 'rollback', 'rollback')).toMatchObject({
      mode: 'all',
      release: run.jobs.prepare!.outputs.release,
      version: PRODUCTION.migration,
    });
  });

  it('cancelled while expand runs → neither deliver nor rollback runs', async () => {
    const run = await simulate(deploy, { trigger: 'call', inputs: PRODUCTION, secrets: SECRETS, jobs: plans(), cancelled: 'expand' });
    expect(run.jobs.expand!.result).toBe('cancelled');
    expect(run.jobs.deliver!.ran).toBe(false);
    expect(run.jobs.rollback!.ran).toBe(false);
  });
});

describe('deploy.yml: dry run changes nothing (item 4)', () => {
  it('expand runs as a dry run; no validation, contract or rollback', async () => {
    const run = await release({ ...PRODUCTION, 'dry-run': true }, { deliver: { outputs: { canary: { result: 'planned' } } } });
    expect(withOf(run, 'expand', 'expand')['dry-run']).toBe('true');
    expect(withOf(run, 'deliver', 'canary')['dry-run']).toBe('true');
    expect(run.jobs.deliver!.steps.validate!.ran).toBe(false);
    expect(run.jobs['approve-contract']!.ran).toBe(false);
    expect(run.jobs.contract!.ran).toBe(false);
    expect(run.jobs.rollback!.ran).toBe(false);
  });

  it('a dry run whose deliver fails rolls nothing back', async () => {
    const run = await release({ ...PRODUCTION, 'dry-run': true }, { deliver: { failAt: 'canary' } });
    expect(run.jobs.rollback!.ran).toBe(false);
  });
});

describe('deploy.yml: contract only after a delivered, validated release (item 5)', () => {
  it('a paused canary is not delivered: no validation, no contract, no rollback', async () => {
    const run = await release(PRODUCTION, { deliver: { outputs: { canary: { result: 'paused', weight: '20' } } } });
    expect(run.jobs.deliver!.result).toBe('success');
    expect(run.jobs.deliver!.steps.validate!.ran).toBe(false);
    expect(run.jobs['approve-contract']!.ran).toBe(false);
    expect(run.jobs.contract!.ran).toBe(false);
    expect(run.jobs.rollback!.ran).toBe(false);
    expect(run.jobs.summary!.steps.summary!.summary).toMatch(/paused/);
  });

  it('contract proves the rollout: require-rollout and expected-image with a kubeconfig', async () => {
    const run = await release(PRODUCTION);
    const given = withOf(run, 'contract', 'contract');
    expect(given).toMatchObject({
      'require-rollout': 'shop/checkout',
      'expected-image': 'registry.example.com/checkout:1.25.0',
      kubeconfig: SECRETS.KUBECONFIG,
      confirm: 'contract',
    });
    expect(await actionParse(run, 'contract', 'contract')).toMatchObject({ ok: true });
  });

  it('blue-green: contract requires the color now live', async () => {
    const run = await release({ ...PRODUCTION, strategy: 'blue-green' });
    expect(withOf(run, 'contract', 'contract')['require-rollout']).toBe('shop/checkout-green');
  });

  it('an explicit rollout list is passed as given', async () => {
    const run = await release({ ...PRODUCTION, 'require-rollout': 'shop/checkout-api,shop/checkout-worker' });
    expect(withOf(run, 'contract', 'contract')['require-rollout']).toBe('shop/checkout-api,shop/checkout-worker');
  });
});

describe('rollback.yml (items 6 and 7)', () => {
  const rollback = models[ROLLBACK]!;

  it('checks out the caller’s repository before the rollback step, so file-based commands exist', async () => {
    const run = await simulate(rollback, {
      trigger: 'dispatch',
      inputs: { service: 'checkout', environment: 'production', reason: 'bad release' },
      secrets: SECRETS,
    });
    const steps = Object.values(run.jobs.rollback!.steps);
    const checkout = steps.findIndex((s) => s.uses?.startsWith('actions/checkout@'));
    const ours = steps.findIndex((s) => s.id === 'rollback');
    expect(checkout).toBeGreaterThanOrEqual(0);
    expect(checkout).toBeLessThan(ours);
  });

  it('a dispatched migration rollback gets its command, version and release', async () => {
    const run = await simulate(rollback, {
      trigger: 'dispatch',
      inputs: {
        service: 'checkout',
        environment: 'production',
        reason: 'bad migration',
        mode: 'all',
        release: 'checkout-production-17000000001',
        version: '2026_11_23_split_name',
        'rollback-command': 'npx knex migrate:down x.js',
      },
      secrets: SECRETS,
    });
    expect(withOf(run, 'rollback', 'rollback')).toMatchObject({
      mode: 'all',
      release: 'checkout-production-17000000001',
      version: '2026_11_23_split_name',
      'rollback-command': 'npx knex migrate:down x.js',
    });
    expect(await actionParse(run, 'rollback', 'rollback')).toMatchObject({ ok: true });
  });

  it('does not queue behind releases: its concurrency group is not the release group', async () => {
    const inputs = { service: 'checkout', environment: 'production', reason: 'now' };
    const r = await simulate(rollback, { trigger: 'dispatch', inputs, secrets: SECRETS });
    const d = await release(PRODUCTION);
    expect(r.concurrency).toBeDefined();
    expect(r.concurrency).not.toBe(d.concurrency);
    expect(r.concurrency).toContain('checkout');
    expect(r.concurrency).toContain('production');
  });
});

describe('deploy.yml: contract gets its secrets from the release environment (item 8)', () => {
  it('the approval runs in contract-environment and touches nothing; contract itself runs where expand ran', async () => {
    const run = await release(PRODUCTION);
    expect(run.jobs['approve-contract']!.environment).toBe('production-contract');
    expect(run.jobs.contract!.environment).toBe(run.jobs.expand!.environment);
    expect(run.jobs.contract!.environment).toBe('production');
    const approval = deploy.jobs.find((j) => j.id === 'approve-contract')!;
    expect(JSON.stringify(approval)).not.toMatch(/secrets\./);
    expect(approval.steps.every((s) => s.uses === undefined)).toBe(true);
  });

  it('without contract-environment there is no approval job', async () => {
    const { 'contract-environment': _, ...inputs } = PRODUCTION;
    const run = await release(inputs);
    expect(run.jobs['approve-contract']!.ran).toBe(false);
    expect(run.jobs.contract!.ran).toBe(true);
  });
});

describe('deploy.yml: what would mislead', () => {
  it('the rollback runs in rollback-environment when given (no reviewers waiting), else in the release environment', async () => {
    const fail = { deliver: { failAt: 'canary' } };
    const own = await release({ ...PRODUCTION, 'rollback-environment': 'production-rollback' }, fail);
    expect(own.jobs.rollback!.environment).toBe('production-rollback');
    const same = await release(PRODUCTION, fail);
    expect(same.jobs.rollback!.environment).toBe('production');
  });

  it('two calls in one caller run (staging, then production) get different run ids for every action', async () => {
    const staging = await release({ ...PRODUCTION, environment: 'staging' });
    const production = await release(PRODUCTION);
    for (const [job, step] of [
      ['expand', 'expand'],
      ['deliver', 'canary'],
      ['contract', 'contract'],
    ] as const) {
      const a = withOf(staging, job, step)['run-id'];
      const b = withOf(production, job, step)['run-id'];
      expect(a).toMatch(/^[A-Za-z0-9._-]{1,63}$/);
      expect(a).not.toBe(b);
    }
    expect(withOf(production, 'deliver', 'canary')['run-id']).not.toBe(withOf(production, 'expand', 'expand')['run-id']);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression ${{ }}, not a template
  it('every job condition is an expression, not a string (a multi-line `${{ }}` in a folded scalar is a string, always true)', () => {
    for (const model of Object.values(models)) {
      for (const job of model.jobs) {
        expect(job.if, `${model.name} ${job.id}`).not.toMatch(/^format\(/);
        for (const step of job.steps) expect(step.if, `${model.name} ${job.id}.${step.id}`).not.toMatch(/^format\(/);
      }
    }
  });

  it('no queue: max (a pending release is replaced by a newer one; documented)', () => {
    expect(JSON.stringify(deploy.concurrency)).not.toContain('"queue"');
  });

  it('a hand-run deploy.yml evaluates every input the actions get, and they parse', async () => {
    const { router: _, ...asked } = STAGING; // a dispatch does not ask for the router: the delivery file has it
    const run = await simulate(deploy, { trigger: 'dispatch', inputs: asked, secrets: SECRETS, jobs: plans() });
    expect(run.jobs.deliver!.ran).toBe(true);
    expect(await actionParse(run, 'deliver', 'blue-green')).toMatchObject({ ok: true });
  });
});

describe('blue-green.yml: auto-rollback under both triggers', () => {
  const bg = models[BLUE_GREEN]!;
  const autoRollback = async (run: WorkflowRun) => {
    const parsed = await actionParse(run, 'blue-green', 'switch');
    expect(parsed.ok).toBe(true);
    return parsed.ok ? parsed.inputs['auto-rollback'] : undefined;
  };
  it('dispatch (where auto-rollback is not an input) switches back on failure: empty, so the file or the default (on)', async () => {
    const run = await simulate(bg, { trigger: 'dispatch', inputs: { service: 'checkout', environment: 'production' }, secrets: SECRETS });
    expect(withOf(run, 'blue-green', 'switch')['auto-rollback']).toBe('');
    expect(await autoRollback(run)).toBe(true);
  });
  it('call: false turns it off; the default leaves it to the file, else on', async () => {
    const base = { service: 'checkout', environment: 'production' };
    expect(await autoRollback(await simulate(bg, { trigger: 'call', inputs: base }))).toBe(true);
    const off = await simulate(bg, { trigger: 'call', inputs: { ...base, 'auto-rollback': false } });
    expect(withOf(off, 'blue-green', 'switch')['auto-rollback']).toBe('false');
    expect(await autoRollback(off)).toBe(false);
  });
});

describe('blue-green.yml and canary.yml pass a release through', () => {
  it.each([
    [BLUE_GREEN, 'blue-green', 'switch'],
    [CANARY, 'canary', 'canary'],
  ] as const)('%s', async (path, job, step) => {
    const base = { service: 'checkout', environment: 'production', release: 'checkout-1.25.0' };
    const inputs: Scenario['inputs'] = path === CANARY ? { ...base, image: 'registry.example.com/checkout:1.25.0' } : base;
    for (const trigger of ['call', 'dispatch'] as const) {
      const run = await simulate(models[path]!, { trigger, inputs, secrets: SECRETS });
      expect(withOf(run, job, step).release, trigger).toBe('checkout-1.25.0');
      expect(await actionParse(run, job, step), trigger).toMatchObject({ ok: true });
    }
  });
});

describe('deploy.yml: hygiene', () => {
  it('a cancelled expand does not let deliver run (the run cancelled, or the job alone, as a timeout ends it)', async () => {
    for (const cancelled of [true, false]) {
      const run = await simulate(deploy, {
        trigger: 'call',
        inputs: PRODUCTION,
        secrets: SECRETS,
        jobs: plans({ expand: { result: 'cancelled' } }),
        cancelled,
      });
      expect(run.jobs.deliver!.ran, `run cancelled: ${cancelled}`).toBe(false);
    }
  });

  it('a strategy typo under workflow_call stops the release before anything runs', async () => {
    const run = await release({ ...STAGING, strategy: 'bluegreen' });
    expect(run.jobs.prepare!.result).toBe('failure');
    expect(run.jobs.deliver!.ran).toBe(false);
    expect(run.jobs.rollback!.ran).toBe(false);
    expect(
      Object.values(run.jobs.prepare!.steps)
        .map((s) => s.log)
        .join(''),
    ).toMatch(/strategy/);
  });

  it('a migration without its commands stops the release before anything runs', async () => {
    const { 'migration-rollback-command': _, ...inputs } = PRODUCTION;
    const run = await release(inputs);
    expect(run.jobs.prepare!.result).toBe('failure');
    expect(run.jobs.expand!.ran).toBe(false);
  });

  it('migrate is told the service', async () => {
    const run = await release(PRODUCTION);
    expect(withOf(run, 'expand', 'expand').service).toBe('checkout');
    expect(withOf(run, 'contract', 'contract').service).toBe('checkout');
    expect(await actionParse(run, 'expand', 'expand')).toMatchObject({ ok: true });
  });

  it('the summary shows the expand and contract results', async () => {
    const run = await release(PRODUCTION);
    const summary = run.jobs.summary!.steps.summary!.summary!;
    expect(summary).toMatch(/Expand.*\| success \| succeeded \|/);
    expect(summary).toMatch(/Contract.*\| success \| succeeded \|/);
    expect(summary).toContain(run.jobs.prepare!.outputs.release!);
  });

  it('checkout takes a ref, so an older version’s config and migrations can be redeployed', async () => {
    const run = await release({ ...PRODUCTION, ref: 'v1.24.0' });
    for (const job of ['expand', 'deliver', 'contract']) {
      const checkout = Object.values(run.jobs[job]!.steps).find((s) => s.uses?.startsWith('actions/checkout@'))!;
      expect(checkout.with.ref, job).toBe('v1.24.0');
    }
  });

  it('validation gets service, namespace and version as arguments', async () => {
    const run = await release(PRODUCTION);
    const parsed = await actionParse(run, 'deliver', 'validate');
    expect(parsed).toMatchObject({ ok: true, inputs: { args: { service: 'checkout', namespace: 'shop', version: '1.25.0' } } });
  });

  it('a version such as 1.10 stays text in the validation arguments', async () => {
    const run = await release({ ...PRODUCTION, version: '1.10' });
    expect(await actionParse(run, 'deliver', 'validate')).toMatchObject({ ok: true, inputs: { args: { version: '1.10' } } });
  });

  it('one GitHub deployment per release: only deliver records one (and the rollback, when it runs)', async () => {
    const recorders = (run: WorkflowRun) =>
      Object.values(run.jobs).flatMap((j) =>
        Object.values(j.steps)
          .filter((s) => s.ran && (s.with['github-token'] ?? '') !== '')
          .map((s) => `${j.id}.${s.id}`),
      );
    expect(recorders(await release(PRODUCTION))).toEqual(['deliver.canary']);
    expect(recorders(await release(PRODUCTION, { deliver: { failAt: 'validate' } }))).toEqual(['deliver.canary', 'rollback.rollback']);
  });

  it('the summary job asks for no permissions', () => {
    const summary = deploy.jobs.find((j) => j.id === 'summary')!;
    expect(summary.permissions).toEqual({});
  });

  it('every action step of a good release passes the action’s own input parsing', async () => {
    for (const inputs of [STAGING, PRODUCTION, { ...PRODUCTION, strategy: 'blue-green' }]) {
      const run = await release(inputs);
      for (const job of Object.values(run.jobs)) {
        for (const step of Object.values(job.steps)) {
          if (!step.ran || !step.uses || !ownActionName(step.uses)) continue;
          expect(await actionParse(run, job.id, step.id), `${job.id}.${step.id}`).toMatchObject({ ok: true });
          const declared = actionInputs(ownActionName(step.uses)!).declared;
          expect(Object.keys(step.with).filter((k) => !declared.has(k))).toEqual([]);
        }
      }
    }
  });
});

describe('examples/release-checkout.yml is safe to copy', () => {
  const example = models[EXAMPLE]!;

  it('a push releases without a migration and without contract', () => {
    const production = callInputs(example, 'production', { trigger: 'call', inputs: {} });
    expect(production.migration ?? '').toBe('');
    expect(production.contract ?? false).toBe(false);
  });

  it('a hand-run release with a migration passes it, with its commands, to production only', async () => {
    const inputs = { migration: '2026_11_23_split_name', contract: true };
    const production = callInputs(example, 'production', { trigger: 'dispatch', inputs });
    expect(production).toMatchObject({ migration: '2026_11_23_split_name', contract: true });
    const run = await simulate(deploy, { trigger: 'call', inputs: production, secrets: SECRETS, jobs: plans() });
    expect(ranJobs(run)).toEqual(['prepare', 'expand', 'deliver', 'approve-contract', 'contract', 'summary']);
    expect(withOf(run, 'expand', 'expand').command).toContain('2026_11_23_split_name');
    const staging = callInputs(example, 'staging', { trigger: 'dispatch', inputs });
    expect(staging.migration ?? '').toBe('');
  });

  it('staging fails in deliver → its rollback needs no database', async () => {
    const staging = callInputs(example, 'staging', { trigger: 'call', inputs: {} });
    const run = await simulate(deploy, {
      trigger: 'call',
      inputs: staging,
      secrets: SECRETS,
      jobs: plans({ deliver: { failAt: 'blue-green' } }),
    });
    expect(await actionParse(run, 'rollback', 'rollback')).toMatchObject({ ok: true });
    expect(withOf(run, 'rollback', 'rollback').mode).toBe('auto');
  });
});

describe('third-party actions', () => {
  it('each is pinned to one ref across every workflow (ci.yml too)', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { ROOT } = await import('./workflow-files.js');
    const dirs = ['.github/workflows', '.github/workflows/examples'];
    const refs = new Map<string, Set<string>>();
    for (const dir of dirs) {
      for (const file of readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.yml'))) {
        const doc = parseYaml(readFileSync(join(ROOT, dir, file), 'utf8')) as any;
        for (const job of Object.values<any>(doc.jobs ?? {})) {
          for (const step of job.steps ?? []) {
            const m = typeof step.uses === 'string' ? /^([\w.-]+\/[\w.-]+)@(.+)$/.exec(step.uses) : null;
            if (!m || m[1]!.startsWith('$')) continue;
            refs.set(m[1]!, new Set([...(refs.get(m[1]!) ?? []), m[2]!]));
          }
        }
      }
    }
    expect(refs.size).toBeGreaterThan(0);
    for (const [action, set] of refs) expect([...set], action).toHaveLength(1);
  });
});
