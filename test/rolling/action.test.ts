import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { makeSecrets, startSlack } from '../notify/fakes.js';
import type { HttpRecorder } from '../notify/http-recorder.js';
import { type ActionRun, runAction as runActionEntry, visibleLog } from '../support/action-runner.js';
import { httpTraffic, startPrometheus, toOpenMetrics, type PrometheusServer } from '../support/prometheus.js';
import { BROKEN, deployed, imageOf, NEW, OLD, podImages, startHarness, type Harness } from './harness.js';

/**
 * actions/rolling as the runner starts it: `src/actions/rolling.ts` with INPUT_* variables and the
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_STATE files, against the test cluster, a Slack
 * stand-in and a real Prometheus. The secrets (the kubeconfig's bearer token, the Slack token,
 * the Prometheus token) are given as inputs, as from secrets, and never shown.
 */

let h: Harness;
let dir: string;
let slack: HttpRecorder;
let prom: PrometheusServer;
const secrets = makeSecrets();
const PROM_TOKEN = 'prom-Secret-Token-0123456789';

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000 / 15) * 15;
  [h, slack, prom] = await Promise.all([
    startHarness({ progressDeadlineMs: 400 }),
    startSlack(),
    // The action runs on the real clock: the data lies around the present.
    startPrometheus({
      openMetrics: toOpenMetrics(
        httpTraffic({
          service: 'basket',
          version: '2.0.0',
          from: now - 1800,
          to: now + 600,
          stepSeconds: 15,
          rps: 20,
          errorRatio: () => 0.3,
        }),
      ),
    }),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'rolling-action-'));
});
afterAll(async () => {
  await Promise.all([h?.close(), slack?.stop(), prom?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function runAction(inputs: Record<string, string>, runId: string): Promise<ActionRun> {
  return runActionEntry({
    entry: 'src/actions/rolling.ts',
    inputs: { kubeconfig: h.cluster.kubeconfig, 'lock-timeout': '5s', ...inputs },
    dir,
    env: {
      GITHUB_WORKSPACE: dir,
      GITHUB_RUN_ID: runId,
      GITHUB_REPOSITORY: 'shop/checkout',
      GITHUB_ACTION_REPOSITORY: 'acme/delivery',
      GITHUB_ACTION_REF: 'v1',
      SLACK_API_URL: `${slack.url}/api`,
    },
  });
}

/** What a person sees: the log without the runner's masking commands, the summary, the outputs and what Slack got. */
function visible(run: ActionRun): string {
  return [visibleLog(run), run.summary, JSON.stringify(run.outputs), ...slack.requests.map((r) => r.body)].join('\n');
}

function expectNoSecret(run: ActionRun): void {
  const text = visible(run);
  for (const secret of [h.cluster.token, secrets.slackToken, secrets.webhookPath, PROM_TOKEN]) expect(text).not.toContain(secret);
}

test('rolls out: exit 0, the outputs, the summary and one Slack message; no secret shown', async () => {
  await deployed(h, 'shop', 'checkout');
  const run = await runAction(
    {
      namespace: 'shop',
      service: 'checkout',
      image: NEW,
      'slack-token': secrets.slackToken,
      'slack-channel': 'C0DEPLOYS1',
      environment: 'production',
    },
    '1001',
  );
  expect(run.stdout).not.toMatch(/::error::/);
  expect(run.code).toBe(0);
  expect(run.outputs).toMatchObject({ result: 'rolled-out', 'previous-image': OLD, image: NEW, revision: '2' });
  expect(run.outputs['slack-message']).toMatch(/^C0DEPLOYS1\/\d+\.000100$/);
  expect(imageOf(h, 'shop', 'checkout')).toBe(NEW);
  expect(podImages(h, 'shop', 'checkout')).toEqual([NEW, NEW, NEW]);
  expect(run.summary).toMatch(/^## ✅ Deploy checkout 2\.0\.0 to production/);
  expect(run.summary).toContain('### Rolling update: rolled-out');
  expect(run.summary).toContain('- uses: acme/delivery/actions/rollback@v1');
  // One message, updated in place at each phase and at the end, with a thread reply for each.
  const posted = slack.requests.filter((r) => r.path.startsWith('/api/chat.'));
  expect(posted.map((r) => `${r.path} ${r.json.thread_ts ? 'reply' : ''}`.trim())).toEqual([
    '/api/chat.postMessage',
    '/api/chat.update',
    '/api/chat.postMessage reply',
    '/api/chat.update',
    '/api/chat.postMessage reply',
  ]);
  expect(posted.at(-2)!.body).toContain('Succeeded');
  expect(posted.at(-2)!.body).toContain('rolling');
  expect(run.outputs['slack-message']).toBe(`C0DEPLOYS1/${posted[3]!.json.ts}`);
  expect(run.stdout).toContain(`::add-mask::${h.cluster.token}`);
  expectNoSecret(run);
}, 60_000);

test('pods never ready: the previous image is back, result rolled-back, exit code 1 with the reason', async () => {
  await deployed(h, 'shop', 'payments');
  const run = await runAction({ namespace: 'shop', service: 'payments', image: BROKEN }, '1002');
  expect(run.code).toBe(1);
  expect(run.outputs).toMatchObject({ result: 'rolled-back', 'previous-image': OLD, image: OLD, revision: '3' });
  expect(run.stdout).toMatch(
    /::error::Deployment shop\/payments: rollout failed: ProgressDeadlineExceeded: .*ImagePullBackOff on pod payments-.*; Deployment shop\/payments is back on registry\.example\.com\/checkout:1\.0\.0 \(revision 3\), rolled out and read back/,
  );
  expect(run.summary).toContain('### Rolling update: rolled-back');
  expect(podImages(h, 'shop', 'payments')).toEqual([OLD, OLD, OLD]);
  expectNoSecret(run);
}, 60_000);

test('an analysis that fails with a Prometheus token: rolled-back, exit code 1; the token is never shown', async () => {
  await deployed(h, 'shop', 'basket');
  const run = await runAction(
    {
      namespace: 'shop',
      service: 'basket',
      image: NEW,
      analysis:
        'metrics: [{ name: error-rate, count: 1, successCondition: "result[0] < 0.05", provider: { prometheus: { query: \'sum(rate(http_requests_total{service="{{args.service}}",version="{{args.version}}",code="500"}[2m])) / sum(rate(http_requests_total{service="{{args.service}}",version="{{args.version}}"}[2m]))\' } } }]',
      'prometheus-address': prom.url,
      'prometheus-token': PROM_TOKEN,
    },
    '1003',
  );
  expect(run.code).toBe(1);
  expect(run.outputs).toMatchObject({ result: 'rolled-back', 'previous-image': OLD, image: OLD });
  expect(run.stdout).toMatch(
    /::error::Analysis of registry\.example\.com\/checkout:2\.0\.0 Failed: metric error-rate Failed with values \[0\.3/,
  );
  expect(run.summary).toContain('Analysis of 2.0.0 during and after the rollout');
  expect(imageOf(h, 'shop', 'basket')).toBe(OLD);
  expectNoSecret(run);
}, 60_000);

test('bad input: exit code 1 before any request, result failed, the summary says why; no secret shown', async () => {
  const since = h.cluster.requests.length;
  const run = await runAction(
    { namespace: 'shop', service: 'checkout', image: 'app:$(id)', 'slack-webhook-url': `${slack.url}${secrets.webhookPath}` },
    '1004',
  );
  expect(run.code).toBe(1);
  expect(run.outputs).toEqual({ result: 'failed' });
  expect(run.stdout).toMatch(/::error::.*'image': expected a container image/);
  expect(run.summary).toContain('image');
  // Only zod can judge this one: the bundle is loaded, and still nothing reaches the cluster.
  const noCount = await runAction(
    {
      namespace: 'shop',
      service: 'checkout',
      image: NEW,
      analysis: 'metrics: [{ name: e, interval: 1m, successCondition: "result[0] < 1", provider: { prometheus: { query: up } } }]',
      'prometheus-address': prom.url,
      'prometheus-token': PROM_TOKEN,
    },
    '1005',
  );
  expect(noCount.code).toBe(1);
  expect(noCount.outputs).toEqual({ result: 'failed' });
  expect(noCount.stdout).toMatch(/::error::Invalid inputs of rolling:%0A- analysis: metric 'e' has an interval but no count/);
  expect(h.cluster.requests.slice(since)).toEqual([]);
  expectNoSecret(run);
  expectNoSecret(noCount);
}, 60_000);

test('a Deployment with two containers and no container input: exit code 1, naming the input and the containers', async () => {
  await deployed(h, 'shop', 'mesh', { sidecar: true });
  const run = await runAction({ namespace: 'shop', service: 'mesh', image: NEW }, '1006');
  expect(run.code).toBe(1);
  expect(run.outputs).toEqual({ result: 'failed' });
  expect(run.stdout).toContain('container: Deployment shop/mesh has 2 containers (app, proxy); name the one whose image is set');
  expect(imageOf(h, 'shop', 'mesh')).toBe(OLD);
  expectNoSecret(run);
}, 60_000);
