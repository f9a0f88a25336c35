/**
 * The parsed, validated form of metric definitions (see config.ts for the YAML it comes from).
 * Strings may still hold `{{args.x}}` placeholders; resolve.ts fills them in.
 */

export interface AnalysisSpec {
  /** Declared arguments (AnalysisTemplate `spec.args`), with defaults. Undefined for a plain metrics list. */
  args?: ArgSpec[];
  metrics: MetricSpec[];
}

export interface ArgSpec {
  name: string;
  value?: string;
}

export interface MetricSpec {
  name: string;
  intervalMs?: number;
  initialDelayMs?: number;
  /** As written; undefined or 0 means Argo's default (1 without interval, unlimited with one). */
  count?: number;
  successCondition?: string;
  failureCondition?: string;
  /** -1 turns it off (then consecutiveSuccessLimit must be set), as in Argo v1.8. */
  failureLimit: number;
  inconclusiveLimit: number;
  /** Successful measurements in a row that make the metric Successful; 0: not used. */
  consecutiveSuccessLimit: number;
  consecutiveErrorLimit: number;
  dryRun: boolean;
  provider: ProviderSpec;
}

export type ProviderSpec = PrometheusSpec | WebSpec | JudgeSpec;

/** A header value, inline or read from the environment. */
export interface HeaderSpec {
  key: string;
  value?: string;
  fromEnv?: string;
  /** Never shown in logs, errors or reports (always true for values from the environment). */
  secret: boolean;
}

export interface HttpAuthSpec {
  bearer?: { tokenFromEnv: string };
  basic?: { username: string; passwordFromEnv: string };
}

export interface PrometheusConnectionSpec {
  address?: string;
  timeoutMs: number;
  headers: HeaderSpec[];
  authentication?: HttpAuthSpec;
}

export interface PrometheusSpec extends PrometheusConnectionSpec {
  kind: 'prometheus';
  query: string;
  /** Our extension: evaluate over a window with /api/v1/query_range; `result` is then a list per series. */
  range?: { windowMs: number; stepMs: number };
}

export interface WebSpec {
  kind: 'web';
  url: string;
  method: 'GET' | 'POST';
  headers: HeaderSpec[];
  body?: string;
  jsonPath?: string;
  timeoutMs: number;
}

export type Direction = 'increase' | 'decrease' | 'either';

export interface JudgeMetricSpec {
  name: string;
  baseline: string;
  canary: string;
  direction: Direction;
  allowedIncrease: number;
  allowedDecrease: number;
  weight: number;
  critical: boolean;
}

/** Kayenta-style canary-versus-baseline judgement, computed here (no Kayenta server). */
export interface JudgeSpec extends PrometheusConnectionSpec {
  kind: 'judge';
  windowMs: number;
  stepMs: number;
  confidence: number;
  tolerance: number;
  /** Fewest samples per side for a verdict (below: Inconclusive). */
  minSamples: number;
  threshold: { pass: number; marginal: number };
  metrics: JudgeMetricSpec[];
}

/** Argo's EffectiveCount: count if set; else 1 without an interval; else undefined (runs until stopped). */
export function effectiveCount(metric: MetricSpec): number | undefined {
  if (metric.count) return metric.count;
  return metric.intervalMs === undefined ? 1 : undefined;
}
