import { describe, expect, it } from 'vitest';
import { classifyMetric, scoreMetrics, type ClassifyOptions } from '../../src/core/metrics/judge.js';
import { kthDifference, mannWhitney } from '../../src/core/metrics/stats/mann-whitney.js';
import { normalCdf, normalQuantile } from '../../src/core/metrics/stats/normal.js';
import { gaussian, seededRandom } from '../support/prometheus.js';

/** Every pairwise difference, sorted: the definition the fast selection must agree with. */
function allDifferences(x: number[], y: number[]): number[] {
  return x.flatMap((a) => y.map((b) => a - b)).sort((a, b) => a - b);
}

describe('Mann-Whitney U', () => {
  it('matches SciPy (mannwhitneyu, asymptotic, continuity correction) on a textbook sample', () => {
    // Reference: scipy.stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True) -> U=35, p=0.24462360512698333
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const y = [1.15, 0.88, 0.9, 0.74, 1.21];
    const r = mannWhitney(x, y);
    expect(r.u).toBe(35);
    expect(r.pValue).toBeCloseTo(0.24462360512698333, 6);
  });

  it('applies the tie correction (SciPy: U=23.5, p=0.027640884214298913; median difference -2)', () => {
    const x = [1, 2, 2, 3, 3, 3, 4, 5, 5, 6];
    const y = [2, 3, 4, 4, 5, 6, 6, 7, 7, 8, 9];
    const r = mannWhitney(x, y);
    expect(r.u).toBe(23.5);
    expect(r.pValue).toBeCloseTo(0.027640884214298913, 6);
    expect(r.estimate).toBe(-2);
  });

  it('selects the k-th pairwise difference exactly, ties and negatives included', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 20; trial++) {
      const x = Array.from({ length: 5 + Math.floor(random() * 30) }, () => Math.round((random() - 0.3) * 20) / 4);
      const y = Array.from({ length: 5 + Math.floor(random() * 30) }, () => Math.round((random() - 0.5) * 20) / 4);
      const all = allDifferences(x, y);
      const xs = Float64Array.from(x).sort();
      const ys = Float64Array.from(y).sort();
      for (const k of [1, 2, Math.ceil(all.length / 3), Math.ceil(all.length / 2), all.length - 1, all.length]) {
        expect(kthDifference(xs, ys, k)).toBe(all[k - 1]);
      }
    }
  });

  it('gives a confidence interval that contains the estimate and the true shift', () => {
    const noise = gaussian(seededRandom(11));
    const baseline = Array.from({ length: 400 }, () => 100 + 10 * noise());
    const canary = Array.from({ length: 400 }, () => 130 + 10 * noise());
    const r = mannWhitney(canary, baseline, 0.95);
    expect(r.lower).toBeLessThanOrEqual(r.estimate);
    expect(r.upper).toBeGreaterThanOrEqual(r.estimate);
    expect(r.lower).toBeLessThan(30);
    expect(r.upper).toBeGreaterThan(30);
    expect(r.pValue).toBeLessThan(1e-6);
  });

  it('has a normal quantile that inverts the CDF', () => {
    for (const p of [0.001, 0.025, 0.5, 0.9, 0.975, 0.9999]) expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 6);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
  });
});

describe('Kayenta-style classification and score', () => {
  const options: ClassifyOptions = { direction: 'increase', allowedIncrease: 1.1, allowedDecrease: 1, confidence: 0.95, tolerance: 0.25 };
  const sample = (seed: number, mean: number, sd: number, n = 60) => {
    const noise = gaussian(seededRandom(seed));
    return Array.from({ length: n }, () => mean + sd * noise());
  };

  it('classifies a clearly higher canary as High and an equal noisy one as Pass', () => {
    expect(classifyMetric(sample(1, 200, 20), sample(2, 260, 20), options).classification).toBe('High');
    expect(classifyMetric(sample(3, 200, 40), sample(4, 200, 40), options).classification).toBe('Pass');
  });

  it('lets an increase within allowedIncrease pass, and ignores a decrease when only increases matter', () => {
    expect(classifyMetric(sample(5, 200, 2), sample(6, 210, 2), options).classification).toBe('Pass');
    expect(classifyMetric(sample(7, 200, 2), sample(8, 100, 2), options).classification).toBe('Pass');
    expect(classifyMetric(sample(7, 200, 2), sample(8, 100, 2), { ...options, direction: 'either' }).classification).toBe('Low');
  });

  it('says NoData when a side is empty or all NaN, and High when the baseline never errored', () => {
    expect(classifyMetric([], [1, 2], options).classification).toBe('NoData');
    expect(classifyMetric([Number.NaN, Number.NaN], [1, 2], options).classification).toBe('NoData');
    const result = classifyMetric(new Array(60).fill(0), new Array(60).fill(0.05), options);
    expect(result.classification).toBe('High');
    expect(result.effectSize).toBe(Infinity);
  });

  it('scores by weight, fails on a critical metric, and counts NoData as not passing', () => {
    const threshold = { pass: 90, marginal: 50 };
    expect(
      scoreMetrics(
        [
          { name: 'a', weight: 3, critical: false, classification: 'Pass' },
          { name: 'b', weight: 1, critical: false, classification: 'High' },
        ],
        threshold,
      ),
    ).toMatchObject({ score: 75, verdict: 'Marginal' });
    expect(
      scoreMetrics(
        [
          { name: 'a', weight: 3, critical: false, classification: 'Pass' },
          { name: 'b', weight: 1, critical: true, classification: 'High' },
        ],
        threshold,
      ),
    ).toMatchObject({ score: 0, verdict: 'Fail' });
    expect(
      scoreMetrics(
        [
          { name: 'a', weight: 1, critical: false, classification: 'Pass' },
          { name: 'b', weight: 1, critical: false, classification: 'NoData' },
        ],
        threshold,
      ),
    ).toMatchObject({ score: 50, verdict: 'Marginal' });
    expect(scoreMetrics([{ name: 'a', weight: 1, critical: false, classification: 'NoData' }], threshold).verdict).toBe('NoData');
  });
});
