import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActionRun, startAction as startActionEntry } from '../support/action-runner.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createServer, type AddressInfo } from 'node:net';
import { makeSecrets, startSlack } from '../notify/fakes.js';
import { FIXTURES, createSchema, query, resetDatabase } from './harness.js';

/**
 * The action entry as the runner starts it: `node --import tsx src/actions/migrate.ts` with INPUT_*
 * variables, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_STATE files; then the post step.
 */
let db: TestPostgres;
let dir: string;
beforeAll(async () => {
  db = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'pd-migrate-action-'));
  await resetDatabase(db.url);
  await createSchema(db.url);
});
afterAll(async () => {
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function startAction(inputs: Record<string, string>, opts: { post?: boolean; state?: string } = {}) {
  return startActionEntry({
    entry: 'src/actions/migrate.ts',
    inputs,
    dir,
    env: { GITHUB_RUN_ID: '4242', GITHUB_REPOSITORY: 'shop/platform' },
    detached: true,
    ...(opts.post ? { post: { stateFile: opts.state! } } : {}),
  });
}

/** What a person could read: stdout without the runner's own ::add-mask:: commands. */
function visible(run: ActionRun): string {
  return [
    run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n'),
    run.summary,
    JSON.stringify(run.outputs),
  ].join('\n');
}

function expectNoSecret(text: string): void {
  for (const secret of [db.url, db.password, encodeURIComponent(db.password)]) expect(text).not.toContain(secret);
}

const VERSION = '2026_11_23_split_name';
const psql = (file: string) => `psql -X -q -v ON_ERROR_STOP=1 -f ${FIXTURES}${file} $DATABASE_URL`;

describe('actions/migrate end to end', () => {
  it('runs expand, sets result, phase, state and ledger outputs, writes the summary, and masks the URL', async () => {
    const run = await startAction({
      phase: 'expand',
      version: VERSION,
      command: psql('expand.sql'),
      'database-url': db.url,
      'run-id': 'e2e-1',
    }).done;
    expect(run.code).toBe(0);
    expect(run.outputs.result).toBe('succeeded');
    expect(run.outputs.phase).toBe('expand');
    expect(run.outputs.state).toBe('expand');
    const ledger = JSON.parse(run.outputs.ledger!) as { phase: string; status: string; runId: string }[];
    expect(ledger).toMatchObject([{ version: VERSION, phase: 'expand', status: 'succeeded', runId: 'e2e-1' }]);
    expect(run.summary).toContain(`### Migration ${VERSION}: expand succeeded`);
    expect(run.summary).toMatch(/\| 1 \| 2026_11_23_split_name \| expand \| succeeded \| e2e-1 \|/);
    expect(run.stdout).toContain('::add-mask::');
    expectNoSecret(visible(run));
    const columns = await query<{ column_name: string }>(
      db.url,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'users'`,
    );
    expect(columns.map((c) => c.column_name)).toContain('first_name');
  });

  it('fails the step with the reason when contract is not confirmed, and still sets the outputs', async () => {
    const run = await startAction({ phase: 'contract', version: VERSION, command: psql('contract.sql'), 'database-url': db.url }).done;
    expect(run.code).toBe(1);
    expect(run.outputs.result).toBe('refused');
    expect(run.stdout).toMatch(/::error::contract 2026_11_23_split_name refused: contract refused: contract is destructive/);
    expectNoSecret(visible(run));
  });

  it('fails with bad inputs, naming the input', async () => {
    const run = await startAction({ phase: 'shrink', version: VERSION, 'database-url': db.url }).done;
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("'phase': expected one of");
    expectNoSecret(visible(run));
  });

  it('an unreachable database: Slack hears how it ended after "In progress", result is set, and the post step raises no second error (issue 15)', async () => {
    const slack = await startSlack();
    try {
      const { webhookPath } = makeSecrets();
      // A port nothing listens on: the database is unreachable.
      const closed = await new Promise<number>((resolve) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
          const { port } = server.address() as AddressInfo;
          server.close(() => resolve(port));
        });
      });
      const inputs = {
        phase: 'expand',
        version: VERSION,
        command: psql('expand.sql'),
        'database-url': `postgresql://app:s3cret-pass@127.0.0.1:${closed}/shop`,
        'slack-webhook-url': `${slack.url}${webhookPath}`,
        service: 'checkout',
      };
      const main = startAction(inputs);
      const run = await main.done;
      expect(run.code).toBe(1);
      expect(run.outputs.result).toBe('failed');
      expect(run.stdout).toMatch(/::error::expand 2026_11_23_split_name failed: cannot connect to the database: connect ECONNREFUSED/);
      const texts = slack.requests.map((r) => JSON.stringify(r.json));
      expect(texts).toHaveLength(2);
      expect(texts[0]).toContain('In progress');
      expect(texts[1]).toContain('Failed');
      expect(texts[1]).toContain('cannot connect to the database');
      expect(visible(run)).not.toContain('s3cret-pass');

      const post = await startAction(inputs, { post: true, state: main.stateFile }).done;
      expect(post.code).toBe(0);
      expect(post.stdout).not.toContain('::error::');
      expect(post.stdout).not.toContain('::warning::');
      expect(post.stdout).toContain('the database is still unreachable');
      expect(visible(post)).not.toContain('s3cret-pass');
    } finally {
      await slack.stop();
    }
  });

  it('dry-run: reports the plan and changes nothing, anywhere (issue 21)', async () => {
    const run = await startAction({
      phase: 'expand',
      version: '2026_12_dry',
      command: psql('expand.sql'),
      'database-url': db.url,
      'dry-run': 'true',
    }).done;
    expect(run.code).toBe(0);
    expect(run.outputs.result).toBe('planned');
    expect(run.summary).toContain('dry run: would run expand command');
    const rows = await query(db.url, `SELECT 1 FROM progressive_delivery.migration_ledger WHERE version = '2026_12_dry'`);
    expect(rows).toEqual([]);
  });

  it('post step: a main step killed mid-phase leaves a running row, which the post step marks failed, stopping its statement', async () => {
    const runId = 'e2e-killed';
    const inputs = {
      phase: 'migrate',
      version: VERSION,
      command: `psql -X -q -c "SELECT pg_sleep(60)" $DATABASE_URL`,
      'database-url': db.url,
      'run-id': runId,
    };
    const main = startAction(inputs);
    const deadline = Date.now() + 30_000;
    while (
      (await query(db.url, `SELECT 1 FROM pg_stat_activity WHERE application_name = $1`, [`progressive-delivery migrate command ${runId}`]))
        .length === 0
    ) {
      if (Date.now() > deadline) throw new Error(`the main step never started its command:\n${await main.done.then((r) => r.stdout)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    process.kill(-main.child.pid!, 'SIGKILL');
    await main.done;
    const [running] = await query<{ status: string }>(
      db.url,
      `SELECT status FROM progressive_delivery.migration_ledger WHERE run_id = $1`,
      [runId],
    );
    expect(running!.status).toBe('running');

    const post = await startAction(inputs, { post: true, state: main.stateFile }).done;
    expect(post.code).toBe(0);
    expect(post.stdout).toMatch(/::warning::Stopped the database session\(s\) the cancelled command left running: pid \d+/);
    expect(post.stdout).toContain('::warning::The migrate of 2026_11_23_split_name was still running when the job ended: ledger row');
    const [marked] = await query<{ status: string; message: string }>(
      db.url,
      `SELECT status, message FROM progressive_delivery.migration_ledger WHERE run_id = $1`,
      [runId],
    );
    expect(marked).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/^cancelled: run e2e-killed ended while this phase was running/),
    });
    expect(await query(db.url, `SELECT 1 FROM pg_stat_activity WHERE application_name LIKE $1`, [`%${runId}`])).toEqual([]);
    expect(await query(db.url, `SELECT 1 FROM pg_locks WHERE locktype = 'advisory'`)).toEqual([]);
    expectNoSecret(visible(post));
  });
});
