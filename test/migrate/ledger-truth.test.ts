import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runPhase } from '../../src/core/migrate/phase.js';
import { columnsOf, FIXTURES, phaseRun, psqlCommand, psqlFile, query, useSplitNameDatabase } from './harness.js';

/**
 * Issue 20, "Migrations: the ledger follows the schema, and no rollback runs past a contract":
 * each case below is one of the defects it reproduced with the CLI against PostgreSQL 15, run
 * here through runPhase (what actions/migrate and the CLI call) against a real PostgreSQL.
 */
const db = useSplitNameDatabase();

const expand = { phase: 'expand' as const, command: psqlFile('expand.sql'), rollbackCommand: psqlFile('expand-rollback.sql') };
const migrate = { phase: 'migrate' as const, command: psqlFile('migrate.sql'), verifyCommand: psqlFile('verify.sql') };
const contract = { phase: 'contract' as const, command: psqlFile('contract.sql'), confirm: 'contract' };

async function throughContract(): Promise<void> {
  for (const phase of [expand, migrate, contract]) expect((await runPhase(phaseRun(db.url, phase).options)).result).toBe('succeeded');
}

describe('rollback past a contract', () => {
  it('is refused with the expand rollback file (what deploy.yml passes), naming what contract dropped; nothing changes', async () => {
    await throughContract();
    const before = await columnsOf(db.url, 'users');
    const run = phaseRun(db.url, { phase: 'rollback', rollbackCommand: psqlFile('expand-rollback.sql') });
    const outcome = await runPhase(run.options);
    expect(outcome.result).toBe('refused');
    expect(outcome.message).toContain(
      'contract is irreversible: it dropped column public.users.name text not null, function public.users_split_name_sync(), trigger public.users.users_split_name_sync',
    );
    expect(outcome.message).toContain('and changed column public.users.first_name text null');
    expect(outcome.message).toContain('give contract-rollback-command and confirm: data-loss');
    // Before the fix the new columns were dropped too, leaving only id, and the result was succeeded.
    expect(await columnsOf(db.url, 'users')).toEqual(before);
    expect(outcome.state).toBe('contract');
    expect(outcome.ledger.map((r) => r.phase)).toEqual(['expand', 'migrate', 'contract']);
    // Two more rollbacks "succeeded" before the fix: still refused.
    expect((await runPhase(phaseRun(db.url, { phase: 'rollback' }).options)).result).toBe('refused');
    expect(
      (
        await runPhase(
          phaseRun(db.url, { phase: 'rollback', contractRollbackCommand: psqlFile('contract-rollback.sql'), confirm: 'yes' }).options,
        )
      ).result,
    ).toBe('refused');
  });

  it('runs with contract-rollback-command and confirm: data-loss, and says the values are not back', async () => {
    await throughContract();
    const run = phaseRun(db.url, {
      phase: 'rollback',
      // a file that re-adds the dropped column, without filling it
      contractRollbackCommand: psqlCommand(
        `BEGIN; ALTER TABLE users ADD COLUMN name text; ALTER TABLE users ALTER COLUMN first_name DROP NOT NULL; ${readFileSync(`${FIXTURES}dual-write.sql`, 'utf8')} COMMIT;`,
      ),
      confirm: 'data-loss',
    });
    const outcome = await runPhase(run.options);
    const rollbackOfContract = outcome.ledger.find((r) => r.compensates === 'contract')!;
    // The re-added column is nullable where the old one was NOT NULL: the schema check sees it, and says so.
    expect(outcome.result).toBe('failed');
    expect(outcome.message).toContain('the schema is not back to what it was before contract');
    expect(outcome.message).toContain('added: column public.users.name text null');
    expect(outcome.message).toContain('removed: column public.users.name text not null');
    expect(rollbackOfContract.status).toBe('failed');
    expect(outcome.ledger.find((r) => r.phase === 'contract')!.status).toBe('succeeded');

    // With the real compensation the schema is back; the message still says the data is not.
    const real = await runPhase(
      phaseRun(db.url, { phase: 'rollback', contractRollbackCommand: psqlFile('contract-rollback.sql'), confirm: 'data-loss' }).options,
    );
    expect(real.result).toBe('succeeded');
    expect(real.compensated.map((c) => c.phase)).toEqual(['contract', 'migrate', 'expand']);
    const row = real.ledger.filter((r) => r.compensates === 'contract').at(-1)!;
    expect(row.message).toContain('contract had dropped column public.users.name text not null');
    expect(row.message).toContain('their old values are not back');
    expect((await columnsOf(db.url, 'users')).sort()).toEqual(['email', 'id', 'name']);
  });

  it('a contract that failed half-way (changed something) is a contract too: refused without confirm', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    await runPhase(phaseRun(db.url, migrate).options);
    const half = await runPhase(
      // two -c: two transactions, so the first stays when the second fails
      phaseRun(db.url, {
        phase: 'contract',
        confirm: 'contract',
        command: [
          'psql',
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          '-c',
          'DROP TRIGGER users_split_name_sync ON users',
          '-c',
          'SELECT 1/0',
          '$DATABASE_URL',
        ],
      }).options,
    );
    expect(half.result).toBe('failed');
    const outcome = await runPhase(phaseRun(db.url, { phase: 'rollback', rollbackCommand: psqlFile('expand-rollback.sql') }).options);
    expect(outcome.result).toBe('refused');
    expect(outcome.message).toContain('the contract of 2026_11_23_split_name failed');
    expect(outcome.message).toContain('it dropped trigger public.users.users_split_name_sync');
    expect(await columnsOf(db.url, 'users')).toContain('first_name');
  });
});

describe('one rollback command per phase', () => {
  it('a contract that failed without changing anything is not compensated with the expand down file', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    await runPhase(phaseRun(db.url, migrate).options);
    const failed = await runPhase(phaseRun(db.url, { phase: 'contract', confirm: 'contract', command: psqlCommand('SELECT 1/0') }).options);
    expect(failed.result).toBe('failed');
    expect(failed.ledger.at(-1)).toMatchObject({ phase: 'contract', status: 'failed', changed: false });

    // Before the fix, this rollback marked the contract rolled back and dropped expand's columns.
    const outcome = await runPhase(phaseRun(db.url, { phase: 'rollback', rollbackCommand: psqlFile('expand-rollback.sql') }).options);
    expect(outcome.result).toBe('succeeded');
    // migrate (data only, no command) needs nothing run; the override compensates expand, the newest phase that changed the schema; never contract
    expect(outcome.compensated.map((c) => c.phase)).toEqual(['migrate', 'expand']);
    expect(outcome.ledger.find((r) => r.phase === 'contract')!.status).toBe('failed');
    expect(await columnsOf(db.url, 'users')).toEqual(['id', 'name', 'email']);
  });
});

describe('checksums', () => {
  it('a changed file or command after expand is refused naming both checksums; allow-changed runs it and the ledger records it', async () => {
    const dir = mkdtempSync(`${process.env.TMPDIR ?? '/tmp'}/pd-expand-`);
    writeFileSync(`${dir}/expand.sql`, 'ALTER TABLE users ADD COLUMN nickname text;');
    const command = ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', `${dir}/expand.sql`, '$DATABASE_URL'];
    const first = await runPhase(phaseRun(db.url, { phase: 'expand', command }).options);
    expect(first.result).toBe('succeeded');
    const recorded = first.ledger[0]!.checksum!;
    expect(recorded).toMatch(/^sha256:[0-9a-f]{64}$/);

    writeFileSync(`${dir}/expand.sql`, 'ALTER TABLE users ADD COLUMN nickname text; ALTER TABLE users ADD COLUMN title text;');
    const edited = await runPhase(phaseRun(db.url, { phase: 'expand', command }).options);
    expect(edited.result).toBe('refused');
    expect(edited.message).toContain(`ran it with checksum ${recorded}`);
    expect(edited.message).toMatch(/this run's command has sha256:[0-9a-f]{64} \(changed: file .*expand\.sql\)/);
    expect(edited.message).toContain('allow-changed: true');
    expect(await columnsOf(db.url, 'users')).not.toContain('title');

    const otherCommand = await runPhase(
      phaseRun(db.url, { phase: 'expand', command: psqlCommand('ALTER TABLE users ADD COLUMN title text') }).options,
    );
    expect(otherCommand.result).toBe('refused');
    expect(otherCommand.message).toContain('changed: the argument list');

    const allowed = await runPhase(
      phaseRun(db.url, { phase: 'expand', command: psqlCommand('ALTER TABLE users ADD COLUMN title text'), allowChanged: true }).options,
    );
    expect(allowed.result).toBe('succeeded');
    expect(await columnsOf(db.url, 'users')).toContain('title');
    expect(allowed.ledger.at(-1)!.message).toMatch(
      /^allow-changed: run again with a different command; ledger row \d+ ran it with checksum sha256:/,
    );
  });
});

describe('a phase that changed nothing', () => {
  it('command: true for expand is refused without a verify-command; the real file then runs instead of being skipped', async () => {
    const empty = await runPhase(phaseRun(db.url, { phase: 'expand', command: ['true'] }).options);
    expect(empty.result).toBe('refused');
    expect(empty.message).toContain('expand changed no schema object');
    expect(empty.state).toBe('none');
    const real = await runPhase(phaseRun(db.url, expand).options);
    expect(real.result).toBe('succeeded');
    expect(real.state).toBe('expand');
  });

  it('on migrate it is a warning only', async () => {
    await runPhase(phaseRun(db.url, expand).options);
    const run = phaseRun(db.url, { phase: 'migrate', command: ['true'] });
    expect((await runPhase(run.options)).result).toBe('succeeded');
    expect(run.reporter.messages('warn').join('\n')).toContain('migrate changed no schema object');
  });

  it('psql without ON_ERROR_STOP: warned about, and ERROR: lines fail the phase though psql exits 0', async () => {
    const run = phaseRun(db.url, {
      phase: 'expand',
      // psql exits 0 when a statement other than the last fails
      command: [
        'psql',
        '-X',
        '-q',
        '-c',
        'ALTER TABLE no_such_table ADD COLUMN x text',
        '-c',
        'ALTER TABLE users ADD COLUMN nickname text',
        '$DATABASE_URL',
      ],
      rollbackCommand: psqlCommand('ALTER TABLE users DROP COLUMN nickname'),
    });
    const outcome = await runPhase(run.options);
    expect(run.reporter.messages('warn').join('\n')).toContain('command runs psql without ON_ERROR_STOP=1');
    expect(outcome.result).toBe('rolled-back');
    expect(outcome.message).toContain('command exited with code 0');
    expect(outcome.message).toContain('ERROR:  relation "no_such_table" does not exist');
    expect(await columnsOf(db.url, 'users')).not.toContain('nickname');
  });
});

describe('the ledger', () => {
  it('an older ledger table (without the new columns) is brought up to date in place, its rows kept', async () => {
    await query(
      db.url,
      `CREATE SCHEMA progressive_delivery;
       CREATE TABLE progressive_delivery.migration_ledger (
         id bigserial PRIMARY KEY, version text NOT NULL,
         phase text NOT NULL CHECK (phase IN ('expand', 'migrate', 'contract', 'rollback')),
         status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'rolled-back')),
         compensates text CHECK (compensates IN ('expand', 'migrate', 'contract')),
         run_id text NOT NULL, started_at timestamptz NOT NULL DEFAULT clock_timestamp(), finished_at timestamptz, message text NOT NULL DEFAULT '');
       INSERT INTO progressive_delivery.migration_ledger (version, phase, status, run_id, finished_at) VALUES ('2026_01_old', 'expand', 'succeeded', 'run-old', now());`,
    );
    const status = await runPhase(phaseRun(db.url, { phase: 'status', version: '2026_01_old' }).options);
    expect(status.ledger).toMatchObject([{ phase: 'expand', status: 'succeeded', release: null, checksum: null, changed: null }]);
    const e = await runPhase(phaseRun(db.url, { ...expand, release: 'rel-1' }).options);
    expect(e.result).toBe('succeeded');
    expect(e.ledger[0]).toMatchObject({ release: 'rel-1', changed: true, rollbackCommand: psqlFile('expand-rollback.sql') });
    const old = await runPhase(phaseRun(db.url, { phase: 'status', version: '2026_01_old' }).options);
    expect(old.ledger).toMatchObject([{ phase: 'expand', status: 'succeeded', runId: 'run-old', release: null }]);
    // An old row has no snapshot and no command: its rollback needs the command given, and says the schema was not checked.
    const undoOld = phaseRun(db.url, { phase: 'rollback', version: '2026_01_old', rollbackCommand: ['true'] });
    const undone = await runPhase(undoOld.options);
    expect(undone.result).toBe('succeeded');
    expect(undoOld.reporter.messages('warn').join('\n')).toContain('has no snapshot');
  });

  it('never stores the database URL: an argument holding it is stored as $DATABASE_URL', async () => {
    const outcome = await runPhase(
      phaseRun(db.url, {
        phase: 'expand',
        command: ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'ALTER TABLE users ADD COLUMN x text', db.url],
      }).options,
    );
    expect(outcome.result).toBe('succeeded');
    const [row] = await query<{ command: string[] }>(db.url, `SELECT command FROM progressive_delivery.migration_ledger`);
    expect(row!.command.at(-1)).toBe('$DATABASE_URL');
  });

  it('stores another secret in a command as ***, and then will not run that command from the ledger', async () => {
    const token = `tok-${Math.random().toString(36).slice(2)}`;
    const run = phaseRun(db.url, {
      phase: 'expand',
      command: psqlCommand('ALTER TABLE users ADD COLUMN x text'),
      rollbackCommand: ['env', `API_TOKEN=${token}`, 'true'],
    });
    run.secrets.add(token);
    const outcome = await runPhase(run.options);
    expect(outcome.ledger[0]!.rollbackCommand).toEqual(['env', 'API_TOKEN=***', 'true']);
    expect(JSON.stringify(await query(db.url, `SELECT * FROM progressive_delivery.migration_ledger`))).not.toContain(token);
    const undo = await runPhase(phaseRun(db.url, { phase: 'rollback' }).options);
    expect(undo.result).toBe('refused');
    expect(undo.message).toContain('the recorded one held a secret, stored as ***');
    expect(await columnsOf(db.url, 'users')).toContain('x');
  });
});

describe('dry run', () => {
  it('reports the plan, runs no command and writes nothing (not even the ledger table)', async () => {
    const run = phaseRun(db.url, { ...expand, dryRun: true });
    const outcome = await runPhase(run.options);
    expect(outcome.result).toBe('planned');
    expect(outcome.message).toMatch(
      /^dry run: would run expand command: psql .*expand\.sql \$DATABASE_URL, on failure rollback-command: psql .*expand-rollback\.sql \$DATABASE_URL \(checksum sha256:[0-9a-f]{64}\)\. Nothing was run or recorded$/,
    );
    expect(await columnsOf(db.url, 'users')).not.toContain('first_name');
    expect(await query(db.url, `SELECT to_regclass('progressive_delivery.migration_ledger') AS t`)).toEqual([{ t: null }]);

    await runPhase(phaseRun(db.url, expand).options);
    await runPhase(phaseRun(db.url, migrate).options);
    const plan = await runPhase(phaseRun(db.url, { phase: 'rollback', dryRun: true }).options);
    expect(plan.result).toBe('planned');
    expect(plan.compensated.map((c) => c.phase)).toEqual(['migrate', 'expand']);
    expect(plan.message).toContain('rollback-command for expand');
    expect(await columnsOf(db.url, 'users')).toContain('first_name');
    expect(plan.ledger.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    const contractPlan = await runPhase(phaseRun(db.url, { ...contract, dryRun: true }).options);
    expect(contractPlan.result).toBe('planned');
    expect(await columnsOf(db.url, 'users')).toContain('name');
  });
});
