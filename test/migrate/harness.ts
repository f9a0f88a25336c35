import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { spawnCommandRunner } from '../../src/core/command-runner.js';
import type { PhaseOptions } from '../../src/core/migrate/phase.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { Secrets } from '../../src/core/secrets.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

/** Shared pieces of the migrate tests: the split-name migration's SQL files, psql commands, and phase options. */

export const FIXTURES = fileURLToPath(new URL('./fixtures/split-name/', import.meta.url));

/** psql applying one fixture file, as a team would write the `command` input. */
export function psqlFile(file: string): string[] {
  return ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', `${FIXTURES}${file}`, '$DATABASE_URL'];
}

/** psql running one statement. */
export function psqlCommand(sql: string): string[] {
  return ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql, '$DATABASE_URL'];
}

export interface TestRun {
  options: PhaseOptions;
  reporter: MemoryReporter;
  secrets: Secrets;
}

/** Options for runPhase against `databaseUrl`, with short limits, a memory reporter and the URL registered as a secret. */
export function phaseRun(databaseUrl: string | undefined, overrides: Partial<PhaseOptions> & Pick<PhaseOptions, 'phase'>): TestRun {
  const reporter = new MemoryReporter();
  const secrets = new Secrets();
  secrets.add(databaseUrl);
  const { limits, ...rest } = overrides;
  const options: PhaseOptions = {
    version: '2026_11_23_split_name',
    runId: `test-${Math.random().toString(36).slice(2, 10)}`,
    databaseUrl,
    limits: {
      commandTimeoutMs: 60_000,
      lockTimeoutMs: 10_000,
      maxTransactionAgeMs: 60_000,
      statementLockTimeoutMs: 2_000,
      statementTimeoutMs: 60_000,
      lockPollMs: 100,
      ...limits,
    },
    runner: spawnCommandRunner(),
    reporter,
    secrets,
    ...rest,
  };
  return { options, reporter, secrets };
}

export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function columnsOf(url: string, table: string): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    url,
    `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((r) => r.column_name);
}

/** Creates the application's table as it is before the change. */
export async function createSchema(url: string): Promise<void> {
  await query(url, readFileSync(`${FIXTURES}schema.sql`, 'utf8'));
}

/** Drops everything the tests made, so the next test starts from a fresh schema and an empty ledger. */
export async function resetDatabase(url: string): Promise<void> {
  await query(
    url,
    `DROP SCHEMA IF EXISTS progressive_delivery CASCADE; DROP TABLE IF EXISTS users CASCADE; DROP FUNCTION IF EXISTS users_split_name_sync() CASCADE;`,
  );
}

/**
 * One PostgreSQL for the test file: started before its tests, stopped after them, and reset to
 * the split-name schema before each test. Read its fields inside tests (it starts in beforeAll).
 */
export function useSplitNameDatabase(): Pick<TestPostgres, 'url' | 'user' | 'password'> {
  let db: TestPostgres | undefined;
  beforeAll(async () => {
    db = await startPostgres();
  });
  afterAll(async () => {
    await db?.stop();
  });
  beforeEach(async () => {
    await resetDatabase(db!.url);
    await createSchema(db!.url);
  });
  return {
    get url() {
      return db!.url;
    },
    get user() {
      return db!.user;
    },
    get password() {
      return db!.password;
    },
  };
}
