/**
 * Runs an analysis the way an Argo Rollouts AnalysisRun does (analysis/analysis.go), in-process:
 *
 *  - each metric measures first after `initialDelay`, then every `interval`, until it has
 *    `count` counted measurements (Argo's EffectiveCount: count; else 1 without an interval;
 *    else until the analysis stops); metrics due at the same time are measured concurrently;
 *  - Error measurements do not count; after one, the next measurement comes 10 s later
 *    (Argo's DefaultErrorRetryInterval), whatever the metric's interval;
 *  - a metric is Failed when failed > failureLimit (default 0; -1 turns the limit off),
 *    Inconclusive when inconclusive > inconclusiveLimit (default 0), Error when consecutive
 *    errors > consecutiveErrorLimit (default 4), Successful when consecutiveSuccessLimit (> 0)
 *    successes in a row were measured; when `count` is reached without any of these it is
 *    Successful, or with a consecutiveSuccessLimit: Inconclusive when failureLimit applies too,
 *    Failed when it does not (Argo v1.8 assessMetricStatus) — checked in that order;
 *  - once a metric that is not dryRun ends anything but Successful, the analysis stops; the
 *    analysis phase is the worst of its non-dryRun metrics (Successful < Inconclusive < Error < Failed).
 *
 * A run ends early at `durationMs`, or when `stop` fires (the caller is done with it, e.g. the
 * canary finished while its background analysis was still measuring). Either way no measurement
 * starts after that, every metric is assessed on what it measured, and the result says so
 * (`stopped`, and per metric `planned` against `count`).
 *
 * Where we differ from Argo, and why (the README's "Differences from Argo Rollouts" lists them all):
 *  - `durationMs` bounds the whole run (a pipeline step has to end). A metric without a count
 *    (interval only) needs it; at the end such a metric is Successful if it took at least one
 *    measurement within its limits (Argo: Successful when terminated) — but a metric that took no
 *    counted measurement at all is Inconclusive: no data is never a pass.
 *  - For the same reason a metric cut short by another metric's failure, or by `stop`, is
 *    Inconclusive when it had no counted measurement (Argo: Successful), and a metric whose
 *    consecutiveSuccessLimit was not reached when stopped is Inconclusive (Argo: Successful).
 *  - No data (empty vector, NaN) is Inconclusive, not Failed/Error (see condition/verdict.ts).
 *  - Each request is retried with the core's backoff before a measurement counts as an Error.
 */
import { InputError } from '../config/input-error.js';
import { formatDuration } from '../config/primitives.js';
import type { Reporter } from '../reporter.js';
import { sleepMs, type RetryOptions } from '../retry.js';
import { Secrets } from '../secrets.js';
import { measure } from './measure.js';
import { resolveMetrics, type Defaults, type ResolvedMetric } from './resolve.js';
import { worst, type AnalysisPhase, type AnalysisResult, type MetricResult } from './result.js';
import { effectiveCount, type AnalysisSpec, type MetricSpec } from './spec.js';

export interface RunAnalysisOptions {
  analysis: AnalysisSpec;
  /** Values for `{{args.name}}`. */
  args?: Readonly<Record<string, string>>;
  defaults?: Defaults;
  /** Stop measuring after this long. Required when a metric has an interval but no count. */
  durationMs?: number;
  /**
   * Ends the run as at its duration when it fires: no measurement starts after it (one in flight
   * is abandoned and not counted), and the result is assessed on what was measured. Unlike
   * `signal`, which cancels the run (runAnalysis then throws), this gives a result.
   */
  stop?: AbortSignal;
  reporter: Reporter;
  signal?: AbortSignal;
  /** Clock (epoch ms) and sleep, injectable so tests and callers control time. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Where authentication.*From.env and header valueFrom.env are read. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Secret values found in the definitions are added here; all messages are redacted with it. */
  secrets?: Secrets;
  /** Per-request retry (the core's defaults otherwise). */
  retry?: Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs' | 'maxElapsedMs'>;
}

/**
 * Argo's DefaultErrorRetryInterval: after an Error measurement the next one is taken this long
 * after it finished, whatever the metric's interval (analysis.go generateMetricTasks and
 * calculateNextReconcileTime: `if lastMeasurement.Phase == Error { interval = DefaultErrorRetryInterval }`).
 */
export const ERROR_RETRY_INTERVAL_MS = 10_000;

interface MetricState {
  metric: ResolvedMetric;
  result: MetricResult;
  nextAt: number;
  done: boolean;
}

export async function runAnalysis(options: RunAnalysisOptions): Promise<AnalysisResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepMs;
  const secrets = options.secrets ?? new Secrets();
  const reporter = options.reporter;
  const redact = (text: string) => secrets.redact(text);
  const metrics = resolveMetrics(options.analysis, {
    args: options.args,
    defaults: options.defaults,
    env: options.env,
    onSecret: (value) => secrets.add(value),
  });
  checkDuration(options.analysis.metrics, options.durationMs);

  const startedMs = now();
  const deadline = options.durationMs === undefined ? undefined : startedMs + options.durationMs;
  const states: MetricState[] = metrics.map((metric) => ({
    metric,
    result: emptyResult(metric),
    nextAt: startedMs + (metric.spec.initialDelayMs ?? 0),
    done: false,
  }));
  let stopReason: string | undefined;
  let stoppedEarly = false;
  const stopNow = () => options.stop?.aborted === true && !options.signal?.aborted;
  const stopped = () => `the analysis was stopped (${describeReason(options.stop?.reason)})`;
  const measuring = options.stop && options.signal ? AbortSignal.any([options.signal, options.stop]) : (options.stop ?? options.signal);

  for (;;) {
    const active = states.filter((s) => !s.done);
    if (active.length === 0) break;
    if (stopNow()) {
      stopReason = stopped();
      stoppedEarly = true;
      break;
    }
    const wake = Math.min(...active.map((s) => s.nextAt));
    if (deadline !== undefined && wake > deadline) {
      stopReason = `the analysis reached its duration (${formatDuration(options.durationMs!)})`;
      stoppedEarly = true;
      break;
    }
    const wait = wake - now();
    try {
      if (wait > 0) await sleep(wait, measuring);
    } catch (error) {
      if (!stopNow()) throw error;
    }
    options.signal?.throwIfAborted();
    if (stopNow()) continue;
    const atMs = now();
    const due = active.filter((s) => s.nextAt <= atMs);
    await Promise.all(
      due.map(async (state) => {
        let measurement: MetricResult['measurements'][number];
        try {
          measurement = await measure(state.metric, { atMs, now, redact, signal: measuring, retry: { ...options.retry, sleep, now } });
        } catch (error) {
          if (stopNow()) return; // abandoned by stop: not a measurement
          throw error;
        }
        record(state, measurement, reporter, redact);
      }),
    );
    const failing = states.find((s) => s.done && !s.result.dryRun && s.result.phase !== 'Successful');
    if (failing) {
      stopReason = `metric '${failing.result.name}' is ${failing.result.phase}`;
      break;
    }
  }

  for (const state of states.filter((s) => !s.done)) stopEarly(state, stopReason ?? 'the analysis stopped');
  const counted = states.filter((s) => !s.result.dryRun).map((s) => s.result);
  const phase = counted.reduce<AnalysisPhase>((p, r) => worst(p, r.phase), 'Successful');
  const culprits = counted.filter((r) => r.phase === phase && phase !== 'Successful');
  const message =
    phase === 'Successful'
      ? `all ${counted.length} metric${counted.length === 1 ? '' : 's'} passed${stoppedEarly ? ` (${stopReason})` : ''}`
      : // Every culprit has the analysis's phase, which the callers state ("… Failed: …"): not repeated here.
        culprits.map((r) => `metric ${r.name}: ${r.message}`).join('; ');
  return {
    phase,
    message: redact(message),
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: new Date(now()).toISOString(),
    ...(stoppedEarly ? { stopped: redact(stopReason!) } : {}),
    metrics: states.map((s) => s.result),
  };
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'asked to stop' : String(reason);
}

function checkDuration(metrics: readonly MetricSpec[], durationMs: number | undefined): void {
  if (durationMs !== undefined) return;
  const endless = metrics.filter((m) => effectiveCount(m) === undefined).map((m) => `'${m.name}'`);
  if (endless.length > 0) {
    throw new InputError(
      `metric${endless.length > 1 ? 's' : ''} ${endless.join(', ')} ${endless.length > 1 ? 'have' : 'has'} an interval but no count, so ${endless.length > 1 ? 'they' : 'it'} would measure forever: give count, or a duration to measure for`,
    );
  }
}

function emptyResult(metric: ResolvedMetric): MetricResult {
  return {
    name: metric.spec.name,
    provider: metric.provider.kind,
    query: metric.display,
    successCondition: metric.conditions.success?.source,
    failureCondition: metric.conditions.failure?.source,
    dryRun: metric.spec.dryRun,
    phase: 'Inconclusive',
    message: 'not measured yet',
    count: 0,
    successful: 0,
    failed: 0,
    inconclusive: 0,
    error: 0,
    consecutiveError: 0,
    consecutiveSuccess: 0,
    planned: effectiveCount(metric.spec),
    measurements: [],
  };
}

function record(
  state: MetricState,
  measurement: MetricResult['measurements'][number],
  reporter: Reporter,
  redact: (t: string) => string,
): void {
  const r = state.result;
  r.measurements.push(measurement);
  if (measurement.phase === 'Error') {
    r.error++;
    r.consecutiveError++;
    r.consecutiveSuccess = 0;
  } else {
    r.count++;
    r.consecutiveError = 0;
    if (measurement.phase === 'Successful') {
      r.successful++;
      r.consecutiveSuccess++;
    } else {
      if (measurement.phase === 'Failed') r.failed++;
      else r.inconclusive++;
      r.consecutiveSuccess = 0;
    }
  }
  const line = `${r.name} #${r.measurements.length}: ${measurement.value ?? '-'} -> ${measurement.phase}${measurement.message ? ` (${measurement.message})` : ''}`;
  (measurement.phase === 'Successful' ? reporter.info : reporter.warn).call(reporter, redact(line));

  const spec = state.metric.spec;
  const verdict = assess(spec, r);
  if (verdict) {
    r.phase = verdict.phase;
    r.message = verdict.message;
    state.done = true;
    reporter.info(`${r.name}: ${r.phase}${r.dryRun ? ' (dry run: does not count)' : ''}: ${r.message}`);
    return;
  }
  const last = Date.parse(measurement.finishedAt);
  state.nextAt = last + (measurement.phase === 'Error' ? ERROR_RETRY_INTERVAL_MS : (spec.intervalMs ?? ERROR_RETRY_INTERVAL_MS));
}

/** Argo's assessMetricStatus (v1.8) for a metric still running; undefined while it should go on. */
function assess(spec: MetricSpec, r: MetricResult): { phase: AnalysisPhase; message: string } | undefined {
  const last = r.measurements.at(-1)?.message;
  const why = (text: string) => (last ? `${text}; last: ${last}` : text);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (spec.failureLimit >= 0 && r.failed > spec.failureLimit)
    return { phase: 'Failed', message: why(`${plural(r.failed, 'failed measurement')} > failureLimit ${spec.failureLimit}`) };
  if (r.inconclusive > spec.inconclusiveLimit)
    return {
      phase: 'Inconclusive',
      message: why(`${plural(r.inconclusive, 'inconclusive measurement')} > inconclusiveLimit ${spec.inconclusiveLimit}`),
    };
  if (r.consecutiveError > spec.consecutiveErrorLimit)
    return {
      phase: 'Error',
      message: why(`${r.consecutiveError} consecutive errors > consecutiveErrorLimit ${spec.consecutiveErrorLimit}`),
    };
  const successLimit = spec.consecutiveSuccessLimit;
  if (successLimit > 0 && r.consecutiveSuccess >= successLimit) {
    return {
      phase: 'Successful',
      message: `${plural(r.consecutiveSuccess, 'successful measurement')} in a row (consecutiveSuccessLimit ${successLimit} reached)`,
    };
  }
  const count = effectiveCount(spec);
  if (count !== undefined && r.count >= count) {
    if (successLimit > 0) {
      const notReached = `count ${count} reached without ${successLimit} successful measurements in a row (consecutiveSuccessLimit)`;
      return spec.failureLimit >= 0
        ? { phase: 'Inconclusive', message: why(`${notReached}, and failureLimit ${spec.failureLimit} not exceeded`) }
        : { phase: 'Failed', message: why(notReached) };
    }
    return { phase: 'Successful', message: `${r.successful} of ${r.count} measurements successful (count ${count} reached)` };
  }
  return undefined;
}

/** A metric that had not finished when the run ended: assessed on what it measured. */
function stopEarly(state: MetricState, reason: string): void {
  const r = state.result;
  state.done = true;
  const taken = `${r.count}${r.planned === undefined ? '' : ` of ${r.planned} planned`} measurement${(r.planned ?? r.count) === 1 ? '' : 's'}`;
  if (r.count === 0) {
    r.phase = 'Inconclusive';
    r.message =
      r.error > 0 ? `no measurement succeeded before ${reason}: ${r.error} error${r.error === 1 ? '' : 's'}` : `not measured: ${reason}`;
    return;
  }
  const spec = state.metric.spec;
  if (spec.consecutiveSuccessLimit > 0) {
    r.phase = 'Inconclusive';
    r.message = `${taken} taken, ${r.consecutiveSuccess} successful in a row (consecutiveSuccessLimit ${spec.consecutiveSuccessLimit} not reached), when ${reason}`;
    return;
  }
  const tally = [
    `${r.successful} Successful`,
    r.failed > 0 && `${r.failed} Failed (failureLimit ${spec.failureLimit})`,
    r.inconclusive > 0 && `${r.inconclusive} Inconclusive (inconclusiveLimit ${spec.inconclusiveLimit})`,
    r.error > 0 && `${r.error} Error`,
  ].filter(Boolean);
  r.phase = 'Successful';
  r.message = `${taken} taken (${tally.join(', ')}), within limits, when ${reason}`;
}
