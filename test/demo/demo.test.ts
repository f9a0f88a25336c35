import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { simulatedValue, startSimulatedPrometheus } from '../../scripts/demo/metrics.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** Every file under dir, as paths relative to it. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('npm run demo', () => {
  let out: string;
  let stdout = '';
  let exitCode = 0;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'demo-test-'));
    // As `npm run demo -- --out <dir>` does (tsx), but one process, so nothing is left behind.
    try {
      ({ stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--out', out], {
        cwd: ROOT,
        timeout: 55_000,
        maxBuffer: 16 * 1024 * 1024,
      }));
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      exitCode = typeof e.code === 'number' ? e.code : -1;
      stdout = `${e.stdout ?? ''}\n${e.stderr ?? ''}`;
    }
  }, 60_000);

  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('ends each scenario as expected and says so', async () => {
    expect(exitCode, stdout).toBe(0);
    const verdicts = JSON.parse(await readFile(join(out, 'verdicts.json'), 'utf8')) as { scenario: string; result: string; ok: boolean }[];
    expect(verdicts.map((v) => [v.scenario, v.result, v.ok])).toEqual([
      ['1-checkout-blue-green', 'switched', true],
      ['2-cart-canary-promote', 'promoted', true],
      ['3-cart-canary-abort', 'aborted', true],
    ]);
    expect(stdout).toMatch(/^PASS {2}checkout blue-green: switched/m);
    expect(stdout).toMatch(/^PASS {2}cart canary 2\.4\.0: promoted/m);
    expect(stdout).toMatch(/^PASS {2}cart canary 2\.5\.0: aborted/m);
    expect(stdout).toContain(`kubectl --kubeconfig ${join(out, 'kubeconfig')} get vs -n shop -o yaml`);
    expect(stdout).toMatch(/^Metrics {5}(Prometheus|SIMULATED)/m);
    // Progress is the flows' own reporter output, prefixed per scenario.
    expect(stdout).toMatch(/^\[checkout blue-green\] Switched: green takes all traffic/m);
    expect(stdout).toMatch(/^\[cart canary 2\.5\.0\] .*Canary aborted/m);
  });

  it('writes each job summary and outputs, naming the service and the result', async () => {
    const expected = [
      ['1-checkout-blue-green', 'checkout', 'switched'],
      ['2-cart-canary-promote', 'cart', 'promoted'],
      ['3-cart-canary-abort', 'cart', 'aborted'],
    ] as const;
    for (const [dir, service, result] of expected) {
      const summary = await readFile(join(out, dir, 'summary.md'), 'utf8');
      expect(summary, dir).toContain(service);
      expect(summary.toLowerCase(), dir).toContain(result);
      const outputs = JSON.parse(await readFile(join(out, dir, 'outputs.json'), 'utf8')) as Record<string, string>;
      expect(outputs.result, dir).toBe(result);
    }
    const bg = JSON.parse(await readFile(join(out, '1-checkout-blue-green', 'outputs.json'), 'utf8')) as Record<string, string>;
    expect(bg['active-color']).toBe('green');
  });

  it('saves the Slack payloads of each scenario, with the service and the result', async () => {
    const slack = (await readdir(join(out, 'slack'))).sort();
    for (const [id, service, result] of [
      ['1-checkout-blue-green', 'checkout', 'switched'],
      ['2-cart-canary-promote', 'cart', 'promoted'],
      ['3-cart-canary-abort', 'cart', 'aborted'],
    ] as const) {
      const mine = slack.filter((f) => f.endsWith(`-${id}.json`));
      expect(mine.length, id).toBeGreaterThan(0);
      const texts = await Promise.all(mine.map((f) => readFile(join(out, 'slack', f), 'utf8')));
      for (const text of texts) expect(() => JSON.parse(text)).not.toThrow();
      expect(texts.join('\n'), id).toContain(service);
      expect(texts.join('\n').toLowerCase(), id).toContain(result);
    }
  });

  it('shows no kubeconfig token or webhook path in any file but the kubeconfig, nor on the console', async () => {
    const kubeconfig = parseYaml(await readFile(join(out, 'kubeconfig'), 'utf8')) as { users: { user: { token: string } }[] };
    const token = kubeconfig.users[0]!.user.token;
    expect(token.length).toBeGreaterThan(8);
    const all = await files(out);
    expect(all).toContain('kubeconfig');
    for (const file of all.filter((f) => f !== 'kubeconfig')) {
      const text = await readFile(join(out, file), 'utf8');
      expect(text.includes(token), `${file} contains the kubeconfig token`).toBe(false);
      expect(/BDEMO0000\/[0-9a-f]{24}/.test(text), `${file} contains the webhook's secret path`).toBe(false);
    }
    expect(stdout.includes(token)).toBe(false);
    expect(/BDEMO0000\/[0-9a-f]{24}/.test(stdout)).toBe(false);
  });
});

describe('the simulated metric source', () => {
  it('answers the demo queries with the same values as the data in Prometheus', async () => {
    const error = (service: string, version: string) =>
      `sum(rate(http_requests_total{service="${service}",version="${version}",code="500"}[1m])) / sum(rate(http_requests_total{service="${service}",version="${version}"}[1m]))`;
    expect(simulatedValue(error('cart', '2.5.0'))).toBe(0.07);
    expect(simulatedValue(error('cart', '2.4.0'))).toBe(0.002);
    expect(simulatedValue(error('cart', '9.9.9'))).toBeUndefined();
    const sim = await startSimulatedPrometheus();
    try {
      const response = await fetch(`${sim.url}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: error('checkout', '1.25.0'), time: '1700000000' }),
      });
      expect(await response.json()).toEqual({
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: {}, value: [1700000000, '0.003'] }] },
      });
      const empty = await (await fetch(`${sim.url}/api/v1/query?query=up`)).json();
      expect(empty).toEqual({ status: 'success', data: { resultType: 'vector', result: [] } });
      expect((await fetch(`${sim.url}/api/v1/query_range`)).status).toBe(404);
    } finally {
      await sim.stop();
    }
  });
});
