import type { Defaults } from '../metrics/resolve.js';
import { resolveMetrics } from '../metrics/resolve.js';
import type { AnalysisResult, MetricResult } from '../metrics/result.js';
import { runAnalysis } from '../metrics/run.js';
import type { AnalysisSpec } from '../metrics/spec.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import type { TimelineStep } from '../notify/event.js';

export interface Clock {
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The analysis with its arguments filled in for the new color: checked in full before the first write. */
export interface Analysis {
  spec: AnalysisSpec;
  args: Record<string, string>;
  defaults: Defaults;
}

/**
 * The arguments a blue-green run gives its analysis (about the new color), overridden by the
 * `analysis-args` input. A template that declares its args gets only the built-ins it declares.
 */
export function analysisArgs(spec: AnalysisSpec, builtIn: Record<string, string | undefined>, given: Record<string, string> = {}): Record<string, string> {
  const declared = spec.args ? new Set(spec.args.map((a) => a.name)) : undefined;
  const args: Record<string, string> = {};
  for (const [name, value] of Object.entries(builtIn)) if (value !== undefined && (!declared || declared.has(name))) args[name] = value;
  return { ...args, ...given };
}

/** Fills in every argument and compiles every query and condition now, so a mistake stops the run before it changes anything. */
export function checkAnalysis(analysis: Analysis, secrets: Secrets, env: Readonly<Record<string, string | undefined>>): void {
  resolveMetrics(analysis.spec, { args: analysis.args, defaults: analysis.defaults, env, onSecret: (value) => secrets.add(value) });
}

export interface AnalysisRunOptions {
  title: string;
  durationMs: number | undefined;
  reporter: Reporter;
  secrets: Secrets;
  signal: AbortSignal;
  clock: Clock;
  env: Readonly<Record<string, string | undefined>>;
}

export async function analyse(analysis: Analysis, options: AnalysisRunOptions): Promise<AnalysisResult> {
  return options.reporter.group(options.title, () =>
    runAnalysis({
      analysis: analysis.spec,
      args: analysis.args,
      defaults: analysis.defaults,
      durationMs: options.durationMs,
      reporter: options.reporter,
      signal: options.signal,
      secrets: options.secrets,
      env: options.env,
      now: options.clock.now,
      sleep: options.clock.sleep,
    }),
  );
}

/** `metric 'error-rate' measured [0.08] against result[0] < 0.01 (Failed: 1 failed measurement > failureLimit 0)`. */
export function describeFailure(result: AnalysisResult): string {
  const failing = result.metrics.filter((m) => !m.dryRun && m.phase === result.phase);
  if (failing.length === 0) return result.message;
  return failing.map(describeMetric).join('; ');
}

function describeMetric(m: MetricResult): string {
  const last = [...m.measurements].reverse().find((x) => x.phase === m.phase) ?? m.measurements.at(-1);
  const condition = [m.successCondition && `success when ${m.successCondition}`, m.failureCondition && `failure when ${m.failureCondition}`].filter(Boolean).join(', ');
  const value = last?.value ?? 'no value';
  return `metric '${m.name}' measured ${value}${condition ? ` (${condition})` : ''}: ${m.phase}, ${m.message}`;
}

/** What a timeline step shows of an analysis: the last value of each metric that has a number, and the verdict. */
export function timelineOf(result: AnalysisResult): Pick<TimelineStep, 'analysis' | 'verdict'> {
  const values: Record<string, number> = {};
  for (const m of result.metrics) {
    const value = Number(/-?\d+(\.\d+)?(e[-+]?\d+)?/i.exec(m.measurements.at(-1)?.value ?? '')?.[0]);
    if (m.measurements.length > 0 && Number.isFinite(value)) values[m.name] = value;
  }
  const verdict = result.phase === 'Successful' ? 'passed' : result.phase === 'Inconclusive' ? 'inconclusive' : 'failed';
  return { ...(Object.keys(values).length ? { analysis: values } : {}), verdict };
}
