/**
 * The analysis engine: metric definitions in Argo Rollouts' vocabulary, measured against
 * Prometheus or a JSON web endpoint, plus a Kayenta-style canary-versus-baseline judge.
 *
 *   const analysis = parseMetrics(yamlText, 'deploy/analysis.yaml');   // InputError on any problem
 *   const result = await runAnalysis({ analysis, args: { service: 'checkout' }, defaults, reporter });
 *   reporter.summary(renderSummary(result));
 */
export { parseMetrics } from './config.js';
export { runAnalysis, ERROR_RETRY_INTERVAL_MS, type RunAnalysisOptions } from './run.js';
export { measure, type MeasureOptions } from './measure.js';
export { resolveMetrics, effectiveArgs, type Defaults, type ResolvedMetric } from './resolve.js';
export { renderSummary } from './summary.js';
export { classifyMetric, scoreMetrics, type Classification, type MetricComparison, type Verdict } from './judge.js';
export { mannWhitney, type MannWhitneyResult } from './stats/mann-whitney.js';
export { promqlString } from './args.js';
export { queryInstant, queryRange, type PromResult } from './providers/prometheus.js';
export type { AnalysisSpec, MetricSpec, ProviderSpec } from './spec.js';
export type { AnalysisPhase, AnalysisResult, MetricResult, Measurement, Judgement, JudgedMetric } from './result.js';
