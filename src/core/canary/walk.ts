/**
 * Walks a canary through its steps, from a given step, to one of three ends:
 *  - promoted: every step passed; the stable workload runs the new image and takes all traffic;
 *  - paused: an indefinite `pause: {}` (or an Inconclusive analysis, as Argo pauses on one): the
 *    canary holds its weight until a later run promotes or aborts it;
 *  - aborted: an analysis failed, the background analysis failed, the canary never became ready,
 *    or a step failed: traffic back to 100% stable, the canary scaled to 0.
 * Before each step the canary record says which step is being taken, so a run killed at any
 * point is resumed at that step; the changes inside it are journaled and not applied twice.
 * A cancelled run (its signal aborted) is not aborted here: its post step restores the traffic.
 */
import { formatDuration } from '../config/primitives.js';
import type { DeliverySession, SessionResult } from '../delivery/session.js';
import { describeFailure, timelineOf } from '../metrics/describe.js';
import type { AnalysisResult } from '../metrics/result.js';
import type { TimelineStep } from '../notify/event.js';
import { Markdown } from '../notify/markdown.js';
import { BackgroundRun, runStepAnalysis, type AnalysisContext } from './analysis.js';
import type { CanaryRecord, CanaryRecordStore } from './canary-record.js';
import type { CanaryConfig, CanaryStep } from './config.js';
import type { CanaryTarget, TargetRun } from './targets.js';

export interface CanaryWalkOptions {
  session: DeliverySession;
  config: CanaryConfig;
  target: CanaryTarget;
  records: CanaryRecordStore;
  analysis: AnalysisContext;
  rolloutTimeoutMs: number;
}

/** One analysis as the `analysis` output lists it. */
export interface AnalysisOutput extends AnalysisResult {
  /** Index of the step, or "background". */
  step: number | 'background';
  templates: string;
}

/** How a step ended: go on, hold here (`attention`: a person must look, the step fails), or abort. */
type StepEnd = { next: true } | { paused: string; attention: boolean } | { failed: string };

export class CanaryWalk {
  readonly analyses: AnalysisOutput[] = [];
  private weight: number;
  private stepIndex: number;
  private background: BackgroundRun | undefined;
  private stepController = new AbortController();
  private readonly run: TargetRun;

  constructor(
    private readonly o: CanaryWalkOptions,
    private record: CanaryRecord,
  ) {
    this.weight = record.weight;
    this.stepIndex = record.stepIndex;
    this.run = {
      session: o.session,
      canaryId: canaryIdOf(record),
      container: record.container ?? '',
      rolloutTimeoutMs: o.rolloutTimeoutMs,
    };
    const bg = o.config.background;
    if (bg)
      this.background = new BackgroundRun(bg, o.analysis, () => this.stepController.abort(new Error(this.background!.describeFailure())));
  }

  private get session(): DeliverySession {
    return this.o.session;
  }

  private get steps(): CanaryStep[] {
    return this.o.config.steps;
  }

  /** Walks from step `from` (-1: deploy the canary first) and promotes at the end. */
  async walk(from: number): Promise<SessionResult> {
    let index = from;
    try {
      if (index < 0) {
        await this.save({ stepIndex: -1, state: 'progressing' });
        await this.enter(-1, 'deploy canary');
        await this.o.target.deployCanary(this.run, this.record.image);
        index = 0;
      }
      for (; index < this.steps.length; index++) {
        const bg = this.background;
        if (bg && !this.session.dryRun && index >= bg.analysis.startingStep) bg.start(this.session.signal);
        if (bg?.failed) return await this.abort(bg.describeFailure());
        await this.save({ stepIndex: index, state: 'progressing' });
        const end = await this.take(index);
        if (bg?.failed) return await this.abort(bg.describeFailure());
        if ('failed' in end) return await this.abort(end.failed);
        if ('paused' in end) return await this.pause(end, index);
      }
      await this.stopBackground();
      if (this.background?.failed) return await this.abort(this.background.describeFailure());
      return await this.promote();
    } catch (error) {
      if (this.session.signal.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const where =
        index < 0
          ? 'while deploying the canary'
          : `at step ${stepNumber(index)} of ${this.steps.length} (${describeStep(this.steps[index])})`;
      try {
        return await this.abort(`${where}: ${message}`);
      } catch (abortError) {
        if (this.session.signal.aborted) throw abortError;
        const also = abortError instanceof Error ? abortError.message : String(abortError);
        this.session.reporter.error(`The canary could not be aborted: ${also}. Check the traffic now; run again with action: abort.`);
        return this.result('failed', 'failed', `Canary failed ${where}: ${message}; the abort that followed failed too: ${also}`);
      }
    } finally {
      await this.stopBackground();
      this.closeTimeline();
    }
  }

  /** Promote now, skipping the steps left (promote with full: true). */
  async promoteNow(): Promise<SessionResult> {
    try {
      return await this.promote();
    } finally {
      this.closeTimeline();
    }
  }

  /** Traffic back to stable, canary to 0: after a failure, or asked for by hand (`byHand`: the run succeeds). */
  async abort(reason: string, byHand = false): Promise<SessionResult> {
    await this.stopBackground();
    await this.enter(this.stepIndex, 'abort');
    await this.o.target.abort(this.run);
    const differences = this.session.dryRun ? [] : await this.o.target.verify('aborted', this.record.image);
    if (differences.length) return this.unverified('abort', differences);
    await this.reportLeftRunning();
    this.weight = 0;
    this.markTimelineWeight(0);
    await this.save({ state: 'aborted', reason, weight: 0 });
    this.session.reporter.warn(`Canary aborted: ${reason}. Traffic is back on stable; the canary is scaled to 0.`);
    if (this.session.dryRun) return this.result('planned', 'aborted');
    return byHand ? this.result('succeeded', 'aborted', reason) : this.result('rolled-back', 'aborted', `Canary aborted: ${reason}`);
  }

  private async promote(): Promise<SessionResult> {
    await this.enter(this.steps.length, 'promote');
    await this.o.target.promote(this.run, this.record.image);
    const differences = this.session.dryRun ? [] : await this.o.target.verify('promoted', this.record.image);
    if (differences.length) return this.unverified('promote', differences);
    await this.reportLeftRunning();
    this.weight = 0;
    this.stepIndex = this.steps.length;
    // What a person cares about: the new version takes 100%, on stable now (not "canary 0%", which reads like a rollback).
    this.markTimelineWeight(100);
    await this.save({ stepIndex: this.steps.length, state: 'promoted', weight: 0, reason: undefined });
    this.session.reporter.info(`Canary promoted: ${this.record.image} is now the stable version and takes all traffic.`);
    const result = this.result(this.session.dryRun ? 'planned' : 'succeeded', 'promoted');
    this.session.event.weight = 100;
    return result;
  }

  /** What still runs after the verified end (Argo's scale-down delays): in the log and the job summary. */
  private async reportLeftRunning(): Promise<void> {
    if (this.session.dryRun || !this.o.target.leftRunning) return;
    const lines = await this.o.target.leftRunning();
    if (!lines.length) return;
    for (const line of lines) this.session.reporter.info(line);
    this.session.notify.summary.write(new Markdown().heading(3, 'Still running').bullets(lines).toString());
  }

  /**
   * The promote or abort was written, but the objects read back do not show it: the run fails
   * naming each difference, and the record keeps its state (progressing), so it never claims an end
   * the cluster does not have. A later run with action promote or abort tries again.
   */
  private unverified(what: 'promote' | 'abort', differences: string[]): SessionResult {
    const reason = `The ${what} was written, but reading the objects back does not show it: ${differences.join('; ')}`;
    this.session.reporter.error(`${reason}. Check them now; run again with action: ${what}.`);
    return this.result('failed', 'failed', reason);
  }

  private async pause(end: { paused: string; attention: boolean }, index: number): Promise<SessionResult> {
    await this.stopBackground();
    await this.save({ stepIndex: index, state: 'paused', reason: end.paused });
    const where = `${end.attention ? 'inconclusive ' : ''}at step ${stepNumber(index)} of ${this.steps.length}, ${this.weight}% on canary`;
    this.session.reporter[end.attention ? 'warn' : 'info'](
      `Canary paused: ${where}: ${end.paused}. Run again with action: promote to go on, or action: abort.`,
    );
    // Not a final state: most traffic is still on stable until a later run promotes or aborts.
    // Shown after the outcome: "Paused: inconclusive at step 3 of 6, 25% on canary: …".
    const reason = `${where}: ${end.paused}. Next: action: promote, or action: abort.`;
    return { ...this.result('paused', 'paused', reason), attention: end.attention };
  }

  /** Takes one step; resolves how it ended. Throws on errors (the walk aborts) and on cancellation. */
  private async take(index: number): Promise<StepEnd> {
    const step = this.steps[index]!;
    const entry = await this.enter(index, describeStep(step));
    this.stepController = new AbortController();
    // A background failure that landed while the step was being entered aborted the previous
    // controller: act on it now, not after this step's pause.
    if (this.background?.failed) return { failed: this.background.describeFailure() };
    const signal = AbortSignal.any([this.stepController.signal, this.session.signal]);
    switch (step.kind) {
      case 'setWeight': {
        // The record learns the weight with the next step's write: one write per step.
        this.weight = await this.o.target.setWeight(this.run, index, step.weight);
        entry.weight = this.weight;
        return { next: true };
      }
      case 'pause': {
        if (step.durationMs === undefined) {
          if (this.session.dryRun) {
            this.session.reporter.info(`[dry run] would pause at step ${stepNumber(index)} until a run with action: promote`);
            return { next: true };
          }
          return { paused: `step ${stepNumber(index)} is pause: {} (until promoted)`, attention: false };
        }
        if (this.session.dryRun) {
          this.session.reporter.info(`[dry run] would hold ${formatDuration(step.durationMs)} at ${this.weight}%`);
          return { next: true };
        }
        this.session.reporter.info(`Holding ${formatDuration(step.durationMs)} at ${this.weight}%.`);
        try {
          await this.o.analysis.clock.sleep(step.durationMs, signal);
        } catch (error) {
          if (this.session.signal.aborted || !this.background?.failed) throw error;
          return { failed: this.background.describeFailure() };
        }
        return { next: true };
      }
      case 'analysis': {
        const analysis = step.analysis;
        if (this.session.dryRun) {
          this.session.reporter.info(
            `[dry run] would run analysis ${analysis.name} (${analysis.spec.metrics.map((m) => m.name).join(', ')}) at ${this.weight}%`,
          );
          return { next: true };
        }
        let result: AnalysisResult;
        try {
          result = await this.session.reporter.group(`Analysis ${analysis.name} at step ${stepNumber(index)} (${this.weight}%)`, () =>
            runStepAnalysis(analysis, this.o.analysis, signal),
          );
        } catch (error) {
          if (this.session.signal.aborted || !this.background?.failed) throw error;
          return { failed: this.background.describeFailure() };
        }
        this.analyses.push({ step: index, templates: analysis.name, ...result });
        Object.assign(entry, timelineOf(result));
        if (result.phase === 'Successful') return { next: true };
        const why = `analysis ${analysis.name} at step ${stepNumber(index)} (${this.weight}%) ${result.phase}: ${describeFailure(result)}`;
        if (result.phase === 'Inconclusive')
          return { paused: `${why}; a person decides (as Argo Rollouts pauses on an Inconclusive analysis)`, attention: true };
        return { failed: why };
      }
    }
  }

  /** Starts a timeline entry (closing the one before) and notifies the phase. */
  private async enter(index: number, name: string): Promise<TimelineStep> {
    this.closeTimeline();
    this.stepIndex = index;
    const entry: TimelineStep = { name, weight: this.weight, startedAt: new Date(this.o.analysis.clock.now()).toISOString() };
    this.session.event.timeline.push(entry);
    const of = index >= 0 && index < this.steps.length ? `step ${stepNumber(index)}/${this.steps.length}: ${name}` : name;
    this.session.reporter.info(`Canary ${of} (weight ${this.weight}%)`);
    await this.session.phase({ phase: of, weight: this.weight });
    return entry;
  }

  /** How long the last step held: until now. */
  private closeTimeline(): void {
    const last = this.session.event.timeline.at(-1);
    if (last && last.heldMs === undefined) last.heldMs = Math.max(0, this.o.analysis.clock.now() - Date.parse(last.startedAt));
  }

  private markTimelineWeight(weight: number): void {
    const last = this.session.event.timeline.at(-1);
    if (last) last.weight = weight;
  }

  private async stopBackground(): Promise<void> {
    const bg = this.background;
    if (!bg?.started) return;
    await bg.stop();
    if (this.analyses.some((a) => a.step === 'background')) return;
    if (bg.result) {
      this.closeTimeline();
      this.analyses.push({ step: 'background', templates: bg.analysis.name, ...bg.result });
      const counts = bg.result.metrics.map((m) => `${m.count}${m.planned === undefined ? '' : `/${m.planned}`}`).join(', ');
      this.session.event.timeline.push({
        name: `background analysis ${bg.analysis.name}${bg.result.stopped ? ` (stopped: ${counts} measurements)` : ''}`,
        startedAt: bg.result.startedAt,
        heldMs: Date.parse(bg.result.finishedAt) - Date.parse(bg.result.startedAt),
        ...timelineOf(bg.result),
      });
    }
  }

  /** Writes the canary record (not in a dry run). */
  private async save(update: Partial<CanaryRecord>): Promise<void> {
    this.record = { ...this.record, weight: this.weight, ...update, runId: this.session.runId };
    if (this.session.dryRun) return;
    this.record = await this.o.records.write(this.record);
  }

  private result(outcome: SessionResult['outcome'], result: string, reason?: string): SessionResult {
    const final = this.session.dryRun ? 'planned' : result;
    this.session.event.weight = this.weight;
    return {
      outcome,
      result: final,
      reason,
      outputs: {
        result: final,
        weight: this.weight,
        step: Math.min(stepNumber(this.stepIndex), this.steps.length),
        analysis: this.analyses,
      },
    };
  }
}

/**
 * Steps are counted from 1 wherever a person reads them (log, summary, Slack, the `step` output);
 * 0 is deploying the canary. The record keeps the 0-based index it walks by.
 */
export function stepNumber(index: number): number {
  return index + 1;
}

/** The canary's id in journal step names: one per started canary, so a later canary by the same run id is new. */
export function canaryIdOf(record: Pick<CanaryRecord, 'startedBy' | 'startedAt'>): string {
  let hash = 0;
  for (const ch of `${record.startedBy}@${record.startedAt}`) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) >>> 0;
  return hash.toString(36).padStart(7, '0').slice(0, 7);
}

export function describeStep(step: CanaryStep | undefined): string {
  if (!step) return 'promote';
  switch (step.kind) {
    case 'setWeight':
      return `setWeight ${step.weight}`;
    case 'pause':
      return step.durationMs === undefined ? 'pause until promoted' : `pause ${formatDuration(step.durationMs)}`;
    case 'analysis':
      return `analysis ${step.analysis.name}`;
  }
}
