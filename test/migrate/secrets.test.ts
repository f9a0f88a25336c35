import { describe, expect, it } from 'vitest';
import { runPhase } from '../../src/core/migrate/phase.js';
import { phaseRun, psqlFile, query, useSplitNameDatabase } from './harness.js';

const db = useSplitNameDatabase();

/** Every form in which the URL's secret could leak. */
function secretForms(): string[] {
  return [db.url, db.password, encodeURIComponent(db.password), `${db.user}:${encodeURIComponent(db.password)}`];
}

function expectNoSecret(text: string): void {
  for (const secret of secretForms()) expect(text).not.toContain(secret);
}

/** A command that prints the URL and its password every way it can, to stdout and stderr, then fails. */
const LEAKY = [
  'node',
  '-e',
  `const u = new URL(process.env.DATABASE_URL);
   console.log('connecting to ' + process.env.DATABASE_URL);
   console.log('password ' + u.password);
   console.error('decoded ' + decodeURIComponent(u.password));
   console.error('argument ' + process.argv[1]);
   process.exit(4);`,
  '$DATABASE_URL',
];

describe('the database URL and its password never appear in output', () => {
  it('not in the log, the outcome, the output lines, the summary, nor the ledger in the database', async () => {
    await runPhase(phaseRun(db.url, { phase: 'expand', command: psqlFile('expand.sql') }).options);
    const run = phaseRun(db.url, { phase: 'migrate', command: LEAKY, rollbackCommand: LEAKY });
    const outcome = await runPhase(run.options);
    expect(outcome.result).toBe('failed');
    // The command did print them: they were redacted on the way.
    expect(run.reporter.messages('info')).toContain('connecting to ***');
    expect(run.reporter.messages('info')).toContain('password ***');
    expect(outcome.output).toContain('decoded ***');

    expectNoSecret(run.reporter.text());
    expectNoSecret(JSON.stringify(outcome));
    const stored = await query<{ message: string }>(db.url, `SELECT message FROM progressive_delivery.migration_ledger`);
    expect(stored.some((r) => r.message.includes('***'))).toBe(true);
    expectNoSecret(JSON.stringify(stored));
  });

  it('not in the log line naming a command that carries the URL literally', async () => {
    const run = phaseRun(db.url, {
      phase: 'expand',
      command: ['psql', '-X', '-q', '-f', `${process.cwd()}/test/migrate/fixtures/split-name/expand.sql`, db.url],
    });
    const titles: string[] = [];
    const group = run.reporter.group.bind(run.reporter);
    run.reporter.group = (title, work) => {
      titles.push(title);
      return group(title, work);
    };
    expect((await runPhase(run.options)).result).toBe('succeeded');
    expect(titles).toEqual([expect.stringMatching(/^command: psql -X -q -f \S+expand.sql \*\*\*$/)]);
    expectNoSecret(`${titles.join('\n')}\n${run.reporter.text()}`);
    // The ledger records the command, with the URL written as $DATABASE_URL.
    const rows = await query(db.url, `SELECT * FROM progressive_delivery.migration_ledger`);
    expect(JSON.stringify(rows)).toContain('$DATABASE_URL');
    expectNoSecret(JSON.stringify(rows));
  });

  it('not in the error when the database refuses the password', async () => {
    const wrong = db.url.replace(encodeURIComponent(db.password), encodeURIComponent(`${db.password}-wrong`));
    const run = phaseRun(wrong, { phase: 'expand', command: ['true'] });
    const error = await runPhase(run.options).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^cannot connect to the database: password authentication failed for user "migrator_\w+"$/);
    expectNoSecret(`${error?.message}\n${error?.stack}\n${run.reporter.text()}`);
    expect(`${error?.message}${error?.stack}`).not.toContain(`${db.password}-wrong`);
  });
});
