import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnCommandRunner } from '../../src/core/command-runner.js';
import { readLedger, runPhase } from '../../src/core/migrate/index.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { Secrets } from '../../src/core/secrets.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import {
  blueGreenFixtures,
  deliver,
  journalOf,
  journaledImage,
  journaledWeights,
  liveDeployment,
  liveWeights,
  rollBack,
  type RollbackRun,
} from './harness.js';

/**
 * The migration path against a real PostgreSQL: a phase run by migrate (real SQL files through
 * psql) and recorded in its ledger, then compensated by the rollback through migrate's own
 * rollback phase; and a saga of migration + workload + traffic undone in reverse.
 */
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const psql = (file: string) => `psql -X -q -v ON_ERROR_STOP=1 -f ${FIXTURES}${file} $DATABASE_URL`;

let cluster: TestCluster;
let db: TestPostgres;
beforeAll(async () => {
  [cluster, db] = await Promise.all([startTestCluster({ podReadyDelayMs: 20 }), startPostgres()]);
  await query(readFileSync(`${FIXTURES}schema.sql`, 'utf8'));
  await cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db' } });
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), db?.stop()]);
});

async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function columns(): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}

async function ledger(version: string) {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await readLedger(client, version);
  } finally {
    await client.end();
  }
}

/** An expand phase, run by migrate's runPhase as actions/migrate runs it. */
async function expand(
  version: string,
  file: string,
  runId: string,
  extra: { release?: string; rollbackFile?: string; phase?: 'expand' | 'contract' } = {},
): Promise<void> {
  const secrets = new Secrets();
  secrets.add(db.url);
  const outcome = await runPhase({
    phase: extra.phase ?? 'expand',
    version,
    runId,
    release: extra.release,
    confirm: 'contract',
    rollbackCommand: extra.rollbackFile ? psql(extra.rollbackFile).split(' ') : undefined,
    command: psql(file).split(' '),
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
  expect(outcome.result).toBe('succeeded');
}

function expectNoSecret(run: RollbackRun): void {
  const visible = [run.log, run.summary, JSON.stringify(run.outputs), run.failure?.message ?? ''].join('\n');
  for (const secret of [db.url, db.password, encodeURIComponent(db.password)]) expect(visible).not.toContain(secret);
}

describe('mode migration, after expand', () => {
  const t = { namespace: 'db', service: 'orders' };
  const VERSION = '2026_03_email';

  test('runs the compensating migration against PostgreSQL; the ledger shows it; run twice is nothing-to-do', async () => {
    await expand(VERSION, 'expand-email.sql', 'run-600');
    expect(await columns()).toContain('customer_email');

    const inputs = {
      mode: 'migration',
      version: VERSION,
      'database-url': db.url,
      'rollback-command': psql('rollback-email.sql'),
      reason: 'email column breaks reports',
    };
    const run = await rollBack(cluster, t, inputs, { runId: 'run-rb-601' });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('rolled-back');
    expect(await columns()).not.toContain('customer_email');
    const rows = await ledger(VERSION);
    expect(rows.map((r) => [r.phase, r.status, r.compensates, r.runId])).toEqual([
      ['expand', 'rolled-back', null, 'run-600'],
      ['rollback', 'succeeded', 'expand', 'run-rb-601'],
    ]);
    expect(run.actions).toEqual([
      {
        entry: `ledger/${rows[1]!.id}`,
        entries: [],
        layer: 'migration',
        step: 'rollback expand',
        object: 'database',
        before: `expand of ${VERSION} succeeded (ledger row ${rows[0]!.id})`,
        after: `expand of ${VERSION} rolled-back (ledger row ${rows[1]!.id}); the version is now at none`,
      },
    ]);
    expect(run.summary).toContain(`| 1 | migration | database | rollback expand |`);
    expectNoSecret(run);

    const twice = await rollBack(cluster, t, inputs, { runId: 'run-rb-602' });
    expect(twice.failure).toBeUndefined();
    expect(twice.outputs.result).toBe('nothing-to-do');
    expect(twice.log).toContain(`no phase of ${VERSION} changed something that is not compensated already`);
    expect(await ledger(VERSION)).toHaveLength(2);
    expectNoSecret(twice);
  });

  test('a version the ledger does not know is refused; a failing rollback-command fails with the ledger saying so', async () => {
    const unknown = await rollBack(cluster, t, {
      mode: 'migration',
      version: 'never_ran',
      'database-url': db.url,
      'rollback-command': psql('rollback-email.sql'),
    });
    expect(unknown.outputs.result).toBe('nothing-to-do');
    expect(unknown.failure!.message).toContain('Refused: nothing is recorded for orders in db');
    expect(unknown.log).toContain('the migration ledger has no row of version never_ran');
    expect(await ledger('never_ran')).toEqual([]);

    await expand('2026_03_broken', 'expand-email.sql', 'run-610');
    const broken = await rollBack(cluster, t, {
      mode: 'migration',
      version: '2026_03_broken',
      'database-url': db.url,
      'rollback-command': psql('broken.sql'),
    });
    expect(broken.outputs.result).toBe('failed');
    expect(broken.failure!.message).toMatch(
      /the compensating migration of 2026_03_broken failed: compensating expand of 2026_03_broken failed: rollback-command .*exited with code 3/,
    );
    expect(broken.failure!.message).toContain('no_such_table');
    expect((await ledger('2026_03_broken')).map((r) => [r.phase, r.status])).toEqual([
      ['expand', 'succeeded'],
      ['rollback', 'failed'],
    ]);
    expectNoSecret(broken);
    // leave the schema as the saga test expects it
    await query('ALTER TABLE orders DROP COLUMN customer_email');
  });
});

describe('mode migration: the release is the unit of undo (issue 20)', () => {
  const t = { namespace: 'db', service: 'orders' };

  test('a release whose expand was refused (nothing written) compensates nothing: the older, finished version is untouched', async () => {
    // Release r-1 finished 2026_05_a: expand, then contract (which drops the column it added, as a contract drops).
    await expand('2026_05_a', 'expand-email.sql', 'run-800', { release: 'r-1', rollbackFile: 'rollback-email.sql' });
    await expand('2026_05_a', 'rollback-email.sql', 'run-801', { release: 'r-1', phase: 'contract' });
    // Release r-2's migrate of 2026_05_b is refused (its expand never ran): nothing is written.
    const secrets = new Secrets();
    secrets.add(db.url);
    const refused = await runPhase({
      phase: 'migrate',
      version: '2026_05_b',
      runId: 'run-802',
      release: 'r-2',
      command: ['true'],
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
    expect(refused.result).toBe('refused');
    const before = await ledger('2026_05_a');

    // What deploy.yml's rollback job passes: mode, release, version, database-url; no command.
    const run = await rollBack(cluster, t, { mode: 'migration', release: 'r-2', version: '2026_05_b', 'database-url': db.url });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('nothing-to-do');
    expect(run.log).toContain(
      'release r-2 has no row of version 2026_05_b in the migration ledger: it changed nothing in this database, so nothing was touched',
    );
    expect(await ledger('2026_05_a')).toEqual(before);
    expect(await ledger('2026_05_b')).toEqual([]);

    // Asked for r-1 itself, the contract is irreversible: refused, naming what it dropped, nothing run.
    const finished = await rollBack(cluster, t, { mode: 'migration', release: 'r-1', 'database-url': db.url });
    expect(finished.outputs.result).toBe('failed');
    expect(finished.failure!.message).toContain('contract is irreversible: it dropped column public.orders.customer_email text null');
    expect(await ledger('2026_05_a')).toEqual(before);
  });

  test('without rollback-command each phase is compensated with its own recorded command; contract only with contract-rollback-command and confirm: data-loss', async () => {
    await expand('2026_06_c', 'expand-email.sql', 'run-900', { release: 'r-9', rollbackFile: 'rollback-email.sql' });
    expect(await columns()).toContain('customer_email');
    const unconfirmed = rollBack(cluster, t, {
      mode: 'migration',
      release: 'r-9',
      'database-url': db.url,
      'contract-rollback-command': psql('expand-email.sql'),
    });
    await expect(unconfirmed).rejects.toThrow(
      "'contract-rollback-command' re-creates what a contract dropped, whose data is gone; it runs only with confirm: data-loss",
    );

    const run = await rollBack(cluster, t, { mode: 'migration', release: 'r-9', 'database-url': db.url }, { runId: 'run-rb-901' });
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('rolled-back');
    expect(run.actions.map((a) => a.step)).toEqual(['rollback expand']);
    expect(await columns()).not.toContain('customer_email');
    const rows = await ledger('2026_06_c');
    expect(rows.map((r) => [r.phase, r.status, r.release])).toEqual([
      ['expand', 'rolled-back', 'r-9'],
      ['rollback', 'succeeded', 'r-9'],
    ]);
    expect(rows[1]!.command).toEqual(psql('rollback-email.sql').split(' '));
    expect(rows[1]!.message).toContain('the schema is back to what it was before expand');
  });
});

describe('mode all: a saga of migration, workload and traffic', () => {
  const t = { namespace: 'saga', service: 'orders' };
  const f = blueGreenFixtures(t);
  const green = { namespace: t.namespace, name: 'orders-green' };

  test('undone in reverse: traffic, then the workload, then the compensating migration of the same release', async () => {
    await cluster.apply(f.objects);
    await expand('2026_04_coupon', 'expand-coupon.sql', 'run-700');
    await deliver(cluster, t, { runId: 'run-700', strategy: 'blue-green' }, async (s) => {
      await journaledImage(s, green, 'orders:2.0');
      await journaledWeights(s, 'switch', f.router, { [f.blue]: 0, [f.green]: 100 });
    });
    expect(await columns()).toContain('coupon');

    const since = cluster.requests.length;
    const run = await rollBack(
      cluster,
      t,
      { mode: 'all', 'database-url': db.url, 'rollback-command': psql('rollback-coupon.sql') },
      { runId: 'run-rb-701' },
    );
    expect(run.failure).toBeUndefined();
    expect(run.outputs.result).toBe('rolled-back');
    expect(run.actions.map((a) => [a.layer, a.step])).toEqual([
      ['traffic', 'switch'],
      ['workload', 'image-orders-green'],
      ['migration', 'rollback expand'],
    ]);
    // The migration compensated is the release the journal part undid (run-700), not whatever the ledger's newest row is.
    expect(run.log).toContain('Release run-700');
    expect(run.log).not.toContain('No release or version given');

    // Live state: all three undone.
    expect(liveWeights(cluster, t)).toEqual([100, 0]);
    expect(liveDeployment(cluster, green).image).toBe('orders:1.0');
    expect(await columns()).not.toContain('coupon');

    // Order, from the records: journal compensation times, then the ledger's rollback row.
    const journal = await journalOf(cluster, t);
    const at = (id: string) => Date.parse(journal.find((e) => e.id === id)!.compensatedAt!);
    const rows = await ledger('2026_04_coupon');
    expect(rows.map((r) => [r.phase, r.status])).toEqual([
      ['expand', 'rolled-back'],
      ['rollback', 'succeeded'],
    ]);
    expect(at('run-700/switch')).toBeLessThanOrEqual(at('run-700/image-orders-green'));
    expect(at('run-700/image-orders-green')).toBeLessThanOrEqual(Date.parse(rows[1]!.startedAt));
    // and from the API server's request log: the VirtualService was written before the Deployment
    const writes = cluster.requests
      .slice(since)
      .filter((r) => r.method === 'PATCH' && !r.path.includes('/leases/') && !r.path.includes('/configmaps/'));
    expect(writes.map((r) => r.path)).toEqual([
      '/apis/networking.istio.io/v1/namespaces/saga/virtualservices/orders',
      '/apis/apps/v1/namespaces/saga/deployments/orders-green',
    ]);
    expect(writes[1]!.at).toBeLessThanOrEqual(Date.parse(rows[1]!.startedAt));
    expectNoSecret(run);

    const twice = await rollBack(cluster, t, { mode: 'all', 'database-url': db.url, 'rollback-command': psql('rollback-coupon.sql') });
    expect(twice.failure).toBeUndefined();
    expect(twice.outputs.result).toBe('nothing-to-do');
  });
});
