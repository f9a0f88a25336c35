import { describe, expect, it } from 'vitest';
import { readLedger } from '../../src/core/migrate/ledger.js';
import { runPhase } from '../../src/core/migrate/phase.js';
import { existsSync } from 'node:fs';
import { columnsOf, phaseRun, psqlCommand, psqlFile, query, useSplitNameDatabase } from './harness.js';
import pg from 'pg';

const db = useSplitNameDatabase();

const expand = {
  phase: 'expand' as const,
  command: psqlFile('expand.sql'),
  verifyCommand: undefined,
  rollbackCommand: psqlFile('expand-rollback.sql'),
};
const migrate = { phase: 'migrate' as const, command: psqlFile('migrate.sql'), verifyCommand: psqlFile('verify.sql') };
const contract = { phase: 'contract' as const, command: psqlFile('contract.sql'), confirm: 'contract' };

describe('expand -> migrate -> contract of users.name into first_name / last_name', () => {
  it('changes the schema phase by phase while old and new writers keep working, and records each phase', async () => {
    const runId = 'run-full';
    const e = await runPhase(phaseRun(db.url, { ...expand, runId }).options);
    expect(e.result).toBe('succeeded');
    expect(await columnsOf(db.url, 'users')).toEqual(['id', 'name', 'email', 'first_name', 'last_name']);

    // Between expand and migrate both versions write: the old one `name`, the new one first/last name.
    await query(db.url, `INSERT INTO users (name, email) VALUES ('Old Writer', 'old@example.com')`);
    await query(db.url, `INSERT INTO users (first_name, last_name, email) VALUES ('New', 'Writer', 'new@example.com')`);
    const written = await query<{ name: string; first_name: string; last_name: string }>(
      db.url,
      `SELECT name, first_name, last_name FROM users WHERE email IN ('old@example.com', 'new@example.com') ORDER BY email`,
    );
    expect(written).toEqual([
      { name: 'New Writer', first_name: 'New', last_name: 'Writer' },
      { name: 'Old Writer', first_name: 'Old', last_name: 'Writer' },
    ]);
    const [before] = await query<{ n: string }>(db.url, `SELECT count(*) AS n FROM users WHERE first_name IS NULL`);
    expect(Number(before!.n)).toBe(502);

    const m = await runPhase(phaseRun(db.url, { ...migrate, runId }).options);
    expect(m.result).toBe('succeeded');
    expect(m.message).toContain('verify-command passed');
    const sample = await query<{ name: string; first_name: string; last_name: string | null }>(
      db.url,
      `SELECT name, first_name, last_name FROM users WHERE email IN ('person7@example.com', 'cher@example.com', 'anne@example.com') ORDER BY email`,
    );
    expect(sample).toEqual([
      { name: 'Anne Marie de la Tour', first_name: 'Anne', last_name: 'Marie de la Tour' },
      { name: 'Cher', first_name: 'Cher', last_name: null },
      { name: 'Person7 Family7', first_name: 'Person7', last_name: 'Family7' },
    ]);

    const c = await runPhase(phaseRun(db.url, { ...contract, runId }).options);
    expect(c.result).toBe('succeeded');
    expect(await columnsOf(db.url, 'users')).toEqual(['id', 'email', 'first_name', 'last_name']);
    const [after] = await query<{ n: string }>(db.url, `SELECT count(*) AS n FROM users WHERE first_name IS NOT NULL`);
    expect(Number(after!.n)).toBe(504);

    expect(c.state).toBe('contract');
    expect(c.ledger.map((r) => [r.phase, r.status, r.runId])).toEqual([
      ['expand', 'succeeded', runId],
      ['migrate', 'succeeded', runId],
      ['contract', 'succeeded', runId],
    ]);
    for (const row of c.ledger) {
      expect(row.finishedAt).not.toBeNull();
      expect(Date.parse(row.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(row.startedAt));
    }
  });

  it('gives the command lock_timeout and statement_timeout through PGOPTIONS, and names the run in pg_stat_activity', async () => {
    const file = `${process.env.TMPDIR ?? '/tmp'}/settings-${Date.now()}.txt`;
    const { options } = phaseRun(db.url, {
      phase: 'expand',
      runId: 'run-settings',
      // It changes no schema object: an expand like that needs a verify-command to be accepted.
      verifyCommand: ['true'],
      command: [
        'psql',
        '-X',
        '-A',
        '-t',
        '-o',
        file,
        '-c',
        `SELECT current_setting('lock_timeout') || ',' || current_setting('statement_timeout') || ',' || current_setting('application_name')`,
        '$DATABASE_URL',
      ],
      limits: { statementLockTimeoutMs: 3_000, statementTimeoutMs: 600_000 } as never,
    });
    const outcome = await runPhase(options);
    expect(outcome.result).toBe('succeeded');
    const { readFileSync, rmSync } = await import('node:fs');
    expect(readFileSync(file, 'utf8').trim()).toBe('3s,10min,progressive-delivery migrate command run-settings');
    rmSync(file);
  });

  it('re-running a finished phase with the same command is a no-op: skipped, the command does not run, no new ledger row', async () => {
    expect((await runPhase(phaseRun(db.url, expand).options)).result).toBe('succeeded');
    const again = phaseRun(db.url, expand);
    const outcome = await runPhase(again.options);
    expect(outcome.result).toBe('skipped');
    expect(outcome.message).toContain('already succeeded');
    expect(again.reporter.text()).not.toContain('command:');
    expect(outcome.ledger).toHaveLength(1);
  });

  it('refuses migrate before expand, and contract before expand, without running anything', async () => {
    const m = await runPhase(phaseRun(db.url, migrate).options);
    expect(m.result).toBe('refused');
    expect(m.message).toBe('migrate refused: migrate needs a finished expand of 2026_11_23_split_name, and expand has not run');

    const c = await runPhase(phaseRun(db.url, contract).options);
    expect(c.result).toBe('refused');
    expect(c.message).toContain('contract needs a finished migrate (or expand)');
    expect(await columnsOf(db.url, 'users')).toContain('name');
    expect(c.ledger).toEqual([]);
  });

  it('refuses contract without confirm: contract, even after migrate', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    await runPhase(phaseRun(db.url, migrate).options);
    for (const confirm of [undefined, 'yes']) {
      const run = phaseRun(db.url, { ...contract, confirm });
      const outcome = await runPhase(run.options);
      expect(outcome.result).toBe('refused');
      expect(outcome.message).toMatch(/^contract refused: contract is destructive .* set confirm: contract/);
      expect(run.reporter.summaries.join('\n')).toContain('contract refused');
    }
    expect(await columnsOf(db.url, 'users')).toContain('name');
    expect((await readLedgerOf(db.url)).map((r) => r.phase)).toEqual(['expand', 'migrate']);
  });

  it('refuses contract while the latest migrate failed, even though expand succeeded', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    const failing = await runPhase(phaseRun(db.url, { phase: 'migrate', command: psqlFile('broken-migrate.sql') }).options);
    expect(failing.result).toBe('failed');
    const c = await runPhase(phaseRun(db.url, contract).options);
    expect(c.result).toBe('refused');
    expect(c.message).toContain('contract needs a finished migrate of 2026_11_23_split_name, and migrate is failed');
  });
});

describe('failures', () => {
  it('a failing migration runs rollback-command, and the ledger says it failed and was compensated', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    const run = phaseRun(db.url, {
      phase: 'migrate',
      runId: 'run-broken',
      command: psqlFile('broken-migrate.sql'),
      rollbackCommand: psqlFile('broken-migrate-rollback.sql'),
    });
    const outcome = await runPhase(run.options);
    expect(outcome.result).toBe('rolled-back');
    expect(outcome.message).toMatch(
      /^command exited with code 3 after .*division by zero.*; rollback-command succeeded and the schema is back to what it was before$/,
    );
    expect(outcome.output.join('\n')).toContain('division by zero');
    // The half-applied column is gone again: the compensating migration ran.
    expect(await columnsOf(db.url, 'users')).not.toContain('name_search');
    const row = outcome.ledger.find((r) => r.phase === 'migrate')!;
    expect(row).toMatchObject({ status: 'rolled-back', runId: 'run-broken' });
    expect(row.message).toContain('division by zero');
    expect(outcome.state).toBe('expand');
    expect(run.reporter.summaries.join('\n')).toContain('| migrate | rolled-back | run-broken | run-broken | unchanged |');
  });

  it('without rollback-command a failing migration is recorded failed, with what is left behind', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    const outcome = await runPhase(phaseRun(db.url, { phase: 'migrate', command: psqlFile('broken-migrate.sql') }).options);
    expect(outcome.result).toBe('failed');
    expect(outcome.message).toContain('no rollback-command given');
    expect(await columnsOf(db.url, 'users')).toContain('name_search');
    expect(outcome.ledger.map((r) => [r.phase, r.status])).toEqual([
      ['expand', 'succeeded'],
      ['migrate', 'failed'],
    ]);
  });

  it('a failing verify-command fails the phase and runs rollback-command', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    // The "migration" adds a column but backfills nothing, so the backfill check finds users without first_name.
    const outcome = await runPhase(
      phaseRun(db.url, {
        phase: 'migrate',
        command: psqlCommand('ALTER TABLE users ADD COLUMN name_search text'),
        verifyCommand: psqlFile('verify.sql'),
        rollbackCommand: psqlCommand('ALTER TABLE users DROP COLUMN name_search'),
      }).options,
    );
    expect(outcome.result).toBe('rolled-back');
    expect(outcome.message).toContain('verify-command exited with code 3');
    expect(outcome.message).toContain('502 user(s) have no first_name');
    expect(await columnsOf(db.url, 'users')).not.toContain('name_search');
  });

  it('a failed phase that changed nothing is not compensated: rollback-command does not run', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    const marker = `${process.env.TMPDIR ?? '/tmp'}/pd-rollback-ran-${Date.now()}`;
    const outcome = await runPhase(
      phaseRun(db.url, {
        phase: 'migrate',
        command: ['psql', '-X', '-q', '-c', 'SELECT 1', '$DATABASE_URL'],
        verifyCommand: psqlFile('verify.sql'),
        rollbackCommand: ['touch', marker],
      }).options,
    );
    expect(outcome.result).toBe('failed');
    expect(outcome.message).toContain('it changed no schema object, so there was nothing for rollback-command to compensate');
    expect(existsSync(marker)).toBe(false);
    expect(outcome.ledger.at(-1)).toMatchObject({ phase: 'migrate', status: 'failed', changed: false });
  });

  it('when rollback-command fails too, the phase is failed and says the database may be half-changed', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    const outcome = await runPhase(
      phaseRun(db.url, {
        phase: 'migrate',
        command: psqlFile('broken-migrate.sql'),
        rollbackCommand: ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', 'DROP TABLE no_such_table', '$DATABASE_URL'],
      }).options,
    );
    expect(outcome.result).toBe('failed');
    expect(outcome.message).toContain('then rollback-command exited with code');
    expect(outcome.message).toContain('half-changed');
    expect(outcome.output.join('\n')).toContain('no_such_table');
    expect(outcome.ledger.at(-1)).toMatchObject({ phase: 'migrate', status: 'failed' });
  });

  it('a rollback-command that leaves the schema different from before is failed, with the difference listed', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    const outcome = await runPhase(
      phaseRun(db.url, {
        phase: 'migrate',
        command: psqlFile('broken-migrate.sql'),
        rollbackCommand: psqlCommand('SELECT 1'),
      }).options,
    );
    expect(outcome.result).toBe('failed');
    expect(outcome.message).toContain(
      'rollback-command succeeded but the schema is not back to what it was before the migrate: added: column public.users.name_search tsvector null',
    );
    expect(outcome.ledger.at(-1)).toMatchObject({ phase: 'migrate', status: 'failed', changed: true });
  });

  it('a command that cannot start fails clearly', async () => {
    const outcome = await runPhase(phaseRun(db.url, { phase: 'expand', command: ['/nonexistent/flyway', 'migrate'] }).options);
    expect(outcome.result).toBe('failed');
    expect(outcome.message).toContain('command could not start: spawn /nonexistent/flyway ENOENT');
  });

  it('stops a command at command-timeout and records it failed', async () => {
    const outcome = await runPhase(
      phaseRun(db.url, { phase: 'expand', command: ['sleep', '30'], limits: { commandTimeoutMs: 300 } as never }).options,
    );
    expect(outcome.result).toBe('failed');
    expect(outcome.message).toContain('command was stopped after command-timeout 300ms');
    expect(outcome.ledger.at(-1)?.status).toBe('failed');
  });
});

describe('rollback and status phases', () => {
  it('rollback compensates every phase that changed something, newest first, each with its own recorded command', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    await runPhase(phaseRun(db.url, migrate).options);
    const beforeAll = await columnsOf(db.url, 'users');
    const undo = await runPhase(phaseRun(db.url, { phase: 'rollback', runId: 'run-undo' }).options);
    expect(undo.result).toBe('succeeded');
    expect(undo.compensated.map((c) => c.phase)).toEqual(['migrate', 'expand']);
    expect((await columnsOf(db.url, 'users')).sort()).toEqual(['email', 'id', 'name']);
    expect(beforeAll).toContain('first_name');
    expect(undo.state).toBe('none');
    expect(undo.ledger.map((r) => [r.phase, r.compensates, r.status])).toEqual([
      ['expand', null, 'rolled-back'],
      ['migrate', null, 'rolled-back'],
      ['rollback', 'migrate', 'succeeded'],
      ['rollback', 'expand', 'succeeded'],
    ]);
    // migrate moved data only and recorded no command: nothing ran for it; expand ran the command recorded with it.
    expect(undo.ledger[2]!.message).toContain('nothing to run: migrate changed no schema object');
    expect(undo.ledger[3]!.command).toEqual(psqlFile('expand-rollback.sql'));
    expect(undo.ledger[3]!.message).toContain('the schema is back to what it was before expand');
    expect(undo.ledger[0]!.message).toContain('compensated by run run-undo');

    const nothing = await runPhase(phaseRun(db.url, { phase: 'rollback' }).options);
    expect(nothing.result).toBe('skipped');
    expect(nothing.state).toBe('none');

    // After a rollback the phase can run again.
    expect((await runPhase(phaseRun(db.url, expand).options)).result).toBe('succeeded');
  });

  it('status reports the ledger without the lock or any command', async () => {
    const empty = await runPhase(phaseRun(db.url, { phase: 'status' }).options);
    expect(empty).toMatchObject({ result: 'succeeded', state: 'none', ledger: [] });
    await runPhase(phaseRun(db.url, expand).options);
    const run = phaseRun(db.url, { phase: 'status' });
    const outcome = await runPhase(run.options);
    expect(outcome.state).toBe('expand');
    expect(outcome.message).toBe('2026_11_23_split_name is at expand');
    expect(run.reporter.summaries[0]).toContain('| 1 | 2026_11_23_split_name | expand | succeeded |');
  });

  it('a row left running by a run that died is marked failed by the next run that takes the lock', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    await query(
      db.url,
      `INSERT INTO progressive_delivery.migration_ledger (version, phase, status, run_id) VALUES ('2026_11_23_split_name', 'migrate', 'running', 'run-died')`,
    );
    const run = phaseRun(db.url, migrate);
    const outcome = await runPhase(run.options);
    expect(outcome.result).toBe('succeeded');
    expect(outcome.ledger.map((r) => [r.phase, r.status, r.runId]).slice(1)).toEqual([
      ['migrate', 'failed', 'run-died'],
      ['migrate', 'succeeded', run.options.runId],
    ]);
    expect(outcome.ledger[1]!.message).toContain('abandoned');
  });
});

async function readLedgerOf(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await readLedger(client, '2026_11_23_split_name');
  } finally {
    await client.end();
  }
}
