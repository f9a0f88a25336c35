import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

interface Run {
  code: number | null;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

async function runAction(inputs: Record<string, string>, name: string): Promise<Run> {
  const outputFile = join(dir, `${name}.output`);
  const summaryFile = join(dir, `${name}.summary`);
  await writeFile(outputFile, '');
  await writeFile(summaryFile, '');
  await writeFile(join(dir, `${name}.state`), '');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile, GITHUB_WORKSPACE: dir, GITHUB_STATE: join(dir, `${name}.state`) };
  for (const [key, value] of Object.entries(inputs)) env[`INPUT_${key.toUpperCase()}`] = value;
  const child = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), ['src/actions/validate.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, outputs: parseOutputs(await readFile(outputFile, 'utf8')), summary: await readFile(summaryFile, 'utf8') };
}

/** GITHUB_OUTPUT's `name<<DELIMITER\nvalue\nDELIMITER` records. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const pattern = /^(.+?)<<(.+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(pattern)) outputs[m[1]!] = m[3]!;
  return outputs;
}

/** Everything a person could see; `::add-mask::` lines are the runner's masking commands, never shown. */
function visible(run: Run): string {
  const log = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
  return [...log, run.summary, JSON.stringify(run.outputs)].join('\n');
}

describe('actions/validate end to end', () => {
  it('succeeds for a healthy service, with outputs and a summary table', async () => {
    const run = await runAction({ metrics: 'analysis.yaml', 'prometheus-address': prom.url, 'prometheus-token': TOKEN, args: 'service: checkout' }, 'healthy');
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
    const run = await runAction({ metrics: ANALYSIS, 'prometheus-address': prom.url, 'prometheus-token': TOKEN, args: 'service: payments' }, 'failing');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error::Metric validation Failed: error-rate: Failed \(1 failed measurement > failureLimit 0; last: successCondition is false/);
    expect(run.outputs.result).toBe('Failed');
    expect(JSON.parse(run.outputs.report!).metrics[0].measurements[0].value).toBe('[0.2]');
    expect(run.summary).toContain('### ❌ Metric validation: Failed');
    expect(run.summary).toMatch(/\| 1 \| \d\d:\d\d:\d\d \| &#91;0\.2&#93; \| ❌ Failed \|/);
    expect(visible(run)).not.toContain(TOKEN);
  }, 30_000);

  it('names the bad path in invalid metric YAML, and measures nothing', async () => {
    const run = await runAction({ metrics: 'metrics:\n  - name: x\n    successCondition: result[0] <\n    provider: { prometheus: { query: up } }', 'prometheus-address': prom.url }, 'invalid');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error::Invalid metrics input:%0A  - 'metrics.0.successCondition': does not parse: unexpected end of condition/);
    expect(run.outputs.result).toBeUndefined();
  }, 30_000);

  it('refuses a metrics file outside the workspace', async () => {
    const run = await runAction({ metrics: '../../etc/passwd.yaml', 'prometheus-address': prom.url }, 'outside');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error::metrics: \.\.\/\.\.\/etc\/passwd\.yaml is outside the workspace/);
  }, 30_000);
});
