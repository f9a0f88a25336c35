import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyMetric, parseMetrics, runAnalysis, scoreMetrics, type MannWhitneyResult } from '../../src/core/metrics/index.js';
import type { ClassifyOptions } from '../../src/core/metrics/judge.js';
import { isVectorSelector } from '../../src/core/metrics/measure.js';
import { exactCdf, mannWhitney } from '../../src/core/metrics/stats/mann-whitney.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import {
  FIXED_DAY,
  gaugeSeries,
  gaussian,
  seededRandom,
  startPrometheus,
  toOpenMetrics,
  type PrometheusServer,
} from '../support/prometheus.js';

/**
 * The canary judge: no verdict without enough independent data, intervals whose stated
 * confidence is their real one. Reference values come from SciPy 1.17.1 (Debian's python3 with
 * scipy installed here), each with the call that produced it:
 *  - the exact null distribution of U: scipy.stats._mannwhitneyu._MWU(n, m).cdf(u), the one
 *    mannwhitneyu(method="exact") uses;
 *  - the exact Hodges–Lehmann interval as R's wilcox.test(exact = TRUE, conf.int = TRUE) builds it:
 *    qu = qwilcox(alpha/2, n, m) = the smallest u with _MWU(n, m).cdf(u) >= alpha/2 (1 if 0),
 *    interval = sorted differences x_i − y_j at positions qu and n·m − qu + 1 (1-based),
 *    achieved confidence = 1 − 2·cdf(qu − 1). The script:
 *
 *      import numpy as np, scipy.stats._mannwhitneyu as mw
 *      def exact_ci(x, y, conf):
 *          n, m = len(x), len(y)
 *          d = np.sort(np.subtract.outer(np.array(x), np.array(y)).ravel())
 *          dist = mw._MWU(n, m); alpha = 1 - conf
 *          qu = next(u for u in range(n*m+1) if dist.cdf(u) >= alpha/2)   # R's qwilcox(alpha/2, n, m)
 *          if qu == 0: qu = 1
 *          return qu, d[qu-1], d[n*m-qu], 1 - 2*dist.cdf(qu-1)
 */

describe('exact distribution of U (SciPy _MWU(n, m).cdf)', () => {
  it.each([
    [3, 3, 0, 0.05],
    [4, 4, 0, 0.014285714285714285],
    [10, 10, 0, 5.412544112234515e-6],
    [7, 6, 6, 0.01748251748251748],
    [9, 9, 17, 0.019991772932949403],
    [49, 49, 800, 0.002082643750355962],
    [49, 49, 1200, 0.499999999999995],
    [12, 40, 150, 0.025525807714518508],
  ])('n=%i m=%i: P(U <= %i) = %f', (n, m, u, p) => {
    expect(exactCdf(n, m)[u]).toBeCloseTo(p, 12);
    expect(exactCdf(n, m).at(-1)).toBeCloseTo(1, 12);
  });

  it('agrees with mannwhitneyu(x, y, method="exact").pvalue = 0.002331002331002331 (U = 41)', () => {
    const cdf = exactCdf(7, 6);
    expect(2 * (1 - cdf[40]!)).toBeCloseTo(0.002331002331002331, 12);
  });
});

describe('Hodges–Lehmann interval with its real confidence', () => {
  it('is exact for small samples without ties (reference: R rule on SciPy _MWU, see file comment)', () => {
    // exact_ci([5.1,4.9,6.2,5.8,6.0,5.5,5.3], [4.2,4.8,4.6,5.0,4.4,4.7], 0.95) -> qu 7, [0.3, 1.5], achieved 0.965034965034965
    const a = mannWhitney([5.1, 4.9, 6.2, 5.8, 6.0, 5.5, 5.3], [4.2, 4.8, 4.6, 5.0, 4.4, 4.7], 0.95);
    expect(a).toMatchObject({ method: 'exact', u: 41 });
    expect(a.lower).toBeCloseTo(0.3, 12);
    expect(a.upper).toBeCloseTo(1.5, 12);
    expect(a.achieved).toBeCloseTo(0.965034965034965, 12);
    // R's wilcox.test example data with the within-group ties moved apart:
    // exact_ci(x, y, 0.95) -> qu 18, [-0.37, 1.183], 0.9600164541341012; at 0.90 -> qu 22, [-0.098, 1.01], 0.9060880296174414
    const x = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
    const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.07, 3.14, 1.28];
    const b95 = mannWhitney(x, y, 0.95);
    expect([b95.lower, b95.upper, b95.achieved].map((v) => Number(v.toFixed(10)))).toEqual([-0.37, 1.183, 0.9600164541]);
    const b90 = mannWhitney(x, y, 0.9);
    expect([b90.lower, b90.upper, b90.achieved].map((v) => Number(v.toFixed(10)))).toEqual([-0.098, 1.01, 0.9060880296]);
  });

  it('has no 95% interval with 3 against 3: the widest is 90% (P(U=0) = 1/20 on each side)', () => {
    const r: MannWhitneyResult = mannWhitney([10, 11, 12], [1, 2, 3], 0.95);
    expect(r.lower).toBeNaN();
    expect(r.upper).toBeNaN();
    expect(r.achieved).toBeCloseTo(0.9, 12);
    // exact_ci([10,11,12], [1,2,3], 0.90) -> qu 1, [7.0, 11.0], achieved 0.9
    const r90 = mannWhitney([10, 11, 12], [1, 2, 3], 0.9);
    expect([r90.lower, r90.upper, r90.achieved]).toEqual([7, 11, 0.9]);
  });

  it('states the normal approximation of its coverage with ties or large samples, not the confidence asked for', () => {
    const noise = gaussian(seededRandom(5));
    const r = mannWhitney(
      Array.from({ length: 80 }, () => Math.round(100 + 10 * noise())),
      Array.from({ length: 80 }, () => Math.round(100 + 10 * noise())),
      0.95,
    );
    expect(r.method).toBe('normal');
    expect(Math.abs(r.achieved - 0.95)).toBeLessThan(0.01);
  });
});

describe('no verdict without enough samples', () => {
  const options: ClassifyOptions = { direction: 'either', allowedIncrease: 1, allowedDecrease: 1, confidence: 0.95, tolerance: 0.25 };

  it('is Insufficient below minSamples (default 50, Spinnaker best practice), whatever the data says', () => {
    // Before: 3 points against 3 gave High with an "interval" labelled 95% that was really 90%.
    const c = classifyMetric([1, 2, 3], [10, 11, 12], options);
    expect(c.classification).toBe('Insufficient');
    expect(c.reason).toBe('too few samples for a verdict: baseline 3, canary 3 (minSamples 50 per side)');
  });

  it('is Insufficient when minSamples allows the sizes but they allow no interval at that confidence', () => {
    const c = classifyMetric([1, 2, 3], [10, 11, 12], { ...options, minSamples: 3 });
    expect(c.classification).toBe('Insufficient');
    expect(c.reason).toBe('3 baseline and 3 canary samples allow no 95% interval (the widest has 90%); give more samples');
    const at90 = classifyMetric([1, 2, 3], [10, 11, 12], { ...options, minSamples: 3, confidence: 0.9 });
    expect(at90.classification).toBe('High');
    expect(at90.reason).toContain('90% interval (exact) of the shift [7, 11]');
  });

  it('makes the verdict Inconclusive, not a score, unless a critical metric with enough data failed', () => {
    const threshold = { pass: 90, marginal: 50 };
    expect(
      scoreMetrics(
        [
          { name: 'a', weight: 1, critical: false, classification: 'Pass' },
          { name: 'b', weight: 1, critical: false, classification: 'Insufficient' },
        ],
        threshold,
      ),
    ).toEqual({
      score: 0,
      verdict: 'Inconclusive',
      reason: "not enough data to judge 'b': no score",
    });
    expect(
      scoreMetrics(
        [
          { name: 'a', weight: 1, critical: true, classification: 'High' },
          { name: 'b', weight: 1, critical: false, classification: 'Insufficient' },
        ],
        threshold,
      ).verdict,
    ).toBe('Fail');
  });
});

describe('raw samples, not lookback repeats (real Prometheus)', () => {
  // A gauge written every 10 minutes: 3 real samples in a 30-minute window. Prometheus' 5-minute
  // lookback repeats each at every step of a range query (step 30 s: about 30 points, half the
  // window), which the judge used to count as that many samples.
  const MIN = 60;
  let prom: PrometheusServer;
  beforeAll(async () => {
    const span = [FIXED_DAY, FIXED_DAY + 120 * MIN] as const;
    prom = await startPrometheus({
      openMetrics: toOpenMetrics(
        gaugeSeries('sparse_latency_ms', { version: 'baseline' }, ...span, 600, (t) => 200 + ((t / 600) % 3)),
        gaugeSeries('sparse_latency_ms', { version: 'canary' }, ...span, 600, (t) => 400 + ((t / 600) % 3)),
      ),
    });
  });
  afterAll(async () => {
    await prom?.stop();
  });

  const judge = (minSamples?: number, query = (v: string) => `sparse_latency_ms{version="${v}"}`) => `
- name: canary-vs-baseline
  provider:
    judge:
      window: 30m
      step: 30s
      ${minSamples ? `minSamples: ${minSamples}` : ''}
      threshold: { pass: 95, marginal: 75 }
      metrics:
        - name: latency
          baseline: ${query('baseline')}
          canary: ${query('canary')}
`;
  const run = async (yaml: string) =>
    (
      await runAnalysis({
        analysis: parseMetrics(yaml, 'judge'),
        defaults: { prometheusAddress: prom.url },
        reporter: new MemoryReporter(),
        retry: { attempts: 1 },
        now: () => (FIXED_DAY + 60 * MIN + 1) * 1000,
        sleep: async () => {},
      })
    ).metrics[0]!.measurements[0]!;

  it('reads a selector as a range vector: 3 samples a side, so Inconclusive (was 61 repeated points and a confident Fail)', async () => {
    const m = await run(judge());
    const judged = m.judgement!.metrics[0]!;
    expect(judged).toMatchObject({ samples: 'raw', classification: 'Insufficient' });
    expect(judged.baseline.count).toBe(3);
    expect(judged.canary.count).toBe(3);
    expect(m.phase).toBe('Inconclusive');
    expect(m.judgement!.verdict).toBe('Inconclusive');
  });

  it('even with minSamples 3, three samples a side give no 95% interval', async () => {
    const judged = (await run(judge(3))).judgement!.metrics[0]!;
    expect(judged.classification).toBe('Insufficient');
    expect(judged.reason).toContain('(the widest has 90%)');
  });

  it('evaluates a computed query at every step, and says so', async () => {
    const m = await run(judge(undefined, (v) => `max(sparse_latency_ms{version="${v}"})`));
    expect(m.judgement!.metrics[0]!.samples).toBe('evaluated');
  });

  it('recognises a plain selector and nothing else', () => {
    expect(['up', 'latency_p95_ms{service="cart",version="canary"}', '{__name__="x"}', 'a:b:c { le = "}" }'].map(isVectorSelector)).toEqual(
      [true, true, true, true],
    );
    expect(['rate(x[1m])', 'sum(x)', 'x[5m]', 'x offset 5m', 'x / y', '1', ''].map(isVectorSelector)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
