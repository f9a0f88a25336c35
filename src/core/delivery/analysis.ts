/**
 * The analysis of a delivery (blue-green's new color, a rolling update's new image): the `analysis`
 * input read inline or from the workspace, its arguments (built-ins about what is delivered,
 * overridden by `analysis-args`), checked in full before the first write, and run as a log group.
 */
import { readFileOrInline } from '../config/file-or-inline.js';
import type { Clock } from '../metrics/clock.js';
import { parseMetrics } from '../metrics/config.js';
import type { Defaults } from '../metrics/resolve.js';
import { resolveMetrics } from '../metrics/resolve.js';
import type { AnalysisResult } from '../metrics/result.js';
import { runAnalysis } from '../metrics/run.js';
import type { AnalysisSpec } from '../metrics/spec.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';

/** The analysis with its arguments filled in: checked in full before the first write. */
export interface Analysis {
  spec: AnalysisSpec;
  args: Record<string, string>;
  defaults: Defaults;
}

/** The analysis input: inline YAML or a file in the workspace, parsed and checked in full (InputError naming the problem). */
export async function loadAnalysis(value: string, workspace: string): Promise<AnalysisSpec> {
  const loaded = await readFileOrInline('analysis', value, workspace);
  const source = loaded.source === 'analysis input' ? loaded.source : `analysis (${loaded.source})`;
  return parseMetrics(loaded.text, source);
}

/**
 * The arguments a run gives its analysis (about what it delivers), overridden by the
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
