import { describe, expect, it } from 'vitest';
import { recordCancelledRun } from '../../src/core/migrate/cancelled-run.js';
import { runPhase } from '../../src/core/migrate/phase.js';
import { FIXTURES, phaseRun, psqlFile, query, useSplitNameDatabase } from './harness.js';

const db = useSplitNameDatabase();

/** expand.sql after a pause, so that a second run arrives while the first holds the lock. */
function slowExpand(seconds: number): string[] {
  return ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `SELECT pg_sleep(${seconds})`, '-f', `${FIXTURES}expand.sql`, '$DATABASE_URL'];
}

async function lockHeldBy(runId: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await query(db.url, `SELECT 1 FROM pg_stat_activity WHERE application_name = $1`, [
      `progressive-delivery migrate command ${runId}`,
    ]);
    if (rows.length > 0) return;
    if (Date.now() > deadline) throw new Error(`run ${runId} never started its command`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('one migration at a time', () => {
  it('a second run waits for the first, then runs on what the first left', async () => {
    const first = phaseRun(db.url, { phase: 'expand', runId: 'run-first', command: slowExpand(1) });
    const second = phaseRun(db.url, { phase: 'migrate', runId: 'run-second', command: psqlFile('migrate.sql') });
    const firstDone = runPhase(first.options);
    await lockHeldBy('run-first');
    const secondOutcome = await runPhase(second.options);
    const firstOutcome = await firstDone;

    expect(firstOutcome.result).toBe('succeeded');
    // Migrate would have been refused had it not waited for expand to finish.
    expect(secondOutcome.result).toBe('succeeded');
    const waited = second.reporter.messages('info').find((m) => m.startsWith('Waiting for the migration lock'));
    expect(waited).toMatch(
      /^Waiting for the migration lock, held by pid \d+, user migrator_\w+, application_name "progressive-delivery migrate lock run-first", connected since \d{4}-/,
    );
    const [expandRow, migrateRow] = secondOutcome.ledger;
    expect(Date.parse(migrateRow!.startedAt)).toBeGreaterThanOrEqual(Date.parse(expandRow!.finishedAt!));
  });

  it('the same phase started twice at once runs once: the second finds it done', async () => {
    const a = phaseRun(db.url, { phase: 'expand', runId: 'run-a', command: slowExpand(0.5) });
    const b = phaseRun(db.url, { phase: 'expand', runId: 'run-b', command: slowExpand(0.5) });
    const outcomes = await Promise.all([runPhase(a.options), runPhase(b.options)]);
    expect(outcomes.map((o) => o.result).sort()).toEqual(['skipped', 'succeeded']);
    expect(outcomes[1]!.ledger.filter((r) => r.phase === 'expand')).toHaveLength(1);
  });

  it('a run that waits longer than lock-timeout is refused, naming the holder', async () => {
    const first = phaseRun(db.url, { phase: 'expand', runId: 'run-holder', command: slowExpand(2) });
    const firstDone = runPhase(first.options);
    await lockHeldBy('run-holder');
    const [holder] = await query<{ pid: number }>(
      db.url,
      `SELECT pid FROM pg_stat_activity WHERE application_name = 'progressive-delivery migrate lock run-holder'`,
    );

    const second = phaseRun(db.url, { phase: 'expand', runId: 'run-late', command: ['true'], limits: { lockTimeoutMs: 400 } as never });
    const refused = await runPhase(second.options);
    expect(refused.result).toBe('refused');
    expect(refused.message).toMatch(
      new RegExp(
        `^another migration holds the migration lock of this database after waiting [\\d.]+m?s: pid ${holder!.pid}, user ${db.user}, ` +
          `application_name "progressive-delivery migrate lock run-holder", connected since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\((idle|active)\\)$`,
      ),
    );
    expect((await firstDone).result).toBe('succeeded');
  });

  it('the lock is released when a run ends, also when it failed', async () => {
    const failed = await runPhase(phaseRun(db.url, { phase: 'expand', command: ['false'] }).options);
    expect(failed.result).toBe('failed');
    const next = await runPhase(
      phaseRun(db.url, { phase: 'expand', command: psqlFile('expand.sql'), limits: { lockTimeoutMs: 0 } as never }).options,
    );
    expect(next.result).toBe('succeeded');
  });
});

describe('cancellation', () => {
  it('a cancelled run stops its command, records the phase failed (cancelled) and runs no rollback-command', async () => {
    const controller = new AbortController();
    const run = phaseRun(db.url, {
      phase: 'expand',
      runId: 'run-cancelled',
      command: slowExpand(30),
      rollbackCommand: ['psql', '-X', '-c', 'CREATE TABLE rollback_ran ()', '$DATABASE_URL'],
      signal: controller.signal,
    });
    const done = runPhase(run.options);
    await lockHeldBy('run-cancelled');
    const cancelledAt = Date.now();
    controller.abort(new Error('the run was cancelled'));
    const outcome = await done;
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
    expect(outcome.result).toBe('failed');
    expect(outcome.message).toMatch(/^cancelled: command was stopped because the run was cancelled; rollback-command not run/);
    expect(outcome.ledger).toMatchObject([{ phase: 'expand', status: 'failed', runId: 'run-cancelled' }]);
    expect(await query(db.url, `SELECT 1 FROM pg_tables WHERE tablename = 'rollback_ran'`)).toEqual([]);
    // The psql it started is gone, and so is the statement its server session was running.
    expect(await query(db.url, `SELECT 1 FROM pg_stat_activity WHERE application_name LIKE '%run-cancelled'`)).toEqual([]);
    expect(run.reporter.messages('warn').some((m) => /^Stopped the database session\(s\) the command left running: pid \d+$/.test(m))).toBe(
      true,
    );
  });

  it("the post step marks a phase its run left running failed, and only that run's rows", async () => {
    await query(
      db.url,
      `CREATE SCHEMA progressive_delivery;
       CREATE TABLE progressive_delivery.migration_ledger (id bigserial PRIMARY KEY, version text NOT NULL, phase text NOT NULL,
         status text NOT NULL, compensates text, run_id text NOT NULL, started_at timestamptz NOT NULL DEFAULT now(),
         finished_at timestamptz, message text NOT NULL DEFAULT '');
       INSERT INTO progressive_delivery.migration_ledger (version, phase, status, run_id)
       VALUES ('v1', 'expand', 'running', 'run-killed'), ('v2', 'expand', 'running', 'run-other');`,
    );
    const { rows: marked, stoppedSessions } = await recordCancelledRun({ databaseUrl: db.url, version: 'v1', runId: 'run-killed' });
    expect(stoppedSessions).toEqual([]);
    expect(marked).toMatchObject([{ version: 'v1', status: 'failed', runId: 'run-killed' }]);
    expect(marked[0]!.message).toMatch(/^cancelled: run run-killed ended while this phase was running/);
    const rows = await query<{ run_id: string; status: string }>(
      db.url,
      `SELECT run_id, status FROM progressive_delivery.migration_ledger ORDER BY id`,
    );
    expect(rows).toEqual([
      { run_id: 'run-killed', status: 'failed' },
      { run_id: 'run-other', status: 'running' },
    ]);
  });
});
