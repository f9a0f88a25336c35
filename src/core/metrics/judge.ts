/**
 * Canary-versus-baseline judgement after Spinnaker Kayenta's NetflixACAJudge:
 * MannWhitneyClassifier per metric, then a weighted score.
 *
 * Per metric (Kayenta's order): NaN dropped; either side empty -> NoData; identical samples, or
 * one value overall -> Pass; fewer than `minSamples` on a side, or no interval at the confidence
 * asked for -> Insufficient; else the Mann-Whitney interval for canary − baseline is compared
 * with ±tolerance·|estimate|, and the mean ratio canary/baseline with allowedIncrease /
 * allowedDecrease: High when the interval lies above and the ratio >= allowedIncrease
 * (direction increase or either); Low when it lies below and the ratio <= allowedDecrease
 * (direction decrease or either); otherwise Pass.
 *
 * Where we differ from Kayenta, and why:
 *  - NoData counts in the score's denominator as not passing (Kayenta leaves it out): no data is
 *    never a pass. If every metric has no data the verdict is NoData.
 *  - A baseline mean of 0 gives a ratio of Infinity when the canary's mean is above 0 (Kayenta
 *    uses 1.0, so a canary erroring where the baseline never did could never be High).
 *  - Two constant but different samples are compared as they are (Kayenta adds Gaussian noise):
 *    the shift is exact, and the result does not depend on a random draw.
 *  - Weights are per metric rather than per group.
 *  - A minimum number of samples per side (`minSamples`, default 50: Spinnaker's canary best
 *    practices ask for "at least 50 pieces of time series data per metric"; Kayenta itself
 *    judges any size). Below it, or when the sample sizes allow no interval at the confidence
 *    asked for, the metric is Insufficient and the verdict Inconclusive, unless a critical metric
 *    with enough data already failed. No score is claimed from too little data.
 *  - The interval's stated confidence is its real one (exact for small samples without ties, see
 *    stats/mann-whitney.ts); Kayenta reports the confidence asked for.
 */
import type { Direction } from './spec.js';
import { mannWhitney, type MannWhitneyResult } from './stats/mann-whitney.js';

export type Classification = 'Pass' | 'High' | 'Low' | 'NoData' | 'Insufficient';

export interface ClassifyOptions {
  direction: Direction;
  allowedIncrease: number;
  allowedDecrease: number;
  confidence: number;
  /** Kayenta's tolerance: the interval must clear this fraction of |estimate|. Default 0.25. */
  tolerance: number;
  /** Fewest samples on each side for a verdict. Default 50 (Spinnaker's best practice). */
  minSamples?: number;
}

export const DEFAULT_MIN_SAMPLES = 50;

export interface SampleSummary {
  count: number;
  mean: number;
  median: number;
}

export interface MetricComparison {
  classification: Classification;
  reason: string;
  baseline: SampleSummary;
  canary: SampleSummary;
  /** Mean ratio canary / baseline (Kayenta's default effect size). */
  effectSize: number;
  test?: MannWhitneyResult;
}

export function classifyMetric(baselineRaw: readonly number[], canaryRaw: readonly number[], options: ClassifyOptions): MetricComparison {
  const baseline = baselineRaw.filter(Number.isFinite);
  const canary = canaryRaw.filter(Number.isFinite);
  const summary = { baseline: summarize(baseline), canary: summarize(canary) };
  if (baseline.length === 0 || canary.length === 0) {
    const missing = [baseline.length === 0 && 'baseline', canary.length === 0 && 'canary'].filter(Boolean).join(' and ');
    return { classification: 'NoData', reason: `no data for the ${missing}`, ...summary, effectSize: Number.NaN };
  }
  const effectSize = meanRatio(summary.baseline.mean, summary.canary.mean);
  const sortedB = [...baseline].sort((a, b) => a - b);
  const sortedC = [...canary].sort((a, b) => a - b);
  if (sortedB.length === sortedC.length && sortedB.every((v, i) => v === sortedC[i])) {
    return { classification: 'Pass', reason: 'canary and baseline data are identical', ...summary, effectSize: 1 };
  }
  if (new Set([...baseline, ...canary]).size === 1) {
    return { classification: 'Pass', reason: 'canary and baseline hold one and the same value', ...summary, effectSize: 1 };
  }
  const minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES;
  if (baseline.length < minSamples || canary.length < minSamples) {
    const few = [baseline.length < minSamples && `baseline ${baseline.length}`, canary.length < minSamples && `canary ${canary.length}`]
      .filter(Boolean)
      .join(', ');
    return {
      classification: 'Insufficient',
      reason: `too few samples for a verdict: ${few} (minSamples ${minSamples} per side)`,
      ...summary,
      effectSize,
    };
  }
  const test = mannWhitney(canary, baseline, options.confidence);
  if (Number.isNaN(test.lower)) {
    return {
      classification: 'Insufficient',
      reason: `${baseline.length} baseline and ${canary.length} canary samples allow no ${pct(options.confidence)} interval (the widest has ${pct(test.achieved)}); give more samples`,
      ...summary,
      effectSize,
      test,
    };
  }
  const bound = options.tolerance * Math.abs(test.estimate);
  const { direction } = options;
  const interval = `${pct(test.achieved)} interval (${test.method}) of the shift [${fmt(test.lower)}, ${fmt(test.upper)}], estimate ${fmt(test.estimate)}, mean ratio ${fmt(effectSize)}`;
  if ((direction === 'increase' || direction === 'either') && test.lower > bound && effectSize >= options.allowedIncrease) {
    return {
      classification: 'High',
      reason: `canary is higher: ${interval} (allowed increase ${fmt(options.allowedIncrease)})`,
      ...summary,
      effectSize,
      test,
    };
  }
  if ((direction === 'decrease' || direction === 'either') && test.upper < -bound && effectSize <= options.allowedDecrease) {
    return {
      classification: 'Low',
      reason: `canary is lower: ${interval} (allowed decrease ${fmt(options.allowedDecrease)})`,
      ...summary,
      effectSize,
      test,
    };
  }
  return {
    classification: 'Pass',
    reason: `no significant ${direction === 'either' ? 'change' : direction} beyond what is allowed: ${interval}`,
    ...summary,
    effectSize,
    test,
  };
}

export type Verdict = 'Pass' | 'Marginal' | 'Fail' | 'NoData' | 'Inconclusive';

export interface ScoredMetric {
  name: string;
  weight: number;
  critical: boolean;
  classification: Classification;
}

export interface Score {
  score: number;
  verdict: Verdict;
  reason: string;
}

/** Kayenta's weighted sum: score = passing weight / total weight × 100; >= pass: Pass, >= marginal: Marginal, else Fail. */
export function scoreMetrics(metrics: readonly ScoredMetric[], threshold: { pass: number; marginal: number }): Score {
  const total = metrics.reduce((s, m) => s + m.weight, 0);
  if (metrics.length === 0 || metrics.every((m) => m.classification === 'NoData')) {
    return { score: 0, verdict: 'NoData', reason: 'no metric had data on both sides' };
  }
  const passed = metrics.filter((m) => m.classification === 'Pass').reduce((s, m) => s + m.weight, 0);
  const criticalFailure =
    metrics.find((m) => m.critical && (m.classification === 'High' || m.classification === 'Low')) ??
    metrics.find((m) => m.critical && m.classification === 'NoData');
  const insufficient = metrics.filter((m) => m.classification === 'Insufficient');
  if (!criticalFailure && insufficient.length > 0) {
    return {
      score: 0,
      verdict: 'Inconclusive',
      reason: `not enough data to judge ${insufficient.map((m) => `'${m.name}'`).join(', ')}: no score`,
    };
  }
  const score = criticalFailure ? 0 : Math.round((passed / total) * 10_000) / 100;
  const verdict: Verdict = score >= threshold.pass ? 'Pass' : score >= threshold.marginal ? 'Marginal' : 'Fail';
  const reason = criticalFailure
    ? `critical metric '${criticalFailure.name}' is ${criticalFailure.classification}, so the score is 0`
    : `score ${score} (pass >= ${threshold.pass}, marginal >= ${threshold.marginal})`;
  return { score, verdict, reason };
}

function meanRatio(baselineMean: number, canaryMean: number): number {
  if (baselineMean === 0) return canaryMean === 0 ? 1 : canaryMean > 0 ? Infinity : -Infinity;
  return canaryMean / baselineMean;
}

function summarize(values: readonly number[]): SampleSummary {
  if (values.length === 0) return { count: 0, mean: Number.NaN, median: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { count: values.length, mean: values.reduce((a, b) => a + b, 0) / values.length, median };
}

export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e6)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

function pct(confidence: number): string {
  return `${Number((confidence * 100).toPrecision(3))}%`;
}
