import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActionRun, runAction as runActionEntry } from '../support/action-runner.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpTraffic, startPrometheus, toOpenMetrics, type PrometheusServer } from '../support/prometheus.js';

/**
 * The action end to end: `tsx src/actions/validate.ts` with INPUT_* variables, GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, against a real Prometheus. The process uses the real clock, so the
 * data here lies around the present: half an hour back and ten minutes ahead.
 */

const TOKEN = 'prom-token-5f2c9a1e7b3d';
let prom: PrometheusServer;
let dir: string;

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000 / 15) * 15;
  const span = { from: now - 1800, to: now + 600, stepSeconds: 15, rps: 20 };
  prom = await startPrometheus({
    openMetrics: toOpenMetrics(
      httpTraffic({ ...span, service: 'checkout', errorRatio: () => 0.001 }),
      httpTraffic({ ...span, service: 'payments', errorRatio: () => 0.2 }),
    ),
  });
  dir = await mkdtemp(join(tmpdir(), 'validate-action-'));
  await writeFile(join(dir, 'analysis.yaml'), ANALYSIS);
});

afterAll(async () => {
  await prom?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ANALYSIS = `
kind: AnalysisTemplate
spec:
  args: [{ name: service }]
  metrics:
    - name: error-rate
      successCondition: result[0] < 0.01
      provider:
        prometheus:
          query: sum(rate(http_requests_total{service="{{args.service}}",code="500"}[2m])) / sum(rate(http_requests_total{service="{{args.service}}"}[2m]))
`;

function runAction(inputs: Record<string, string>, _name: string): Promise<ActionRun> {
  return runActionEntry({ entry: 'src/actions/validate.ts', inputs, dir, env: { GITHUB_WORKSPACE: dir } });
}

/** Everything a person could see; `::add-mask::` lines are the runner's masking commands, never shown. */
function visible(run: ActionRun): string {
  const log = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
  return [...log, run.summary, JSON.stringify(run.outputs)].join('\n');
}

describe('actions/validate end to end', () => {
  it('succeeds for a healthy service, with outputs and a summary table', async () => {
    const run = await runAction(
      { metrics: 'analysis.yaml', 'prometheus-address': prom.url, 'prometheus-token': TOKEN, args: 'service: checkout' },
      'healthy',
    );
    expect(run.stdout).not.toMatch(/::error::/);
    expect(run.code).toBe(0);
    expect(run.outputs.result).toBe('Successful');
    const report = JSON.parse(run.outputs.report!);
    expect(report.metrics[0].measurements[0]).toMatchObject({ phase: 'Successful', value: '[0.001]' });
    expect(run.summary).toContain('### ✅ Metric validation: Successful');
    expect(run.summary).toContain('| 1 |');
    expect(visible(run)).not.toContain(TOKEN);
  }, 30_000);

  it('fails the step when the error rate is too high, still setting the outputs', async () => {
    const run = await runAction(
      { metrics: ANALYSIS, 'prometheus-address': prom.url, 'prometheus-token': TOKEN, args: 'service: payments' },
      'failing',
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /::error::Metric validation Failed: metric error-rate: 1 failed measurement > failureLimit 0; last: successCondition is false/,
    );
    expect(run.outputs.result).toBe('Failed');
    expect(JSON.parse(run.outputs.report!).metrics[0].measurements[0].value).toBe('[0.2]');
    expect(run.summary).toContain('### ❌ Metric validation: Failed');
    expect(run.summary).toMatch(/\| 1 \| \d\d:\d\d:\d\d \| &#91;0\.2&#93; \| ❌ Failed \|/);
    expect(visible(run)).not.toContain(TOKEN);
  }, 30_000);

  it('names the bad path in invalid metric YAML, and measures nothing', async () => {
    const run = await runAction(
      {
        metrics: 'metrics:\n  - name: x\n    successCondition: result[0] <\n    provider: { prometheus: { query: up } }',
        'prometheus-address': prom.url,
      },
      'invalid',
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /::error::Invalid metrics input:%0A {2}- 'metrics.0.successCondition': does not parse: unexpected end of condition/,
    );
    // Bad input still sets result, for the workflow to branch on (issue 15), and nothing was measured.
    expect(run.outputs.result).toBe('failed');
  }, 30_000);

  it('refuses a metrics file outside the workspace', async () => {
    const run = await runAction({ metrics: '../../etc/passwd.yaml', 'prometheus-address': prom.url }, 'outside');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error::metrics: \.\.\/\.\.\/etc\/passwd\.yaml is outside the workspace/);
  }, 30_000);
});
