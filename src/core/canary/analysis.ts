/**
 * The canary's analyses: a step's analysis, which the walk waits for, and the background analysis,
 * which runs alongside later steps and aborts the canary the moment it fails.
 */
import { formatDuration } from '../config/primitives.js';
import type { Clock } from '../metrics/clock.js';
import { runAnalysis } from '../metrics/run.js';
import type { Defaults } from '../metrics/resolve.js';
import type { AnalysisResult } from '../metrics/result.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import type { BackgroundAnalysis, CanaryAnalysis } from './config.js';

/** What an analysis needs besides its definition. */
export interface AnalysisContext {
  defaults: Defaults;
  env: Readonly<Record<string, string | undefined>>;
  reporter: Reporter;
  secrets: Secrets;
  clock: Clock;
}

/** The longest a background analysis can run: the longest duration the config accepts. */
const BACKGROUND_LIMIT_MS = 24 * 3_600_000;

/** One analysis step: measured now, the walk waits for its verdict. Throws only when `signal` aborts. */
export function runStepAnalysis(analysis: CanaryAnalysis, context: AnalysisContext, signal: AbortSignal): Promise<AnalysisResult> {
  return runAnalysis({
    analysis: analysis.spec,
    args: analysis.args,
    defaults: context.defaults,
    durationMs: analysis.durationMs,
    reporter: context.reporter,
    signal,
    now: () => context.clock.now(),
    sleep: (ms, s) => context.clock.sleep(ms, s),
    env: context.env,
    secrets: context.secrets,
  });
}

/**
 * A run of the background analysis (Argo's `strategy.canary.analysis`): started at `startingStep`, it
 * measures alongside every later step, and the moment it ends anything but Successful it calls
 * `onFailure`, which interrupts the step in progress so the canary is aborted at once. It is
 * stopped when the walk ends (promoted, paused or aborted for another reason).
 *
 * Stopping it ends the run as at its duration (runAnalysis's `stop`): it still has a result,
 * with every measurement it took, how many each metric planned, and a phase that claims nothing
 * for measurements that did not happen (a metric that took none is Inconclusive). A stopped run
 * never aborts the canary: the walk is over by then.
 */
export class BackgroundRun {
  private readonly stopper = new AbortController();
  private running: Promise<void> | undefined;
  private startedMs = 0;
  /** The result: once it ended by itself (a failure, or every metric reached its count), or was stopped. */
  result: AnalysisResult | undefined;
  /** An error that stopped it (a bad template found only at run time, the cancelled run). */
  error: unknown;

  constructor(
    readonly analysis: BackgroundAnalysis,
    private readonly context: AnalysisContext,
    private readonly onFailure: () => void,
  ) {}

  get started(): boolean {
    return this.running !== undefined;
  }

  /** It ended by itself, not Successful: the canary must be aborted. A run we stopped is never a failure. */
  get failed(): boolean {
    return (
      this.error !== undefined || (this.result !== undefined && this.result.stopped === undefined && this.result.phase !== 'Successful')
    );
  }

  start(runSignal: AbortSignal): void {
    if (this.running) return;
    this.startedMs = this.context.clock.now();
    this.context.reporter.info(`Background analysis ${this.analysis.name} started (from step ${this.analysis.startingStep}).`);
    this.running = runAnalysis({
      analysis: this.analysis.spec,
      args: this.analysis.args,
      defaults: this.context.defaults,
      durationMs: BACKGROUND_LIMIT_MS,
      reporter: this.context.reporter,
      signal: runSignal,
      stop: this.stopper.signal,
      now: () => this.context.clock.now(),
      sleep: (ms, s) => this.context.clock.sleep(ms, s),
      env: this.context.env,
      secrets: this.context.secrets,
    }).then(
      (result) => {
        this.result = result;
        if (this.failed) this.onFailure();
      },
      (error: unknown) => {
        this.error = error;
        this.onFailure();
      },
    );
  }

  /**
   * Stops it (if still measuring) and waits for its result. Logs once what it measured:
   * how many measurements of how many planned, and any that were not Successful.
   * Returns how long it ran.
   */
  async stop(): Promise<number> {
    if (!this.running) return 0;
    const first = !this.stopper.signal.aborted;
    this.stopper.abort(new Error('the canary walk ended'));
    await this.running;
    const ranMs = this.context.clock.now() - this.startedMs;
    if (first && this.result?.stopped !== undefined) this.context.reporter.info(describeStopped(this.analysis.name, this.result, ranMs));
    return ranMs;
  }

  /** Why it failed, for the step's error message. */
  describeFailure(): string {
    if (this.result && this.result.phase !== 'Successful')
      return `background analysis ${this.analysis.name} ${this.result.phase}: ${this.result.message}`;
    if (this.error !== undefined)
      return `background analysis ${this.analysis.name} stopped with an error: ${this.error instanceof Error ? this.error.message : String(this.error)}`;
    return `background analysis ${this.analysis.name} is running`;
  }
}

/**
 * One line for a background run stopped as the walk ended, e.g. "Background analysis bg stopped
 * after 3m as the walk ended: error-rate took 3 of 10 planned measurements (2 Successful,
 * 1 Failed); latency took none."
 */
export function describeStopped(name: string, result: AnalysisResult, ranMs: number): string {
  const parts = result.metrics.map((m) => {
    if (m.measurements.length === 0) return `${m.name} took no measurement`;
    const tally = (['Successful', 'Failed', 'Inconclusive', 'Error'] as const)
      .map((phase) => [phase, m.measurements.filter((x) => x.phase === phase).length] as const)
      .filter(([, n]) => n > 0)
      .map(([phase, n]) => `${n} ${phase}`);
    const planned = m.planned === undefined ? '' : ` of ${m.planned} planned`;
    return `${m.name} took ${m.count}${planned} measurement${(m.planned ?? m.count) === 1 ? '' : 's'} (${tally.join(', ')}): ${m.phase}`;
  });
  return `Background analysis ${name} stopped after ${formatDuration(ranMs)} as the walk ended (${result.phase}): ${parts.join('; ')}.`;
}
