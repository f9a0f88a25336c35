/**
 * Issue 15, item 5: deploy.yml tells Slack about a release in ONE message, updated through its
 * phases (expand → deliver → contract), each phase a reply in its thread, with the service's
 * name on every message (the migration's too, which once read "database"). The message's
 * channel and ts go from job to job as the `slack-message` output and input; the bot token never
 * leaves the secrets.
 *
 * simulate.ts drives deploy.yml; each action step runs as the runner starts it
 * (src/actions/<name>.ts) against the test cluster, a real PostgreSQL and a Slack stand-in that
 * speaks chat.postMessage / chat.update (test/notify/fakes.ts), reached through SLACK_API_URL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import type { HttpRecorder } from '../notify/http-recorder.js';
import { makeSecrets, startSlack } from '../notify/fakes.js';
import { runAction } from '../support/action-runner.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { checkoutBlueGreen } from './checkout-service.js';
import { loadModels, simulate, type ActionStepRun, type StepEnd, type WorkflowRun } from './simulate.js';
import { ownActionName } from './workflow-files.js';

const DEPLOY = '.github/workflows/deploy.yml';
const deploy = loadModels([DEPLOY])[DEPLOY]!;
const FIXTURES = fileURLToPath(new URL('../rollback/fixtures/', import.meta.url));
const psql = (file: string) => `psql -X -q -v ON_ERROR_STOP=1 -f ${file} $DATABASE_URL`;
const CHANNEL = 'C0DEPLOYS1';

let cluster: TestCluster;
let db: TestPostgres;
let slack: HttpRecorder;
let dir: string;
const token = makeSecrets().slackToken;
const logs: string[] = [];

beforeAll(async () => {
  [cluster, db, slack] = await Promise.all([startTestCluster({ podReadyDelayMs: 20 }), startPostgres(), startSlack(CHANNEL)]);
  dir = mkdtempSync(join(tmpdir(), 'pd-release-slack-'));
  writeFileSync(
    join(dir, 'contract-note.sql'),
    '-- Contract: the column the old version read.\nALTER TABLE orders DROP COLUMN legacy_note;\n',
  );
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(
    "CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, legacy_note text); INSERT INTO orders (customer) VALUES ('ada');",
  );
  await client.end();
  await cluster.apply(checkoutBlueGreen());
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), db?.stop(), slack?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function act(step: ActionStepRun): Promise<StepEnd | undefined> {
  if (step.uses.startsWith('actions/checkout@')) return { outcome: 'success' };
  const name = ownActionName(step.uses);
  if (!name) return undefined;
  const env = {
    GITHUB_RUN_ID: step.github.run_id!,
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_REPOSITORY: 'shop/checkout',
    GITHUB_JOB: step.job,
    GITHUB_WORKSPACE: dir,
    SLACK_API_URL: `${slack.url}/api`,
  };
  const main = await runAction({ entry: `src/actions/${name}.ts`, inputs: step.with, dir, env });
  const post = await runAction({ entry: `src/actions/${name}.ts`, inputs: step.with, dir, env, post: { stateFile: main.stateFile } });
  logs.push(`== ${step.job}.${step.id} (${main.code}/${post.code})\n${main.stdout}\n${post.stdout}`);
  return { outcome: main.code === 0 && post.code === 0 ? 'success' : 'failure', outputs: main.outputs };
}

/** Every text of a Slack request: the notification text and the blocks'. */
function texts(json: any): string {
  return JSON.stringify({ text: json?.text, blocks: json?.blocks });
}

describe('deploy.yml with a Slack bot token: one message per release', { timeout: 400_000 }, () => {
  let run: WorkflowRun;

  it('a whole release (expand → blue-green → contract) runs', async () => {
    run = await simulate(deploy, {
      trigger: 'call',
      inputs: {
        service: 'checkout',
        namespace: 'shop',
        environment: 'staging',
        image: 'registry.example.com/checkout',
        version: '1.1',
        strategy: 'blue-green',
        router: 'service',
        migration: '2026_12_01_email',
        'expand-command': psql(`${FIXTURES}expand-email.sql`),
        'migration-rollback-command': psql(`${FIXTURES}rollback-email.sql`),
        contract: true,
        'contract-command': psql(join(dir, 'contract-note.sql')),
        'slack-channel': CHANNEL,
      },
      secrets: { KUBECONFIG: cluster.kubeconfig, DATABASE_URL: db.url, SLACK_TOKEN: token },
      github: { run_id: '7001', token: '' },
      act,
    });
    const ran = Object.values(run.jobs)
      .filter((j) => j.ran)
      .map((j) => `${j.id}:${j.result}`);
    expect(ran, logs.join('\n')).toEqual(['prepare:success', 'expand:success', 'deliver:success', 'contract:success', 'summary:success']);
    expect(run.jobs.contract!.outputs.result).toBe('succeeded');
  });

  it('posts exactly one main message; every later job updates it, and every phase is a reply in its thread', () => {
    const posts = slack.requests.filter((r) => r.path === '/api/chat.postMessage');
    const updates = slack.requests.filter((r) => r.path === '/api/chat.update');
    const main = posts.filter((r) => !r.json.thread_ts);
    expect(main, logs.join('\n')).toHaveLength(1);
    expect(main[0]!.json.channel).toBe(CHANNEL);
    // The stand-in answers the first post with ts 1700000001.000100.
    const ts = '1700000001.000100';
    const replies = posts.filter((r) => r.json.thread_ts);
    expect(replies.length).toBeGreaterThanOrEqual(3);
    for (const reply of replies) expect(reply.json).toMatchObject({ channel: CHANNEL, thread_ts: ts });
    expect(updates.length).toBeGreaterThanOrEqual(3);
    for (const update of updates) expect(update.json).toMatchObject({ channel: CHANNEL, ts });
    // Updated through the release's phases, in order: the migration, the deploy, the contract.
    const titles = updates.map((u) => String(u.json.text));
    const first = (pattern: RegExp) => titles.findIndex((t) => pattern.test(t));
    const migration = first(/^Migration of checkout/);
    const deploy = first(/^Deploy checkout/);
    const contract = titles.findLastIndex((t) => /^Migration of checkout/.test(t));
    expect(migration).toBeGreaterThanOrEqual(0);
    expect(deploy).toBeGreaterThan(migration);
    expect(contract).toBeGreaterThan(deploy);
    expect(texts(updates.at(-1)!.json)).toMatch(/contract/i);
  });

  it('names the service on every message, never "database"', () => {
    const messages = slack.requests.filter((r) => r.path.startsWith('/api/chat.') && !r.json.thread_ts);
    for (const message of messages) {
      expect(String(message.json.text)).toMatch(/checkout/);
      expect(texts(message.json)).not.toMatch(/\bdatabase\b/);
    }
  });

  it('passes the message from job to job as <channel>/<ts>, and never the token', () => {
    const message = `${CHANNEL}/1700000001.000100`;
    expect(run.jobs.expand!.outputs['slack-message']).toBe(message);
    expect(run.jobs.deliver!.steps['blue-green']!.with['slack-message']).toBe(message);
    expect(run.jobs.deliver!.outputs['slack-message']).toBe(message);
    expect(run.jobs.contract!.steps.contract!.with['slack-message']).toBe(message);
    const outputs = JSON.stringify(Object.values(run.jobs).map((j) => [j.outputs, Object.values(j.steps).map((s) => s.outputs)]));
    expect(outputs).not.toContain(token);
    for (const request of slack.requests) expect(request.body).not.toContain(token);
    // The log tells the runner to mask it (`::add-mask::`, never shown), and says it nowhere else.
    const shown = logs
      .join('\n')
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'));
    expect(shown.join('\n')).not.toContain(token);
  });
});
