/**
 * What an analysis returns: each metric's measurements and phase, the judge's verdicts, and the
 * analysis phase (Argo's).
 */
import type { Classification, SampleSummary, Verdict } from './judge.js';
import type { MeasurementPhase } from './condition/verdict.js';

export type { MeasurementPhase };

/** The verdict of a metric and of a whole analysis (Argo's completed phases). */
export type AnalysisPhase = MeasurementPhase;

/** Best to worst, as Argo orders them: the run takes the worst phase of its (non-dry-run) metrics. */
export const PHASE_ORDER: readonly AnalysisPhase[] = ['Successful', 'Inconclusive', 'Error', 'Failed'];

export function worst(a: AnalysisPhase, b: AnalysisPhase): AnalysisPhase {
  return PHASE_ORDER.indexOf(b) > PHASE_ORDER.indexOf(a) ? b : a;
}

export interface Measurement {
  phase: MeasurementPhase;
  /** ISO times. */
  startedAt: string;
  finishedAt: string;
  /** The measured value as shown to people, e.g. "[0.0042]" or "score 100 (Pass)". */
  value?: string;
  /** Why: the condition that failed, the error, the missing data. */
  message?: string;
  /** For judge metrics: each compared metric. */
  judgement?: Judgement;
}

export interface Judgement {
  score: number;
  verdict: Verdict;
  reason: string;
  windowStart: string;
  windowEnd: string;
  metrics: JudgedMetric[];
}

export interface JudgedMetric {
  name: string;
  weight: number;
  critical: boolean;
  direction: string;
  classification: Classification;
  reason: string;
  baseline: SampleSummary;
  canary: SampleSummary;
  /** Where the samples came from: raw scraped samples (a selector read as a range vector) or evaluations at every step. */
  samples: string;
  effectSize: number;
  /** Hodges–Lehmann estimate of canary − baseline and its interval, with the interval's real confidence. */
  estimate?: number;
  lower?: number;
  upper?: number;
  confidence?: number;
  pValue?: number;
}

export interface MetricResult {
  name: string;
  provider: 'prometheus' | 'web' | 'judge';
  /** The query (args filled in), URL, or the judge's queries. */
  query: string;
  successCondition?: string;
  failureCondition?: string;
  dryRun: boolean;
  phase: AnalysisPhase;
  /** Why the metric has its phase. */
  message: string;
  /** Counted measurements (errors excluded, as in Argo). */
  count: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  consecutiveError: number;
  /** Successful measurements in a row (Argo v1.8's ConsecutiveSuccess). */
  consecutiveSuccess: number;
  /** How many counted measurements it was to take (Argo's EffectiveCount); undefined: until stopped. */
  planned?: number;
  measurements: Measurement[];
}

export interface AnalysisResult {
  phase: AnalysisPhase;
  message: string;
  startedAt: string;
  finishedAt: string;
  /** Why the run ended before every metric finished by itself (its duration, or `stop`). */
  stopped?: string;
  metrics: MetricResult[];
}
