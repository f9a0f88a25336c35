/**
 * One measurement of one metric: its provider queried (Prometheus, web, or the judge's samples)
 * and its phase decided.
 */
import { assessValue } from './condition/verdict.js';
import type { Value } from './condition/evaluate.js';
import { classifyMetric, scoreMetrics } from './judge.js';
import type { RequestOptions } from './providers/http.js';
import { queryInstant, queryRange, type PromResult } from './providers/prometheus.js';
import { measureWeb } from './providers/web.js';
import type { ResolvedMetric, ResolvedProvider } from './resolve.js';
import type { JudgedMetric, Judgement, Measurement, MeasurementPhase } from './result.js';

export interface MeasureOptions extends RequestOptions {
  /** Evaluation time (epoch ms): Prometheus is asked for the value at this instant. */
  atMs: number;
  now?: () => number;
  /** Applied to every message that leaves the engine (secrets -> ***). */
  redact?: (text: string) => string;
}

/**
 * Take one measurement of one metric: query its provider, then decide Successful / Failed /
 * Inconclusive / Error (conditions for prometheus and web metrics, the score for judge metrics).
 * Never throws for a provider or evaluation failure: that is an Error measurement.
 * Throws only when `signal` is aborted.
 */
export async function measure(metric: ResolvedMetric, options: MeasureOptions): Promise<Measurement> {
  const now = options.now ?? Date.now;
  const redact = options.redact ?? ((t: string) => t);
  const startedAt = new Date(now()).toISOString();
  const done = (phase: MeasurementPhase, rest: Partial<Measurement>): Measurement => ({
    phase,
    startedAt,
    finishedAt: new Date(now()).toISOString(),
    ...rest,
    ...(rest.message !== undefined ? { message: redact(rest.message) } : {}),
  });
  try {
    if (metric.provider.kind === 'judge') {
      const judgement = await judge(metric.provider, options);
      const phase: MeasurementPhase =
        judgement.verdict === 'Pass' ? 'Successful' : judgement.verdict === 'Fail' ? 'Failed' : 'Inconclusive';
      return done(phase, { value: `score ${judgement.score} (${judgement.verdict})`, message: judgement.reason, judgement });
    }
    const { value, note } = await fetchValue(metric.provider, options);
    const verdict = assessValue(metric.conditions, value);
    const message = [verdict.message, note].filter(Boolean).join('; ') || undefined;
    return done(verdict.phase, { value: formatValue(value), message });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    return done('Error', { message: error instanceof Error ? error.message : String(error) });
  }
}

async function fetchValue(
  provider: Exclude<ResolvedProvider, { kind: 'judge' }>,
  options: MeasureOptions,
): Promise<{ value: Value; note?: string }> {
  if (provider.kind === 'web') return measureWeb(provider, options);
  const answer = provider.range
    ? await queryRange(
        provider.connection,
        provider.query,
        options.atMs - provider.range.windowMs,
        options.atMs,
        provider.range.stepMs,
        options,
      )
    : await queryInstant(provider.connection, provider.query, options.atMs, options);
  const note = answer.warnings.length > 0 ? `Prometheus warned: ${answer.warnings.join('; ')}` : undefined;
  return { value: toValue(answer.result), note };
}

/** Argo's shapes: scalar -> number, vector -> list of numbers; ours: matrix -> list (per series) of lists. */
export function toValue(result: PromResult): Value {
  switch (result.type) {
    case 'scalar':
    case 'string':
      return result.value;
    case 'vector':
      return result.series.map((s) => s.points[0]![1]);
    case 'matrix':
      return result.series.map((s) => s.points.map((p) => p[1]));
  }
}

/**
 * The judge's samples: for a plain selector (`latency_p95_ms{version="canary"}`), the raw samples
 * in the window, read as a range vector (`selector[window]`): each scraped value once, never the
 * same sample repeated by Prometheus' lookback at every step. For any other query (rate(), sum(),
 * histogram_quantile()...), its value at every `step` over the window (query_range): these are
 * evaluations, so choose a step no shorter than the query's own range, or they overlap.
 */
async function judgeSamples(
  provider: Extract<ResolvedProvider, { kind: 'judge' }>,
  query: string,
  start: number,
  end: number,
  options: MeasureOptions,
): Promise<{ values: number[]; kind: 'raw' | 'evaluated' }> {
  const flat = (result: PromResult) => (result.type === 'matrix' ? result.series.flatMap((s) => s.points.map((p) => p[1])) : []);
  if (isVectorSelector(query)) {
    const answer = await queryInstant(
      provider.connection,
      `${query.trim()}[${Math.max(1, Math.round((end - start) / 1000))}s]`,
      end,
      options,
    );
    return { values: flat(answer.result), kind: 'raw' };
  }
  const answer = await queryRange(provider.connection, query, start, end, provider.stepMs, options);
  return { values: flat(answer.result), kind: 'evaluated' };
}

/** A PromQL instant vector selector and nothing else: `name`, `name{...}` or `{...}`. */
export function isVectorSelector(query: string): boolean {
  const text = query.trim();
  const match = /^([A-Za-z_:][A-Za-z0-9_:]*)?\s*(\{(?:[^{}"'`]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)*\})?$/.exec(text);
  return match !== null && (match[1] !== undefined || match[2] !== undefined);
}

async function judge(provider: Extract<ResolvedProvider, { kind: 'judge' }>, options: MeasureOptions): Promise<Judgement> {
  const end = options.atMs;
  const start = end - provider.windowMs;
  const metrics = await Promise.all(
    provider.metrics.map(async (m): Promise<JudgedMetric> => {
      const [baseline, canary] = await Promise.all([
        judgeSamples(provider, m.baseline, start, end, options),
        judgeSamples(provider, m.canary, start, end, options),
      ]);
      const c = classifyMetric(baseline.values, canary.values, {
        ...m,
        confidence: provider.confidence,
        tolerance: provider.tolerance,
        minSamples: provider.minSamples,
      });
      return {
        name: m.name,
        weight: m.weight,
        critical: m.critical,
        direction: m.direction,
        classification: c.classification,
        reason: c.reason,
        baseline: c.baseline,
        canary: c.canary,
        samples: baseline.kind === canary.kind ? baseline.kind : `${baseline.kind} baseline, ${canary.kind} canary`,
        effectSize: c.effectSize,
        estimate: c.test?.estimate,
        lower: c.test && Number.isFinite(c.test.lower) ? c.test.lower : undefined,
        upper: c.test && Number.isFinite(c.test.upper) ? c.test.upper : undefined,
        confidence: c.test && Number.isFinite(c.test.lower) ? c.test.achieved : undefined,
        pValue: c.test?.pValue,
      };
    }),
  );
  const score = scoreMetrics(metrics, provider.threshold);
  return { ...score, windowStart: new Date(start).toISOString(), windowEnd: new Date(end).toISOString(), metrics };
}

const MAX_SHOWN = 200;

export function formatValue(value: Value): string {
  const text = show(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

function show(value: Value): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value === null) return 'nil';
  return JSON.stringify(value);
}
