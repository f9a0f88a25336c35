import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import { parseMetrics, renderSummary, runAnalysis, type RunAnalysisOptions } from '../../src/core/metrics/index.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import {
  FIXED_DAY,
  freePort,
  gaugeSeries,
  gaussian,
  httpTraffic,
  seededRandom,
  startPrometheus,
  toOpenMetrics,
  type PrometheusServer,
} from '../support/prometheus.js';

/**
 * The engine against a real Prometheus holding a fixed day of data:
 *  - checkout: healthy (0.1% errors, ~100 ms);
 *  - payments: errors jump from 0.2% to 8% at +30 min;
 *  - search: slow (~400 ms typical, p95 ≈ 580 ms);
 *  - cart: a p95 gauge for baseline, an equal noisy canary, and a canary 30% slower.
 * Time is a fake clock starting at fixed evaluation times, so a "5 minute" analysis takes milliseconds.
 */

const MIN = 60;
let prom: PrometheusServer;

beforeAll(async () => {
  const span = { from: FIXED_DAY, to: FIXED_DAY + 120 * MIN, stepSeconds: 15 };
  const noisy = (seed: number, mean: number) => {
    const noise = gaussian(seededRandom(seed));
    return () => mean + 25 * noise();
  };
  prom = await startPrometheus({
    openMetrics: toOpenMetrics(
      httpTraffic({ ...span, service: 'checkout', rps: 20, errorRatio: () => 0.001, latencyMs: () => 100 }),
      httpTraffic({
        ...span,
        service: 'payments',
        rps: 20,
        errorRatio: (t) => (t > FIXED_DAY + 30 * MIN ? 0.08 : 0.002),
        latencyMs: () => 150,
      }),
      httpTraffic({ ...span, service: 'search', rps: 20, latencyMs: () => 400 }),
      gaugeSeries('latency_p95_ms', { service: 'cart', version: 'baseline' }, span.from, span.to, 15, noisy(1, 200)),
      gaugeSeries('latency_p95_ms', { service: 'cart', version: 'canary-equal' }, span.from, span.to, 15, noisy(2, 200)),
      gaugeSeries('latency_p95_ms', { service: 'cart', version: 'canary-slow' }, span.from, span.to, 15, noisy(3, 260)),
    ),
  });
});

afterAll(async () => {
  await prom?.stop();
});

/** A clock that starts at `startSeconds` and only moves when the engine sleeps. */
function fakeClock(startSeconds: number) {
  let now = startSeconds * 1000;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

const ERROR_RATE = `
- name: error-rate
  interval: 1m
  count: 3
  successCondition: result[0] < 0.01
  provider:
    prometheus:
      query: sum(rate(http_requests_total{service="{{args.service}}",code="500"}[2m])) / sum(rate(http_requests_total{service="{{args.service}}"}[2m]))
`;

const P95 = `
- name: p95-latency-ms
  interval: 1m
  count: 3
  successCondition: result[0] <= 500
  provider:
    prometheus:
      query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="{{args.service}}"}[2m]))) * 1000
`;

async function analyse(yaml: string, args: Record<string, string>, atSeconds: number, extra: Partial<RunAnalysisOptions> = {}) {
  const reporter = new MemoryReporter();
  const result = await runAnalysis({
    analysis: parseMetrics(yaml, 'test metrics'),
    args,
    defaults: { prometheusAddress: prom.url },
    reporter,
    retry: { attempts: 2, baseDelayMs: 5 },
    ...fakeClock(atSeconds),
    ...extra,
  });
  return { result, reporter };
}

describe('runAnalysis against a real Prometheus', () => {
  it('passes a healthy service on error rate and histogram p95', async () => {
    const { result, reporter } = await analyse(ERROR_RATE + P95, { service: 'checkout' }, FIXED_DAY + 60 * MIN);
    expect(result.phase).toBe('Successful');
    const [errors, latency] = result.metrics;
    expect(errors!.measurements.map((m) => m.phase)).toEqual(['Successful', 'Successful', 'Successful']);
    expect(Number(errors!.measurements[0]!.value!.slice(1, -1))).toBeCloseTo(0.001, 6);
    const p95 = Number(latency!.measurements[0]!.value!.slice(1, -1));
    expect(p95).toBeGreaterThan(100);
    expect(p95).toBeLessThan(150);
    expect(errors!.query).toContain('service="checkout"');
    expect(reporter.messages('info').some((m) => m.startsWith('error-rate #3: [0.001] -> Successful'))).toBe(true);
    expect(new Set(errors!.measurements.map((m) => m.startedAt)).size).toBe(3);
  });

  it('fails once an error-rate rise exceeds failureLimit, and stops measuring', async () => {
    const yaml = ERROR_RATE.replace('count: 3', 'count: 20\n  failureLimit: 2');
    const { result } = await analyse(yaml, { service: 'payments' }, FIXED_DAY + 27 * MIN);
    const metric = result.metrics[0]!;
    expect(result.phase).toBe('Failed');
    expect(metric.failed).toBe(3);
    expect(metric.measurements[0]!.phase).toBe('Successful');
    expect(metric.measurements.at(-1)!.phase).toBe('Failed');
    expect(metric.measurements.length).toBeLessThan(20);
    expect(metric.message).toMatch(/^3 failed measurements > failureLimit 2; last: successCondition is false: result\[0\] < 0.01/);
    // The phase is the analysis's own (callers say "… Failed: …"), so the message does not repeat it.
    expect(result.message).toMatch(/^metric error-rate: 3 failed measurements > failureLimit 2/);
    expect(result.message).not.toContain('Failed');
  });

  it('fails a slow service on p95 from histogram_quantile', async () => {
    const { result } = await analyse(P95, { service: 'search' }, FIXED_DAY + 60 * MIN);
    expect(result.phase).toBe('Failed');
    const value = Number(result.metrics[0]!.measurements[0]!.value!.slice(1, -1));
    expect(value).toBeGreaterThan(500);
    expect(value).toBeLessThan(750); // true p95 580 ms; histogram_quantile interpolates in the 500–750 ms bucket
  });

  it('never passes without data: an unknown service is Inconclusive', async () => {
    const { result } = await analyse(ERROR_RATE, { service: 'ghost' }, FIXED_DAY + 60 * MIN);
    expect(result.phase).toBe('Inconclusive');
    expect(result.metrics[0]!.measurements[0]).toMatchObject({ phase: 'Inconclusive', value: '[]' });
    expect(result.metrics[0]!.message).toMatch(/1 inconclusive measurement > inconclusiveLimit 0; last: no data/);
  });

  it('lets a condition decide about NaN when it checks for it', async () => {
    const yaml = `
- name: guarded
  successCondition: isNaN(result) || result < 0.01
  provider:
    prometheus:
      query: scalar(sum(rate(http_requests_total{service="ghost"}[2m])))
`;
    const { result } = await analyse(yaml, {}, FIXED_DAY + 60 * MIN);
    expect(result.metrics[0]!.measurements[0]).toMatchObject({ phase: 'Successful', value: 'NaN' });
    expect(result.phase).toBe('Successful');
  });

  it('gives Error after consecutiveErrorLimit when Prometheus is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const yaml = `
- name: error-rate
  consecutiveErrorLimit: 2
  successCondition: result[0] < 0.01
  provider: { prometheus: { address: "${down}", query: up } }
`;
    const { result } = await analyse(yaml, {}, FIXED_DAY + 60 * MIN);
    const metric = result.metrics[0]!;
    expect(result.phase).toBe('Error');
    expect(metric.measurements).toHaveLength(3);
    expect(metric.count).toBe(0);
    expect(
      metric.measurements.every(
        (m) => m.phase === 'Error' && /cannot reach Prometheus at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/.test(m.message!),
      ),
    ).toBe(true);
    // Without an interval, Argo retries an errored metric after 10 s.
    expect(Date.parse(metric.measurements[1]!.startedAt) - Date.parse(metric.measurements[0]!.startedAt)).toBeGreaterThanOrEqual(10_000);
    expect(metric.message).toMatch(/3 consecutive errors > consecutiveErrorLimit 2/);
  });

  it("surfaces Prometheus's own error for a bad query", async () => {
    const yaml = `
- name: broken
  consecutiveErrorLimit: 0
  provider: { prometheus: { query: "sum(rate(http_requests_total[2m])" } }
`;
    const { result } = await analyse(yaml, {}, FIXED_DAY + 60 * MIN);
    expect(result.phase).toBe('Error');
    expect(result.metrics[0]!.measurements[0]!.message).toMatch(/rejected the query \(bad_data\): .*parse error/);
  });

  it('neutralises PromQL injection through args', async () => {
    const attack = '"}) or vector(1) #';
    const { result } = await analyse(ERROR_RATE, { service: attack }, FIXED_DAY + 60 * MIN);
    // Escaped, the attack is just a service name that matches nothing: no data, not a pass.
    expect(result.phase).toBe('Inconclusive');
    expect(result.metrics[0]!.query).toContain('service="\\"}) or vector(1) #"');

    const unquoted = `
- name: windowed
  provider: { prometheus: { query: "sum(rate(http_requests_total[{{args.window}}]))" } }
`;
    await expect(analyse(unquoted, { window: '2m]) or vector(1) #' }, FIXED_DAY)).rejects.toThrow(InputError);
    await expect(analyse(unquoted, { window: '2m]) or vector(1) #' }, FIXED_DAY)).rejects.toThrow(
      /args.window is used outside a quoted string/,
    );

    const regex = `
- name: regex
  successCondition: len(result) == 0
  provider: { prometheus: { query: "sum by (service) (rate(http_requests_total{service=~\\"{{args.service}}\\"}[2m]))" } }
`;
    const widened = await analyse(regex, { service: '.*' }, FIXED_DAY + 60 * MIN);
    expect(widened.result.metrics[0]!.measurements[0]).toMatchObject({ phase: 'Successful', value: '[]' });
  });

  it('evaluates a range query over a window (our extension)', async () => {
    const yaml = `
- name: error-rate-window
  successCondition: all(result[0], {# < 0.01})
  provider:
    prometheus:
      query: sum(rate(http_requests_total{service="{{args.service}}",code="500"}[2m])) / sum(rate(http_requests_total{service="{{args.service}}"}[2m]))
      range: { window: 10m, step: 1m }
`;
    expect((await analyse(yaml, { service: 'checkout' }, FIXED_DAY + 60 * MIN)).result.phase).toBe('Successful');
    const rising = await analyse(yaml, { service: 'payments' }, FIXED_DAY + 35 * MIN);
    expect(rising.result.phase).toBe('Failed');
    expect(rising.result.metrics[0]!.measurements[0]!.value).toMatch(/^\[\[0\.002, 0\.002, .*0\.08\]\]$/);
  });

  it('reads a JSON web endpoint with a JSONPath (here: the Prometheus API itself)', async () => {
    const yaml = `
- name: via-web
  successCondition: asFloat(result) < 0.01
  provider:
    web:
      url: "${prom.url}/api/v1/query?time=${FIXED_DAY + 60 * MIN}&query={{args.query}}"
      jsonPath: "{$.data.result[0].value[1]}"
`;
    const query = 'sum(rate(http_requests_total{code="500"}[2m])) / sum(rate(http_requests_total[2m]))';
    const { result } = await analyse(yaml, { query }, FIXED_DAY + 60 * MIN);
    expect(result.metrics[0]!.measurements[0]!.phase).toBe('Failed');
    const share = Number(JSON.parse(result.metrics[0]!.measurements[0]!.value!));
    expect(share).toBeGreaterThan(0.01);
    expect(result.metrics[0]!.query).toContain(encodeURIComponent(query));
  });

  it('measures an interval-only metric for the given duration, and refuses to run forever', async () => {
    const yaml = `
- name: background
  interval: 1m
  successCondition: result[0] < 0.01
  provider: { prometheus: { query: 'sum(rate(http_requests_total{service="checkout",code="500"}[2m])) / sum(rate(http_requests_total{service="checkout"}[2m]))' } }
`;
    const { result } = await analyse(yaml, {}, FIXED_DAY + 60 * MIN, { durationMs: 3 * 60_000 });
    expect(result.phase).toBe('Successful');
    expect(result.metrics[0]!.measurements).toHaveLength(4);
    await expect(analyse(yaml, {}, FIXED_DAY)).rejects.toThrow(/'background' has an interval but no count, so it would measure forever/);
  });

  it('does not let a dry-run metric decide', async () => {
    const yaml = `
metrics:
${(ERROR_RATE + P95.replace('p95-latency-ms', 'p95-dry')).replace(/^/gm, '  ')}
dryRun: [{ metricName: p95-dry }]
`;
    const { result } = await analyse(yaml, { service: 'search' }, FIXED_DAY + 60 * MIN);
    expect(result.metrics.map((m) => [m.name, m.phase, m.dryRun])).toEqual([
      ['error-rate', 'Successful', false],
      ['p95-dry', 'Failed', true],
    ]);
    expect(result.phase).toBe('Successful');
  });

  it('keeps secrets out of results, logs and the summary', async () => {
    const token = 'tok-9f8e7d6c5b4a3210';
    const header = 'hdr-0123456789abcdef';
    const yaml = `
- name: with-secrets
  consecutiveErrorLimit: 0
  provider:
    prometheus:
      query: "sum(rate(http_requests_total[2m])"
      headers: [{ key: X-Api-Key, valueFrom: { env: API_KEY } }]
`;
    const { result, reporter } = await analyse(yaml, {}, FIXED_DAY + 60 * MIN, {
      defaults: { prometheusAddress: `${prom.url}/`, prometheusToken: token },
      env: { API_KEY: header },
    });
    expect(result.phase).toBe('Error');
    const everything = JSON.stringify(result) + reporter.text() + renderSummary(result);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(header);
  });
});

describe('canary against baseline (Kayenta-style judge)', () => {
  const judge = (canary: string) => `
- name: canary-vs-baseline
  provider:
    judge:
      window: 30m
      step: 30s
      threshold: { pass: 95, marginal: 75 }
      metrics:
        - name: p95-latency
          baseline: latency_p95_ms{service="cart",version="baseline"}
          canary: latency_p95_ms{service="cart",version="${canary}"}
          direction: increase
          allowedIncrease: 1.1
`;

  it('fails a canary whose latency is shifted up', async () => {
    const { result } = await analyse(judge('canary-slow'), {}, FIXED_DAY + 60 * MIN);
    const m = result.metrics[0]!.measurements[0]!;
    expect(result.phase).toBe('Failed');
    expect(m.value).toBe('score 0 (Fail)');
    const judged = m.judgement!.metrics[0]!;
    expect(judged.classification).toBe('High');
    // Raw samples: the gauge is written every 15 s, read as a range vector over the 30-minute
    // window (Prometheus 2 includes both ends: 121; Prometheus 3 leaves the start out: 120).
    expect(judged.samples).toBe('raw');
    expect([120, 121]).toContain(judged.baseline.count);
    expect(judged.estimate!).toBeGreaterThan(40);
    expect(judged.estimate!).toBeLessThan(80);
    expect(judged.effectSize).toBeGreaterThan(1.1);
  });

  it('passes a noisy canary that is equal to the baseline', async () => {
    const { result } = await analyse(judge('canary-equal'), {}, FIXED_DAY + 60 * MIN);
    const m = result.metrics[0]!.measurements[0]!;
    expect(result.phase).toBe('Successful');
    expect(m.value).toBe('score 100 (Pass)');
    expect(m.judgement!.metrics[0]!.lower!).toBeLessThan(0);
    expect(m.judgement!.metrics[0]!.upper!).toBeGreaterThan(0);
  });

  it('is Inconclusive when the canary has no data', async () => {
    const { result } = await analyse(judge('missing'), {}, FIXED_DAY + 60 * MIN);
    expect(result.phase).toBe('Inconclusive');
    expect(result.metrics[0]!.measurements[0]!.judgement!.metrics[0]!.classification).toBe('NoData');
  });
});

describe('renderSummary', () => {
  it('shows each value against its condition, escaped', async () => {
    const { result } = await analyse(ERROR_RATE.replace('error-rate', 'error-rate'), { service: 'payments' }, FIXED_DAY + 40 * MIN);
    const markdown = renderSummary(result, 'Validate <payments>');
    expect(markdown).toContain('### ❌ Validate &lt;payments&gt;: Failed');
    expect(markdown).toContain('success when <code>result&#91;0&#93; &lt; 0.01</code>');
    expect(markdown).toContain('| # | Time (UTC) | Value | Result | Why |');
    expect(markdown).toMatch(/\| 1 \| 00:40:00 \| &#91;0\.08&#93; \| ❌ Failed \| successCondition is false/);
    expect(markdown).toContain('service=&quot;payments&quot;');
  });
});
