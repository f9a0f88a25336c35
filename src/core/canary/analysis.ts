import { runAnalysis } from '../metrics/run.js';
import type { Defaults } from '../metrics/resolve.js';
import type { AnalysisResult } from '../metrics/result.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import type { CanaryAnalysis } from './config.js';

/** Time as the canary sees it: injectable so tests run a 10-minute pause in milliseconds. */
export interface CanaryClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** What an analysis needs besides its definition. */
export interface AnalysisContext {
  defaults: Defaults;
  env: Readonly<Record<string, string | undefined>>;
  reporter: Reporter;
  secrets: Secrets;
  clock: CanaryClock;
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
 * The background analysis (Argo's `strategy.canary.analysis`): started at `startingStep`, it
 * measures alongside every later step, and the moment it ends anything but Successful it calls
 * `onFailure`, which interrupts the step in progress so the canary is aborted at once. It is
 * stopped when the walk ends (promoted, paused or aborted for another reason).
 *
 * A stopped analysis has no result of its own: runAnalysis ends only at its duration or a verdict,
 * so stopping it aborts it, and its measurements are in the log, not in the summary.
 */
export class BackgroundAnalysis {
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;
  private startedMs = 0;
  /** The result once it ended by itself (a failure, or every metric reached its count). */
  result: AnalysisResult | undefined;
  /** An error that stopped it (a bad template found only at run time, the cancelled run). */
  error: unknown;

  constructor(
    readonly analysis: CanaryAnalysis & { startingStep: number },
    private readonly context: AnalysisContext,
    private readonly onFailure: () => void,
  ) {}

  get started(): boolean {
    return this.running !== undefined;
  }

  /** Not Successful: the canary must be aborted. */
  get failed(): boolean {
    return this.error !== undefined || (this.result !== undefined && this.result.phase !== 'Successful');
  }

  start(runSignal: AbortSignal): void {
    if (this.running) return;
    const signal = AbortSignal.any([this.controller.signal, runSignal]);
    this.startedMs = this.context.clock.now();
    this.context.reporter.info(`Background analysis ${this.analysis.name} started (from step ${this.analysis.startingStep}).`);
    this.running = runAnalysis({
      analysis: this.analysis.spec,
      args: this.analysis.args,
      defaults: this.context.defaults,
      durationMs: BACKGROUND_LIMIT_MS,
      reporter: this.context.reporter,
      signal,
      now: () => this.context.clock.now(),
      sleep: (ms, s) => this.context.clock.sleep(ms, s),
      env: this.context.env,
      secrets: this.context.secrets,
    }).then(
      (result) => {
        this.result = result;
        if (result.phase !== 'Successful') this.onFailure();
      },
      (error: unknown) => {
        if (this.controller.signal.aborted) return; // stopped by us
        this.error = error;
        this.onFailure();
      },
    );
  }

  /** Stops it (if still measuring) and waits for it to settle. Returns how long it ran. */
  async stop(): Promise<number> {
    if (!this.running) return 0;
    this.controller.abort(new Error('the canary walk ended'));
    await this.running;
    return this.context.clock.now() - this.startedMs;
  }

  /** Why it failed, for the step's error message. */
  describeFailure(): string {
    if (this.result && this.result.phase !== 'Successful') return `background analysis ${this.analysis.name} ${this.result.phase}: ${this.result.message}`;
    if (this.error !== undefined) return `background analysis ${this.analysis.name} stopped with an error: ${this.error instanceof Error ? this.error.message : String(this.error)}`;
    return `background analysis ${this.analysis.name} is running`;
  }
}
