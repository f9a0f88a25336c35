/**
 * What every action reports about a deployment, in one shape: Slack messages, the job summary
 * and the GitHub deployment status are all drawn from it. Actions fill it as they go and hand
 * it to `Notifications` at the start, at each phase and at the end.
 */

/** The action that reports. */
export type Strategy = 'blue-green' | 'canary' | 'rolling' | 'migrate' | 'rollback' | 'validate';

/**
 * Where the deployment stands. `running` until the end; the end is one of the others.
 * `rolled-back`: it failed and what it changed was undone. `planned`: a dry run changed nothing.
 */
/** `paused`: not final (a canary holding its weight until a later run promotes or aborts it). */
export type Outcome = 'running' | 'succeeded' | 'paused' | 'failed' | 'rolled-back' | 'cancelled' | 'planned';

export interface DeploymentEvent {
  service: string;
  namespace?: string;
  environment?: string;
  /** The version being delivered: a tag, a migration id, or the image when nothing shorter names it. */
  version?: string;
  image?: string;
  strategy: Strategy;
  /** The phase just reached, in the action's words: `start`, `step 2/5`, `switch`, `expand`, `done`. */
  phase: string;
  /** Canary weight (0..100) at this point. */
  weight?: number;
  /** Blue-green: the color taking (or about to take) traffic. */
  color?: string;
  outcome: Outcome;
  /** The action's own result word (promoted, switched, rolled-back, succeeded, Successful…), shown beside the outcome. */
  result?: string;
  /** Why it failed or was rolled back; one or two sentences. */
  reason?: string;
  /** ISO time the deployment started. */
  startedAt: string;
  /** Time taken so far (at the end: in all). */
  durationMs?: number;
  /** Who started the run (GitHub login). */
  actor?: string;
  runUrl?: string;
  environmentUrl?: string;
  /** A dry run: nothing is recorded as a GitHub deployment. */
  dryRun?: boolean;
  /** Each step taken so far, oldest first, for the summary table and charts. */
  timeline: TimelineStep[];
}

export interface TimelineStep {
  name: string;
  /** Traffic weight of the new version during the step. */
  weight?: number;
  /** ISO time the step started. */
  startedAt: string;
  /** How long the step held (pause or analysis) before the next. */
  heldMs?: number;
  /** Analysis measurements taken in the step, by metric name. */
  analysis?: Record<string, number>;
  /** Verdict of the step's analysis, if it ran one. */
  verdict?: 'passed' | 'failed' | 'inconclusive';
}

export const OUTCOME_LABEL: Record<Outcome, string> = {
  running: 'In progress',
  succeeded: 'Succeeded',
  paused: 'Paused',
  failed: 'Failed',
  'rolled-back': 'Rolled back',
  cancelled: 'Cancelled',
  planned: 'Planned (dry run)',
};

export const OUTCOME_EMOJI: Record<Outcome, string> = {
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  paused: ':double_vertical_bar:',
  failed: ':x:',
  'rolled-back': ':leftwards_arrow_with_hook:',
  cancelled: ':no_entry_sign:',
  planned: ':memo:',
};

/** The outcome with the action's own word when it adds something: "Rolled back (aborted)". */
export function describeResult(event: Pick<DeploymentEvent, 'outcome' | 'result'>): string {
  const label = OUTCOME_LABEL[event.outcome];
  const own = event.result?.trim();
  return own && own.toLowerCase() !== label.toLowerCase() ? `${label} (${own})` : label;
}

/** "25%" for a canary, "green" for blue-green, undefined when neither applies. */
export function describeTraffic(event: Pick<DeploymentEvent, 'weight' | 'color'>): string | undefined {
  if (event.weight !== undefined && event.color) return `${event.color} ${event.weight}%`;
  if (event.weight !== undefined) return `${event.weight}%`;
  return event.color || undefined;
}

export function describeVersion(event: Pick<DeploymentEvent, 'version' | 'image'>): string | undefined {
  return event.version || event.image || undefined;
}

/** The version an image names: `registry/app:1.25.0` -> `1.25.0`; `app@sha256:abcd…` -> `sha256:abcd…` (12 hex digits). */
export function versionOf(image: string): string {
  const digest = /@(sha256:[a-f0-9]{12})/.exec(image);
  if (digest) return digest[1]!;
  const tag = /:([\w][\w.-]*)$/.exec(image.slice(image.lastIndexOf('/') + 1));
  return tag ? tag[1]! : 'latest';
}

/** 850ms, 42s, 3m 05s, 1h 02m. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return hours > 0 ? `${hours}h ${String(minutes).padStart(2, '0')}m` : `${minutes}m ${String(seconds).padStart(2, '0')}s`;
}

/** "checkout 1.25.0 to production": the one-line title used by Slack and the summary. */
export function eventTitle(event: DeploymentEvent): string {
  const version = describeVersion(event);
  const what = version ? `${event.service} ${version}` : event.service;
  const where = event.environment ? ` to ${event.environment}` : '';
  const verb =
    event.strategy === 'rollback'
      ? 'Rollback of'
      : event.strategy === 'migrate'
        ? 'Migration of'
        : event.strategy === 'validate'
          ? 'Validation of'
          : 'Deploy';
  return `${verb} ${what}${where}`;
}
