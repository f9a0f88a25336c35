import { spawnCommandRunner } from '../src/core/command-runner.js';
import { runPhase, type PhaseOptions } from '../src/core/migrate/phase.js';
import { MemoryReporter } from '../src/core/reporter.js';
import { Secrets } from '../src/core/secrets.js';
import { createSchema, psqlFile, query, resetDatabase } from '../test/migrate/harness.js';
import { startPostgres } from '../test/support/postgres.js';
import { type BenchRow, median, timeRuns } from './lib.js';

/** What a phase costs around the team's command: connect, lock, ledger, safety checks, spawn. */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];

  const startTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const pg = await startPostgres();
    startTimes.push(performance.now() - started);
    await pg.stop();
  }
  rows.push({
    area: 'migrate',
    name: 'test PostgreSQL: initdb + start + role and database',
    median: median(startTimes),
    unit: 'ms',
    runs: 3,
  });

  const db = await startPostgres();
  try {
    const options = (phase: PhaseOptions['phase'], version: string, command: string[]): PhaseOptions => {
      const secrets = new Secrets();
      secrets.add(db.url);
      return {
        phase,
        version,
        runId: `bench-${version}`,
        command,
        databaseUrl: db.url,
        limits: {
          commandTimeoutMs: 60_000,
          lockTimeoutMs: 10_000,
          maxTransactionAgeMs: 60_000,
          statementLockTimeoutMs: 5_000,
          statementTimeoutMs: 60_000,
        },
        runner: spawnCommandRunner(),
        reporter: new MemoryReporter(),
        secrets,
      };
    };

    let n = 0;
    const overhead = await timeRuns(20, async () => {
      // A no-op expand is accepted only with a verify-command (it changes no schema object).
      const outcome = await runPhase({ ...options('expand', `noop-${n++}`, ['true']), verifyCommand: ['true'] });
      if (outcome.result !== 'succeeded') throw new Error(outcome.message);
    });
    rows.push({
      area: 'migrate',
      name: 'expand phase around a no-op command (`true`, verify `true`)',
      median: median(overhead),
      unit: 'ms',
      runs: 20,
      note: 'connect, lock, ledger, checks and schema snapshots before and after, checksum, two spawns',
    });

    const skipped = await timeRuns(20, async () => {
      const outcome = await runPhase({ ...options('expand', 'noop-0', ['true']), verifyCommand: ['true'] });
      if (outcome.result !== 'skipped') throw new Error(outcome.message);
    });
    rows.push({ area: 'migrate', name: 're-run of a finished phase (skipped)', median: median(skipped), unit: 'ms', runs: 20 });

    const full: number[] = [];
    for (let i = 0; i < 3; i++) {
      await resetDatabase(db.url);
      await createSchema(db.url);
      await query(
        db.url,
        `INSERT INTO users (name, email) SELECT 'Bench' || n || ' User', 'bench' || n || '@example.com' FROM generate_series(1, 20000) n`,
      );
      const version = `split-${i}`;
      const started = performance.now();
      for (const [phase, file] of [
        ['expand', 'expand.sql'],
        ['migrate', 'migrate.sql'],
        ['contract', 'contract.sql'],
      ] as const) {
        const outcome = await runPhase({ ...options(phase, version, psqlFile(file)), confirm: 'contract' });
        if (outcome.result !== 'succeeded') throw new Error(outcome.message);
      }
      full.push(performance.now() - started);
    }
    rows.push({
      area: 'migrate',
      name: 'expand + migrate + contract of users.name, 20 502 rows, psql',
      median: median(full),
      unit: 'ms',
      runs: 3,
    });
  } finally {
    await db.stop();
  }
  return rows;
}
