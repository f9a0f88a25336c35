import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { colorDeployments, hostsInputs, hostsVirtualService } from '../blue-green/harness.js';
import { CANARY_IMAGE, ISTIO_ROUTING, WORKLOADS, meshObjects } from '../canary/harness.js';
import { startRecorder, type HttpRecorder } from '../notify/http-recorder.js';

/**
 * Every action as the runner starts it (src/actions/<name>.ts, INPUT_* variables, GITHUB_OUTPUT,
 * GITHUB_STEP_SUMMARY, GITHUB_STATE), with every secret it takes set: the kubeconfig's token, a
 * Slack webhook (a local receiver recording the payloads), a GitHub token (a local GitHub API), a
 * Prometheus token, a database URL with a password. No secret appears in the visible log, the
 * outputs, the summary, a Slack payload or a GitHub API body.
 */

let cluster: TestCluster;
let recorder: HttpRecorder;
let dir: string;
const WEBHOOK_PATH = '/services/T0RELIA/B0RELIA/WebhookSecretPath9f8e7d';
const GITHUB_TOKEN = 'ghs_GithubSecretToken1234567890abcdef';
const PROM_TOKEN = 'prom-secret-token-7c1d2e3f4a5b';
const DB_PASSWORD = 'Db-Secret-Pa55word-42';

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 5, token: 'kube-secret-bearer-token-0a1b2c3d4e5f' });
  recorder = await startRecorder((req) =>
    req.path.startsWith('/services') ? { status: 200, body: 'ok' } : { status: 201, body: { id: 1, url: 'x' } },
  );
  dir = await mkdtemp(join(tmpdir(), 'pd-secrets-'));
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), recorder?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runAction(
  action: string,
  inputs: Record<string, string>,
): Promise<{ code: number | null; visible: string; everything: string }> {
  const files = { output: join(dir, `${action}.output`), summary: join(dir, `${action}.summary`), state: join(dir, `${action}.state`) };
  await Promise.all(Object.values(files).map((f) => writeFile(f, '')));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    GITHUB_WORKSPACE: dir,
    GITHUB_RUN_ID: '777',
    GITHUB_REPOSITORY: 'shop/checkout',
    GITHUB_API_URL: recorder.url,
  };
  for (const [key, value] of Object.entries(inputs)) env[`INPUT_${key.toUpperCase()}`] = value;
  const child = spawn(process.execPath, ['--import', 'tsx', `src/actions/${action}.ts`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const visible = log
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  const written = (await Promise.all(Object.values(files).map((f) => readFile(f, 'utf8')))).join('\n');
  return { code, visible, everything: `${visible}\n${written}` };
}

test('no secret of any action reaches a log, an output, a summary, a Slack payload or a GitHub API body', async () => {
  await cluster.apply([...colorDeployments('sec'), hostsVirtualService('sec'), ...meshObjects('sec-canary')]);
  const common = {
    kubeconfig: cluster.kubeconfig,
    'slack-webhook-url': `${recorder.url}${WEBHOOK_PATH}`,
    'github-token': GITHUB_TOKEN,
    environment: 'production',
  };
  const dbUrl = `postgresql://app:${DB_PASSWORD}@127.0.0.1:1/shop`;
  const metrics = `metrics: [{ name: up, consecutiveErrorLimit: 0, successCondition: "result[0] >= 0", provider: { prometheus: { query: up } } }]`;
  const runs = {
    'blue-green': await runAction('blue-green', { ...common, ...hostsInputs('sec', { steps: '50,100', 'prometheus-token': PROM_TOKEN }) }),
    canary: await runAction('canary', {
      ...common,
      namespace: 'sec-canary',
      service: 'checkout',
      image: CANARY_IMAGE,
      'prometheus-token': PROM_TOKEN,
      config: stringifyYaml({ routing: ISTIO_ROUTING, workloads: WORKLOADS, steps: [{ setWeight: 20 }] }),
    }),
    rollback: await runAction('rollback', {
      ...common,
      namespace: 'shop',
      service: 'sec',
      mode: 'all',
      'database-url': dbUrl,
      'rollback-command': 'true',
    }),
    validate: await runAction('validate', { metrics, 'prometheus-address': 'http://127.0.0.1:1', 'prometheus-token': PROM_TOKEN }),
    migrate: await runAction('migrate', {
      phase: 'expand',
      version: '2026_11_23_split_name',
      command: 'true',
      'database-url': dbUrl,
      'slack-webhook-url': common['slack-webhook-url'],
      service: 'checkout',
    }),
  };
  // They ran: blue-green and canary succeeded, the others failed on purpose (no database, no Prometheus) after reading their secrets.
  expect(runs['blue-green'].code, runs['blue-green'].visible).toBe(0);
  expect(runs.canary.code, runs.canary.visible).toBe(0);
  for (const run of [runs.rollback, runs.validate, runs.migrate]) expect(run.code).toBe(1);
  const slack = recorder.requests.filter((r) => r.path === WEBHOOK_PATH);
  expect(slack.length).toBeGreaterThanOrEqual(4);
  const github = recorder.requests.filter((r) => !r.path.startsWith('/services'));
  expect(github.length).toBeGreaterThan(0);
  expect(
    github.every((r) => r.headers.authorization === `token ${GITHUB_TOKEN}` || r.headers.authorization === `Bearer ${GITHUB_TOKEN}`),
  ).toBe(true);

  const secrets = [
    cluster.token,
    WEBHOOK_PATH,
    'WebhookSecretPath9f8e7d',
    GITHUB_TOKEN,
    PROM_TOKEN,
    DB_PASSWORD,
    encodeURIComponent(DB_PASSWORD),
  ];
  const haystacks = {
    ...Object.fromEntries(Object.entries(runs).map(([name, r]) => [name, r.everything])),
    slack: slack.map((r) => r.body).join('\n'),
    github: github.map((r) => r.body).join('\n'),
  };
  for (const [where, text] of Object.entries(haystacks))
    for (const secret of secrets) expect(text.includes(secret), `${where} shows ${secret}`).toBe(false);
}, 120_000);
