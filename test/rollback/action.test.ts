import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type ActionRun, runAction as runActionEntry } from '../support/action-runner.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnCommandRunner } from '../../src/core/command-runner.js';
import { runPhase } from '../../src/core/migrate/index.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { Secrets } from '../../src/core/secrets.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { blueGreenFixtures, deliver, journalOf, journaledImage, journaledWeights, liveDeployment, liveWeights } from './harness.js';

/**
 * The action entry as the runner starts it: `node --import tsx src/actions/rollback.ts` with INPUT_*
 * variables (hyphens kept, as the runner sets them) and the GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and
 * GITHUB_STATE files; then its post step.
 */
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const psql = (file: string) => `psql -X -q -v ON_ERROR_STOP=1 -f ${FIXTURES}${file} $DATABASE_URL`;

let cluster: TestCluster;
let db: TestPostgres;
let dir: string;
beforeAll(async () => {
  [cluster, db] = await Promise.all([startTestCluster({ podReadyDelayMs: 20 }), startPostgres()]);
  dir = mkdtempSync(join(tmpdir(), 'pd-rollback-action-'));
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(readFileSync(`${FIXTURES}schema.sql`, 'utf8'));
  await client.end();
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), db?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runAction(inputs: Record<string, string>, opts: { post?: boolean; state?: string } = {}): Promise<ActionRun> {
  return runActionEntry({
    entry: 'src/actions/rollback.ts',
    inputs,
    dir,
    env: { GITHUB_RUN_ID: `9${++runs}00`, GITHUB_REPOSITORY: 'shop/platform' },
    ...(opts.post ? { post: { stateFile: opts.state! } } : {}),
  });
}
let runs = 0;

/** What a person could read: the log without the runner's own ::add-mask:: commands, the summary, the outputs. */
function expectNoSecret(run: ActionRun): void {
  const visible = [
    run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n'),
    run.summary,
    JSON.stringify(run.outputs),
  ].join('\n');
  for (const secret of [cluster.token, db.url, db.password, encodeURIComponent(db.password)]) expect(visible).not.toContain(secret);
}

describe('actions/rollback end to end', () => {
  const t = { namespace: 'e2e', service: 'checkout' };
  const f = blueGreenFixtures(t);
  const green = { namespace: 'e2e', name: 'checkout-green' };

  test('mode all: sets result and actions, writes the summary table, exits 0, prints no secret; its post step has nothing to do', async () => {
    await cluster.apply(f.objects);
    const secrets = new Secrets();
    secrets.add(db.url);
    const expanded = await runPhase({
      phase: 'expand',
      version: '2026_05_email',
      runId: 'run-900',
      command: psql('expand-email.sql').split(' '),
      databaseUrl: db.url,
      limits: {
        commandTimeoutMs: 60_000,
        lockTimeoutMs: 10_000,
        maxTransactionAgeMs: 60_000,
        statementLockTimeoutMs: 2_000,
        statementTimeoutMs: 60_000,
      },
      runner: spawnCommandRunner(),
      reporter: new MemoryReporter(),
      secrets,
    });
    expect(expanded.result).toBe('succeeded');
    await deliver(cluster, t, { runId: 'run-900', strategy: 'blue-green' }, async (s) => {
      await journaledImage(s, green, 'checkout:2.0');
      await journaledWeights(s, 'switch', f.router, { [f.blue]: 0, [f.green]: 100 });
    });

    const inputs = {
      kubeconfig: cluster.kubeconfig,
      namespace: 'e2e',
      service: 'checkout',
      mode: 'all',
      'database-url': db.url,
      'rollback-command': psql('rollback-email.sql'),
      reason: 'checkout errors after 2.0',
    };
    const run = await runAction(inputs);
    expect(run.code, run.stdout).toBe(0);
    console.log(run.stdout, '\n=====SUMMARY\n', run.summary);
    expect(run.outputs.result).toBe('rolled-back');
    const actions = JSON.parse(run.outputs.actions!) as { layer: string; entry: string; before: string; after: string }[];
    expect(actions.map((a) => [a.layer, a.entry])).toEqual([
      ['traffic', 'run-900/switch'],
      ['workload', 'run-900/image-checkout-green'],
      ['migration', expect.stringMatching(/^ledger\/\d+$/)],
    ]);
    expect(liveWeights(cluster, t)).toEqual([100, 0]);
    expect(liveDeployment(cluster, green).image).toBe('checkout:1.0');
    expect((await journalOf(cluster, t)).map((e) => e.status)).toEqual(['compensated', 'compensated']);

    expect(run.summary).toContain('Rollback of checkout');
    expect(run.summary).toContain('### What the rollback undid: checkout in e2e');
    expect(run.summary).toContain(`| 2 | workload | Deployment e2e/checkout-green | image-checkout-green | checkout:2.0 | checkout:1.0 |`);
    expect(run.summary).toContain('### Migration 2026_05_email: rollback succeeded');
    expect(run.summary).toContain('checkout errors after 2.0');
    expect(run.stdout).toContain('::add-mask::');
    expectNoSecret(run);

    const post = await runAction(inputs, { post: true, state: run.stateFile });
    expect(post.code, post.stdout).toBe(0);
    expect(post.stdout).not.toContain('::error::');
    expectNoSecret(post);
  });

  test('nothing recorded: exits 1 with the refusal, result nothing-to-do, no secret printed', async () => {
    await cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'e2e-empty' } });
    const run = await runAction({ kubeconfig: cluster.kubeconfig, namespace: 'e2e-empty', service: 'cart' });
    expect(run.code).toBe(1);
    expect(run.outputs).toEqual({ result: 'nothing-to-do', actions: '[]' });
    expect(run.stdout).toMatch(/::error::Refused: nothing is recorded for cart in e2e-empty/);
    expectNoSecret(run);
  });
});
