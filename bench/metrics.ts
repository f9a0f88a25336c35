import { parseMetrics, runAnalysis } from '../src/core/metrics/index.js';
import { classifyMetric } from '../src/core/metrics/judge.js';
import { mannWhitney } from '../src/core/metrics/stats/mann-whitney.js';
import { MemoryReporter } from '../src/core/reporter.js';
import { FIXED_DAY, gaussian, httpTraffic, seededRandom, startPrometheus, toOpenMetrics } from '../test/support/prometheus.js';
import { type BenchRow, median, timeRuns } from './lib.js';

/**
 * The analysis engine's costs:
 *  - 20 metrics (10 error-rate, 10 histogram p95 over 10 services) measured concurrently against
 *    a real Prometheus, one measurement each;
 *  - the Mann-Whitney test with Hodges–Lehmann interval on 10,000 samples per side, and the
 *    Kayenta-style classification that wraps it.
 */
export async function run(): Promise<BenchRow[]> {
  const services = Array.from({ length: 10 }, (_, i) => `svc-${i}`);
  const prom = await startPrometheus({
    openMetrics: toOpenMetrics(
      ...services.map((service, i) =>
        httpTraffic({
          service,
          from: FIXED_DAY,
          to: FIXED_DAY + 3600,
          stepSeconds: 15,
          rps: 50,
          errorRatio: () => 0.001 * (i + 1),
          latencyMs: () => 80 + 10 * i,
        }),
      ),
    ),
  });
  try {
    const yaml = {
      metrics: services.flatMap((service) => [
        {
          name: `${service}-errors`,
          successCondition: 'result[0] < 0.05',
          provider: {
            prometheus: {
              query: `sum(rate(http_requests_total{service="${service}",code="500"}[2m])) / sum(rate(http_requests_total{service="${service}"}[2m]))`,
            },
          },
        },
        {
          name: `${service}-p95`,
          successCondition: 'result[0] <= 500',
          provider: {
            prometheus: {
              query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="${service}"}[2m]))) * 1000`,
            },
          },
        },
      ]),
    };
    const analysis = parseMetrics(yaml, 'bench');
    const at = (FIXED_DAY + 1800) * 1000;
    const once = async () => {
      const result = await runAnalysis({
        analysis,
        defaults: { prometheusAddress: prom.url },
        reporter: new MemoryReporter(),
        now: () => at,
      });
      if (result.phase !== 'Successful') throw new Error(`bench analysis was ${result.phase}: ${result.message}`);
    };
    const analysisTimes = await timeRuns(10, once, 2);

    const noise = gaussian(seededRandom(42));
    const baseline = Array.from({ length: 10_000 }, () => 200 + 20 * noise());
    const canary = Array.from({ length: 10_000 }, () => 203 + 20 * noise());
    const mwTimes = await timeRuns(10, async () => mannWhitney(canary, baseline, 0.95), 2);
    const classifyTimes = await timeRuns(
      10,
      async () =>
        classifyMetric(baseline, canary, {
          direction: 'either',
          allowedIncrease: 1.1,
          allowedDecrease: 0.9,
          confidence: 0.95,
          tolerance: 0.25,
        }),
      2,
    );
    const shift = mannWhitney(canary, baseline, 0.95);

    return [
      {
        area: 'metrics',
        name: '20 metrics measured concurrently (real Prometheus, one analysis)',
        median: median(analysisTimes),
        unit: 'ms',
        runs: analysisTimes.length,
        note: '10 error-rate + 10 histogram p95 queries',
      },
      {
        area: 'metrics',
        name: 'Mann-Whitney U + Hodges–Lehmann interval, 10,000 per side',
        median: median(mwTimes),
        unit: 'ms',
        runs: mwTimes.length,
        note: `estimate ${shift.estimate.toFixed(2)} [${shift.lower.toFixed(2)}, ${shift.upper.toFixed(2)}]`,
      },
      {
        area: 'metrics',
        name: 'Kayenta-style classification, 10,000 per side',
        median: median(classifyTimes),
        unit: 'ms',
        runs: classifyTimes.length,
      },
    ];
  } finally {
    await prom.stop();
  }
}
