import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import { spawnCommandRunner } from '../../src/core/command-runner.js';
import type { LedgerRow } from '../../src/core/migrate/ledger.js';
import { escapeCell, ledgerTable } from '../../src/core/migrate/ledger-markdown.js';
import { commandEnv, pgInterval, runPhase } from '../../src/core/migrate/phase.js';
import { furthestPhase, missingPrerequisite } from '../../src/core/migrate/phase-order.js';
import { phasesToCompensate } from '../../src/core/migrate/compensation.js';
import { commandChecksum, describeChange } from '../../src/core/migrate/checksum.js';
import { describeQuery } from '../../src/core/migrate/safety-checks.js';
import { psqlWarning } from '../../src/core/migrate/run-step.js';
import { expandVariables } from '../../src/core/migrate/run-step.js';
import { phaseRun } from './harness.js';

let nextId = 1;
function row(phase: LedgerRow['phase'], status: LedgerRow['status'], extra: Partial<LedgerRow> = {}): LedgerRow {
  return {
    id: nextId++,
    version: 'v1',
    phase,
    status,
    compensates: null,
    runId: 'run-1',
    startedAt: '2026-11-23T10:00:00.000Z',
    finishedAt: status === 'running' ? null : '2026-11-23T10:01:00.000Z',
    message: '',
    release: null,
    command: null,
    rollbackCommand: null,
    checksum: null,
    checksumParts: null,
    changed: null,
    ...extra,
  };
}

describe('phase order', () => {
  it('migrate needs a finished expand; contract needs migrate, or expand when there is no migrate', () => {
    expect(missingPrerequisite([], 'expand', 'v1')).toBeUndefined();
    expect(missingPrerequisite([], 'migrate', 'v1')).toBe('migrate needs a finished expand of v1, and expand has not run');
    expect(missingPrerequisite([row('expand', 'failed')], 'migrate', 'v1')).toContain('expand is failed');
    expect(missingPrerequisite([row('expand', 'succeeded')], 'migrate', 'v1')).toBeUndefined();
    expect(missingPrerequisite([row('expand', 'succeeded')], 'contract', 'v1')).toBeUndefined();
    expect(missingPrerequisite([row('expand', 'succeeded'), row('migrate', 'rolled-back')], 'contract', 'v1')).toContain(
      'migrate is rolled-back',
    );
    expect(missingPrerequisite([row('expand', 'rolled-back')], 'contract', 'v1')).toContain('expand is rolled-back');
  });

  it('the latest attempt of a phase decides its state', () => {
    const rows = [row('expand', 'failed'), row('expand', 'succeeded')];
    expect(furthestPhase(rows)).toBe('expand');
    expect(furthestPhase([...rows, row('expand', 'rolled-back')])).toBe('none');
  });

  it('rollback compensates every phase that changed something, newest first; a failed phase that changed nothing is left out', () => {
    const expand = row('expand', 'succeeded');
    const migrate = row('migrate', 'failed');
    expect(phasesToCompensate([expand, migrate]).targets).toEqual([migrate, expand]);
    expect(phasesToCompensate([expand, row('migrate', 'rolled-back')]).targets).toEqual([expand]);
    expect(phasesToCompensate([row('expand', 'rolled-back')]).targets).toEqual([]);
    // issue 20: a contract that failed without changing anything is not compensated with another phase's command
    const m = row('migrate', 'succeeded');
    const c = row('contract', 'failed', { changed: false });
    expect(phasesToCompensate([expand, m, c])).toEqual({ targets: [m, expand], unchanged: [c] });
    // an earlier success stays standing behind a later attempt that changed nothing (allow-changed re-run)
    const again = row('expand', 'failed', { changed: false });
    expect(phasesToCompensate([expand, again]).targets).toEqual([expand]);
  });
});

describe('ledger as Markdown', () => {
  it('escapes what would break the table or inject HTML', () => {
    expect(escapeCell('a | b\nc <img src=x> `d` \\')).toBe('a \\| b<br>c &lt;img src=x&gt; \\`d\\` \\\\');
    const table = ledgerTable([row('rollback', 'succeeded', { compensates: 'contract', message: 'x|y' })]);
    expect(table.split('\n')).toHaveLength(3);
    expect(table).toContain('| rollback of contract | succeeded |');
    expect(table).toContain('x\\|y');
  });
});

describe('the command environment', () => {
  it('sets PGOPTIONS in PostgreSQL units, PGAPPNAME, DATABASE_URL and the migration identity', () => {
    const env = commandEnv(
      {
        phase: 'expand',
        version: 'v7',
        runId: 'run-9',
        limits: {
          commandTimeoutMs: 1,
          lockTimeoutMs: 1,
          maxTransactionAgeMs: 1,
          statementLockTimeoutMs: 5_000,
          statementTimeoutMs: 900_000,
        },
      },
      'postgresql://u:p@h/db',
    );
    expect(env).toEqual({
      PGOPTIONS: '-c lock_timeout=5s -c statement_timeout=15min',
      PGAPPNAME: 'progressive-delivery migrate command run-9',
      MIGRATION_VERSION: 'v7',
      MIGRATION_PHASE: 'expand',
      DATABASE_URL: 'postgresql://u:p@h/db',
    });
    expect([pgInterval(0), pgInterval(1_500), pgInterval(2_000), pgInterval(120_000)]).toEqual(['0', '1500ms', '2s', '2min']);
  });

  it('replaces only the known variables in arguments, nothing else', () => {
    const env = { DATABASE_URL: 'postgresql://x', MIGRATION_VERSION: 'v1', HOME: '/root' };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell-style ${VAR} the command runner must leave alone, not a template
    expect(expandVariables(['-d', '$DATABASE_URL', '--v=${MIGRATION_VERSION}', '$HOME', '$(id)', '$DATABASE_URLS'], env)).toEqual([
      '-d',
      'postgresql://x',
      '--v=v1',
      '$HOME',
      '$(id)',
      '$DATABASE_URLS',
    ]);
  });
});

describe('spawnCommandRunner', () => {
  it('runs an argument list without a shell, with the extra environment, and hands over every line of both streams', async () => {
    const lines: string[] = [];
    const result = await spawnCommandRunner().run({
      argv: [
        'node',
        '-e',
        'console.log(process.env.EXTRA); console.log("arg " + process.argv[1]); process.stderr.write("err $X\\n"); process.stdout.write("one\\ntwo"); process.exitCode = 3',
        '$(id) && echo pwned',
      ],
      env: { EXTRA: 'extra value' },
      timeoutMs: 10_000,
      onLine: (line) => lines.push(line),
    });
    expect(result).toEqual({ exitCode: 3 });
    expect(lines.sort()).toEqual(['arg $(id) && echo pwned', 'err $X', 'extra value', 'one', 'two'].sort());
  });
});

describe('without a database URL', () => {
  it('runs the command and its compensation, and says what is not enforced', async () => {
    const run = phaseRun(undefined, { phase: 'migrate', command: ['false'], rollbackCommand: ['true'] });
    const outcome = await runPhase(run.options);
    expect(outcome).toMatchObject({ result: 'rolled-back', ledger: [], state: 'none' });
    expect(run.reporter.messages('warn')[0]).toMatch(/^No database-url: no ledger, no migration lock, no safety checks/);
  });

  it('still refuses an unconfirmed contract', async () => {
    const outcome = await runPhase(phaseRun(undefined, { phase: 'contract', command: ['true'] }).options);
    expect(outcome.result).toBe('refused');
  });

  it('rejects options that cannot work, as input errors', async () => {
    await expect(runPhase(phaseRun(undefined, { phase: 'status' }).options)).rejects.toThrow(InputError);
    await expect(runPhase(phaseRun(undefined, { phase: 'expand' }).options)).rejects.toThrow("'command' is required for phase expand");
    await expect(runPhase(phaseRun(undefined, { phase: 'rollback' }).options)).rejects.toThrow("'rollback-command' is required");
  });
});

describe('checksums', () => {
  it('cover the argument list and the files it names; a change says which part changed', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync(`${process.env.TMPDIR ?? '/tmp'}/pd-sum-`);
    writeFileSync(`${dir}/expand.sql`, 'ALTER TABLE users ADD COLUMN a text;');
    const argv = ['psql', '-v', 'ON_ERROR_STOP=1', '-f', 'expand.sql', '$DATABASE_URL'];
    const first = commandChecksum(argv, dir);
    expect(first.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Object.keys(first.parts.files)).toEqual(['expand.sql']);
    expect(commandChecksum(argv, dir).checksum).toBe(first.checksum);
    writeFileSync(`${dir}/expand.sql`, 'ALTER TABLE users ADD COLUMN b text;');
    const edited = commandChecksum(argv, dir);
    expect(edited.checksum).not.toBe(first.checksum);
    expect(describeChange(first.parts, edited.parts)).toBe('changed: file expand.sql');
    const other = commandChecksum(['psql', '-v', 'ON_ERROR_STOP=1', '--file=expand.sql', '$DATABASE_URL'], dir);
    expect(describeChange(edited.parts, other.parts)).toBe('changed: the argument list');
  });
});

describe('psql without ON_ERROR_STOP', () => {
  it('is warned about, naming the fix; every spelling of the setting counts', () => {
    expect(psqlWarning('command', ['psql', '-f', 'x.sql'])).toContain('Add `-v ON_ERROR_STOP=1`');
    expect(psqlWarning('command', ['/usr/bin/psql', '-v', 'ON_ERROR_STOP=0', '-f', 'x.sql'])).toBeDefined();
    for (const set of [['-v', 'ON_ERROR_STOP=1'], ['-vON_ERROR_STOP=1'], ['--set=ON_ERROR_STOP=1'], ['--set', 'ON_ERROR_STOP=on']]) {
      expect(psqlWarning('command', ['psql', ...set, '-f', 'x.sql'])).toBeUndefined();
    }
    expect(psqlWarning('command', ['flyway', 'migrate'])).toBeUndefined();
  });
});

describe("a blocking session's query", () => {
  it('is shown without its literals, folded and cut', () => {
    expect(describeQuery("UPDATE users SET email = 'a@b.c', note = 'it''s'\n  WHERE id = 1")).toBe(
      "UPDATE users SET email = '…', note = '…' WHERE id = 1",
    );
    expect(describeQuery('SELECT $body$secret$body$')).toBe("SELECT '…'");
    expect(describeQuery(`SELECT ${'x'.repeat(300)}`)).toHaveLength(200);
    expect(describeQuery(null)).toBe('');
  });
});
