import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import {
  ERROR_RETRY_INTERVAL_MS,
  parseMetrics,
  renderSummary,
  runAnalysis,
  type RunAnalysisOptions,
} from '../../src/core/metrics/index.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { FIXED_DAY, freePort, gaugeSeries, startPrometheus, toOpenMetrics, type PrometheusServer } from '../support/prometheus.js';

/**
 * The engine against Argo Rollouts' own semantics, case by case, each with the Argo code it
 * follows (argoproj/argo-rollouts: analysis/analysis.go, utils/analysis/helpers.go; v1.8 for
 * consecutiveSuccessLimit). Measured against a real Prometheus holding:
 *  - health_ok: 0 for the first three minutes of FIXED_DAY, then 1 (a service that recovers);
 *  - errors_total: 0 throughout (a healthy service).
 * The clock is fake: it moves only when the engine sleeps.
 */

const MIN = 60;
let prom: PrometheusServer;

beforeAll(async () => {
  prom = await startPrometheus({
    openMetrics: toOpenMetrics(
      gaugeSeries('health_ok', {}, FIXED_DAY - 10 * MIN, FIXED_DAY + 60 * MIN, 15, (t) => (t < FIXED_DAY + 170 ? 0 : 1)),
      gaugeSeries('errors_total', {}, FIXED_DAY - 10 * MIN, FIXED_DAY + 60 * MIN, 15, () => 0),
    ),
  });
});

afterAll(async () => {
  await prom?.stop();
});

/** A clock that starts at `startSeconds`, moves only when slept, and fires `stop` once it reaches `stopAtSeconds`. */
function clock(startSeconds: number, stopAtSeconds?: number) {
  let now = startSeconds * 1000;
  const stop = new AbortController();
  return {
    stop: stop.signal,
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
      if (stopAtSeconds !== undefined && now >= stopAtSeconds * 1000) stop.abort(new Error('the canary finished'));
    },
  };
}

async function analyse(yaml: string, extra: Partial<RunAnalysisOptions> = {}) {
  const reporter = new MemoryReporter();
  const result = await runAnalysis({
    analysis: parseMetrics(yaml, 'test metrics'),
    defaults: { prometheusAddress: prom.url },
    reporter,
    retry: { attempts: 1 },
    ...clock(FIXED_DAY),
    ...extra,
  });
  return { result, reporter };
}

const gaps = (startedAt: string[]) => startedAt.slice(1).map((t, i) => (Date.parse(t) - Date.parse(startedAt[i]!)) / 1000);

describe('error retry (Argo DefaultErrorRetryInterval)', () => {
  // analysis.go generateMetricTasks: `if lastMeasurement.Phase == v1alpha1.AnalysisPhaseError {
  // interval = DefaultErrorRetryInterval }` with DefaultErrorRetryInterval = 10 * time.Second,
  // whatever metric.Interval is. So with interval 1s and consecutiveErrorLimit 4, Argo takes 5
  // measurements 10 s apart: Error after about 40 s, not 4 s.
  const down = async (extra = '') => `
- name: error-rate
  interval: 1s
  count: 100
  consecutiveErrorLimit: 4${extra}
  successCondition: result[0] < 0.01
  provider: { prometheus: { address: "http://127.0.0.1:${await freePort()}", query: errors_total } }
`;

  it('waits 10 s after an Error, whatever the interval', async () => {
    expect(ERROR_RETRY_INTERVAL_MS).toBe(10_000);
    const { result } = await analyse(await down());
    const metric = result.metrics[0]!;
    expect(result.phase).toBe('Error');
    expect(metric.measurements).toHaveLength(5);
    expect(gaps(metric.measurements.map((m) => m.startedAt))).toEqual([10, 10, 10, 10]);
    expect(metric.message).toMatch(/^5 consecutive errors > consecutiveErrorLimit 4/);
  });

  it('so under a 25 s duration the metric never reaches its error limit: Inconclusive, not Error', async () => {
    // Argo: measurements at 0, 10 and 20 s; at 25 s the run is over with 3 consecutive errors (<= 4).
    const { result } = await analyse(await down(), { durationMs: 25_000 });
    expect(result.metrics[0]!.measurements).toHaveLength(3);
    expect(result.phase).toBe('Inconclusive');
    expect(result.metrics[0]!.message).toMatch(/no measurement succeeded before the analysis reached its duration \(25s\): 3 errors/);
  });

  it('goes back to the interval once a measurement succeeds', async () => {
    const yaml = `
- name: recovers
  interval: 1m
  count: 3
  successCondition: result[0] < 0.01
  provider: { prometheus: { query: errors_total } }
`;
    const { result } = await analyse(yaml);
    expect(gaps(result.metrics[0]!.measurements.map((m) => m.startedAt))).toEqual([60, 60]);
  });
});

describe('consecutiveSuccessLimit (Argo v1.8)', () => {
  // Argo v1.8 (PR #3970, docs/features/analysis.md "ConsecutiveSuccessLimit and FailureLimit"):
  // failureLimit -1 turns failures off; a metric is Successful once consecutiveSuccessLimit
  // successes in a row are measured; when count is reached first it is Inconclusive if
  // failureLimit applies too, Failed if it does not. health_ok measures 0, 0, 0, 1, 1, 1, ...
  const metric = (limits: string) => `
- name: recovered
  interval: 1m
  ${limits}
  successCondition: result[0] == 1
  provider: { prometheus: { query: health_ok } }
`;

  it('waits for n successes in a row with failureLimit -1', async () => {
    const { result } = await analyse(metric('count: 10\n  failureLimit: -1\n  consecutiveSuccessLimit: 3'));
    const m = result.metrics[0]!;
    expect(m.measurements.map((x) => x.phase)).toEqual(['Failed', 'Failed', 'Failed', 'Successful', 'Successful', 'Successful']);
    expect(result.phase).toBe('Successful');
    expect(m.message).toBe('3 successful measurements in a row (consecutiveSuccessLimit 3 reached)');
  });

  it('still fails on failureLimit when both apply', async () => {
    const { result } = await analyse(metric('count: 10\n  failureLimit: 2\n  consecutiveSuccessLimit: 3'));
    expect(result.phase).toBe('Failed');
    expect(result.metrics[0]!.measurements).toHaveLength(3);
  });

  it('is Inconclusive at count when both apply and neither decided', async () => {
    const { result } = await analyse(metric('count: 5\n  failureLimit: 4\n  consecutiveSuccessLimit: 3'));
    expect(result.metrics[0]!.measurements.map((x) => x.phase)).toEqual(['Failed', 'Failed', 'Failed', 'Successful', 'Successful']);
    expect(result.phase).toBe('Inconclusive');
    expect(result.metrics[0]!.message).toMatch(
      /^count 5 reached without 3 successful measurements in a row \(consecutiveSuccessLimit\), and failureLimit 4 not exceeded/,
    );
  });

  it('is Failed at count when only the success limit applies', async () => {
    const { result } = await analyse(metric('count: 4\n  failureLimit: -1\n  consecutiveSuccessLimit: 2'));
    expect(result.phase).toBe('Failed');
    expect(result.metrics[0]!.message).toMatch(/^count 4 reached without 2 successful measurements in a row/);
  });

  it('is validated as Argo validates it', () => {
    expect(() => parseMetrics(metric('count: 4\n  failureLimit: -1'), 'm')).toThrow(
      /failureLimit -1 turns failures off, so give consecutiveSuccessLimit/,
    );
    expect(() => parseMetrics(metric('count: 2\n  consecutiveSuccessLimit: 3'), 'm')).toThrow(
      /consecutiveSuccessLimit \(3\) must not exceed count \(2\)/,
    );
    expect(() => parseMetrics(metric('count: 2\n  failureLimit: -2'), 'm')).toThrow(/or -1 to turn the limit off/);
  });
});

describe('spec.dryRun rules (Argo GetDryRunMetrics)', () => {
  // utils/analysis/helpers.go GetDryRunMetrics: regexp.MatchString(rule.MetricName, metric.Name)
  // for every rule (unanchored); `if matchCount < 1 { return ..., fmt.Errorf("dryRun[%d]: Rule
  // didn't match any metric name(s)", index) }`, which makes the AnalysisRun Error. An invalid
  // expression matches nothing (MatchString's error is ignored), so it errors the same way.
  const template = (rule: string) => `
kind: AnalysisTemplate
spec:
  dryRun: [{ metricName: ${JSON.stringify(rule)} }]
  metrics:
    - name: error-rate
      successCondition: result[0] < 0.01
      provider: { prometheus: { query: errors_total } }
    - name: p95-latency
      successCondition: result[0] < 0.01
      provider: { prometheus: { query: errors_total } }
`;
  const dry = (rule: string) => parseMetrics(template(rule), 'analysis.yaml').metrics.map((m) => [m.name, m.dryRun]);

  it('matches names with an unanchored regular expression', () => {
    expect(dry('latency')).toEqual([
      ['error-rate', false],
      ['p95-latency', true],
    ]);
    expect(dry('^error')).toEqual([
      ['error-rate', true],
      ['p95-latency', false],
    ]);
    expect(dry('.*')).toEqual([
      ['error-rate', true],
      ['p95-latency', true],
    ]);
    expect(dry('*')).toEqual([
      ['error-rate', true],
      ['p95-latency', true],
    ]); // our extension
  });

  it('refuses a rule that matches no metric, or that is not an expression', () => {
    expect(() => dry('latency-p99')).toThrow(InputError);
    expect(() => dry('latency-p99')).toThrow(
      /'spec.dryRun.0.metricName': "latency-p99" matches no metric \(metrics: error-rate, p95-latency\)/,
    );
    expect(() => dry('p95(')).toThrow(/'spec.dryRun.0.metricName': "p95\(" is not a valid regular expression/);
  });
});

describe('stopping a run early (the canary finished while it was measuring)', () => {
  const BACKGROUND = `
- name: error-rate
  interval: 1m
  count: 10
  successCondition: result[0] < 0.01
  provider: { prometheus: { query: errors_total } }
- name: health
  interval: 1m
  count: 10
  failureLimit: 5
  successCondition: result[0] == 1
  provider: { prometheus: { query: health_ok } }
`;

  it('ends as at its duration, with what each metric measured against what it planned', async () => {
    const { result } = await analyse(BACKGROUND, clock(FIXED_DAY, FIXED_DAY + 4 * MIN + 30));
    expect(result.stopped).toBe('the analysis was stopped (the canary finished)');
    const [errors, health] = result.metrics;
    expect(errors!.measurements).toHaveLength(5);
    expect(errors).toMatchObject({ planned: 10, count: 5, phase: 'Successful' });
    expect(errors!.message).toBe(
      '5 of 10 planned measurements taken (5 Successful), within limits, when the analysis was stopped (the canary finished)',
    );
    // Failed measurements within failureLimit are shown as such, not hidden behind the metric's phase.
    expect(health!.measurements.map((m) => m.phase)).toEqual(['Failed', 'Failed', 'Failed', 'Successful', 'Successful']);
    expect(health!.message).toMatch(/^5 of 10 planned measurements taken \(2 Successful, 3 Failed \(failureLimit 5\)\), within limits/);
    expect(result.phase).toBe('Successful');
    expect(result.message).toBe('all 2 metrics passed (the analysis was stopped (the canary finished))');
    expect(renderSummary(result)).toContain('5 of 10 planned measurements taken');
  });

  it('never calls a metric that took no measurement Successful', async () => {
    const delayed = BACKGROUND.replace(/interval: 1m/g, 'initialDelay: 5m\n  interval: 1m');
    const { result } = await analyse(delayed, clock(FIXED_DAY, FIXED_DAY + 2 * MIN));
    expect(result.metrics.map((m) => [m.phase, m.measurements.length, m.message])).toEqual([
      ['Inconclusive', 0, 'not measured: the analysis was stopped (the canary finished)'],
      ['Inconclusive', 0, 'not measured: the analysis was stopped (the canary finished)'],
    ]);
    expect(result.phase).toBe('Inconclusive');
  });

  it('does not count a consecutiveSuccessLimit metric as passed before it reached the limit', async () => {
    const yaml = `
- name: recovered
  interval: 1m
  count: 10
  failureLimit: -1
  consecutiveSuccessLimit: 3
  successCondition: result[0] == 1
  provider: { prometheus: { query: health_ok } }
`;
    const { result } = await analyse(yaml, clock(FIXED_DAY, FIXED_DAY + 4 * MIN + 30));
    expect(result.phase).toBe('Inconclusive');
    expect(result.metrics[0]!.message).toMatch(
      /^5 of 10 planned measurements taken, 2 successful in a row \(consecutiveSuccessLimit 3 not reached\)/,
    );
  });

  it('still throws when the run itself is cancelled (signal), as before', async () => {
    const cancelled = new AbortController();
    cancelled.abort(new Error('cancelled'));
    await expect(analyse(BACKGROUND, { signal: cancelled.signal })).rejects.toThrow('cancelled');
  });
});
