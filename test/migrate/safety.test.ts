import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runPhase } from '../../src/core/migrate/phase.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { columnsOf, createSchema, phaseRun, psqlFile, query, resetDatabase } from './harness.js';

/** The application: another database user, with its own connections. */
let db: TestPostgres;
let appUrl: string;
let appUser: string;
const appClients: pg.Client[] = [];

beforeAll(async () => {
  db = await startPostgres();
  appUser = `app_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await query(db.adminUrl, `CREATE ROLE ${appUser} LOGIN PASSWORD '${password}'`);
  appUrl = db.urlFor(appUser, password);
});
afterAll(async () => {
  await db?.stop();
});
beforeEach(async () => {
  await resetDatabase(db.url);
  await createSchema(db.url);
  await query(db.url, `GRANT SELECT, INSERT, UPDATE ON users TO ${appUser}; GRANT USAGE ON SEQUENCE users_id_seq TO ${appUser}`);
});
afterEach(async () => {
  await Promise.all(appClients.splice(0).map((c) => c.end().catch(() => undefined)));
});

async function appConnection(name: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: appUrl, application_name: name });
  await client.connect();
  appClients.push(client);
  const [row] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
  return { client, pid: row!.pid };
}

const expand = { phase: 'expand' as const, command: psqlFile('expand.sql'), rollbackCommand: psqlFile('expand-rollback.sql') };

describe('safety checks before the command', () => {
  it('refuses while a transaction is older than max-transaction-age, naming its pid, user, age, query start and query (literals hidden)', async () => {
    const { client, pid } = await appConnection('checkout-worker');
    await client.query('BEGIN');
    await client.query(`SELECT count(*) FROM users WHERE email <> 'private@example.com'`);
    await new Promise((resolve) => setTimeout(resolve, 600));

    const run = phaseRun(db.url, { ...expand, limits: { maxTransactionAgeMs: 300 } as never });
    const outcome = await runPhase(run.options);
    expect(outcome.result).toBe('refused');
    expect(outcome.message).toMatch(
      new RegExp(
        `^expand refused, the database is not safe to change now: a transaction has been open for [\\d.]+(ms|s) \\(more than max-transaction-age 300ms\\): ` +
          `pid ${pid}, user ${appUser}, application_name "checkout-worker", state idle in transaction, ` +
          `transaction started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, last query started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ` +
          // issue 15 section 6: the blocker's query, truncated and without its literals
          `\\("SELECT count\\(\\*\\) FROM users WHERE email <> '…'"\\)\\. ` +
          `DDL would queue behind it and block the application; end it \\(pg_terminate_backend\\(${pid}\\)\\) or wait$`,
      ),
    );
    // Nothing ran and nothing was recorded as started.
    expect(await columnsOf(db.url, 'users')).not.toContain('first_name');
    expect(outcome.ledger).toEqual([]);
    expect(run.reporter.text()).not.toContain('command:');

    // Once the transaction ends, the same phase runs.
    await client.query('ROLLBACK');
    expect((await runPhase(phaseRun(db.url, { ...expand, limits: { maxTransactionAgeMs: 300 } as never }).options)).result).toBe(
      'succeeded',
    );
  });

  it('refuses while a lock request waits, naming who waits on what and who blocks it', async () => {
    const holder = await appConnection('report-job');
    const waiter = await appConnection('api');
    await holder.client.query('BEGIN');
    await holder.client.query('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE');
    const waiting = waiter.client.query(`UPDATE users SET email = email WHERE id = 1`);
    await waitFor(async () => (await query(db.url, `SELECT 1 FROM pg_locks WHERE NOT granted AND pid = $1`, [waiter.pid])).length > 0);

    const outcome = await runPhase(phaseRun(db.url, expand).options);
    expect(outcome.result).toBe('refused');
    expect(outcome.message).toContain(`a lock request is waiting: pid ${waiter.pid}, user ${appUser}, RowExclusiveLock on users for`);
    expect(outcome.message).toContain(`blocked by pid ${holder.pid}`);
    await holder.client.query('ROLLBACK');
    await waiting;
  });

  it('reports active connections before and after the command', async () => {
    await appConnection('idle-app');
    const run = phaseRun(db.url, expand);
    await runPhase(run.options);
    const messages = run.reporter.messages('info');
    expect(messages.find((m) => m.startsWith('Before: '))).toMatch(/^Before: \d+ connection\(s\): \d+ active, 0 idle in transaction$/);
    expect(messages.find((m) => m.startsWith('After: '))).toMatch(/^After: \d+ connection\(s\)/);
  });
});

describe('lock_timeout on the command', () => {
  it('makes DDL give up behind a younger open transaction instead of queueing and stalling the application, naming the blocker', async () => {
    const { client, pid } = await appConnection('slow-report');
    await client.query('BEGIN');
    await client.query('SELECT count(*) FROM users');
    // The transaction is younger than max-transaction-age, so the checks pass; the ALTER TABLE must not wait for it.
    const run = phaseRun(db.url, { phase: 'expand', command: psqlFile('expand.sql'), limits: { statementLockTimeoutMs: 500 } as never });
    const started = Date.now();
    const outcome = await runPhase(run.options);
    const took = Date.now() - started;
    expect(outcome.result).toBe('failed');
    expect(outcome.message).toContain('canceling statement due to lock timeout');
    // issue 15 section 6: the session it waited behind is named
    expect(outcome.message).toContain(
      `lock_timeout ended a statement of the command; it waited behind pid ${pid} (user ${appUser}, application_name "slow-report", state idle in transaction, query "SELECT count(*) FROM users")`,
    );
    expect(took).toBeLessThan(20_000);
    // The application could go on reading and writing all along.
    await client.query(`INSERT INTO users (name, email) VALUES ('Still Working', 'still@example.com')`);
    await client.query('COMMIT');
    expect(await columnsOf(db.url, 'users')).not.toContain('first_name');
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
