/**
 * Blue-green's analysis of the new color: its arguments (built-ins about the color, overridden by
 * `analysis-args`), checked in full before the first write, and run as a log group.
 */
import type { Clock } from '../metrics/clock.js';
import type { Defaults } from '../metrics/resolve.js';
import { resolveMetrics } from '../metrics/resolve.js';
import type { AnalysisResult } from '../metrics/result.js';
import { runAnalysis } from '../metrics/run.js';
import type { AnalysisSpec } from '../metrics/spec.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import type { Color } from './colors.js';
import type { BlueGreenInputs, BlueGreenSettings } from './settings.js';

/** The analysis with its arguments filled in for the new color: checked in full before the first write. */
export interface Analysis {
  spec: AnalysisSpec;
  args: Record<string, string>;
  defaults: Defaults;
}

/** The analysis of `target` (the new color), or undefined when the run has none. */
export function analysisFor(settings: BlueGreenSettings, inputs: BlueGreenInputs, target: Color): Analysis | undefined {
  if (!settings.analysis) return undefined;
  const workload = settings.colors.workload[target];
  const builtIn = {
    service: inputs.service,
    namespace: workload.namespace,
    color: target,
    workload: workload.name,
    destination: settings.colors.destination[target],
    version: settings.version,
  };
  return {
    spec: settings.analysis,
    args: analysisArgs(settings.analysis, builtIn, inputs['analysis-args']),
    defaults: { prometheusAddress: inputs['prometheus-address'], prometheusToken: inputs['prometheus-token'] },
  };
}

/**
 * The arguments a blue-green run gives its analysis (about the new color), overridden by the
 * `analysis-args` input. A template that declares its args gets only the built-ins it declares.
 */
export function analysisArgs(
  spec: AnalysisSpec,
  builtIn: Record<string, string | undefined>,
  given: Record<string, string> = {},
): Record<string, string> {
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
      now: () => options.clock.now(),
      sleep: (ms, signal) => options.clock.sleep(ms, signal),
    }),
  );
}
