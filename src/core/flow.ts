/**
 * What an action does, apart from how it is started. The GitHub Actions runtime
 * (src/actions/runtime.ts) and the command line (src/cli.ts) both run the same Flow;
 * only the context they hand it differs.
 */
import type { DeploymentTrackerFactory } from './notify/deployment-tracker.js';
import type { Reporter } from './reporter.js';
import type { Secrets } from './secrets.js';
import type { ActionSpec, ParsedInputs } from './specs/spec.js';

export interface Flow<S extends ActionSpec> {
  spec: S;
  main(inputs: ParsedInputs<S>, context: FlowContext): Promise<FlowOutputs>;
  /** Runs after the job, also when it was cancelled: release locks, restore unfinished traffic changes. */
  post?(inputs: ParsedInputs<S>, context: FlowContext): Promise<void>;
}

export type FlowOutputs = Record<string, string | number | boolean | object | undefined>;

/**
 * A flow that ran and did not succeed (analysis failed, switched back, aborted): the step fails,
 * and the outputs still reach the workflow so later steps can read `result` and the report.
 */
export class FlowFailure extends Error {
  override readonly name = 'FlowFailure';
  constructor(
    message: string,
    readonly outputs: FlowOutputs,
  ) {
    super(message);
  }
}

/** The outputs as the runner and the command line write them: objects as JSON, everything as text. */
export function outputStrings(outputs: FlowOutputs): [string, string][] {
  return Object.entries(outputs)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => [name, typeof value === 'object' ? JSON.stringify(value) : String(value)]);
}

export interface FlowContext {
  reporter: Reporter;
  secrets: Secrets;
  /** Idempotency key: the `run-id` input, else the workflow run id. */
  runId: string;
  /** Aborted when the run is cancelled (SIGINT/SIGTERM). */
  signal: AbortSignal;
  /** Carried from the main step to the post step. */
  state: { get(key: string): string; set(key: string, value: string): void };
  run: RunInfo;
  /** Records GitHub deployments; set by the action runtime, absent on the command line. */
  deploymentTracker?: DeploymentTrackerFactory;
}

/** Who and what started this run, for summaries, notifications and deployment records. */
export interface RunInfo {
  serverUrl: string;
  repository: string;
  runId: string;
  runAttempt: string;
  actor: string;
  sha: string;
  ref: string;
  /** Link to this run's log. */
  runUrl: string;
}

/** The run id an action uses as its idempotency key: the `run-id` input when given. */
export function runIdFor(inputs: object, run: RunInfo): string {
  const given = (inputs as Record<string, unknown>)['run-id'];
  return typeof given === 'string' ? given : `run-${run.runId}`;
}

/** Reads run information the way GitHub's runner exposes it; on other machines, local defaults. */
export function runInfoFromEnv(env: NodeJS.ProcessEnv = process.env): RunInfo {
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const repository = env.GITHUB_REPOSITORY ?? 'local/local';
  const runId = env.GITHUB_RUN_ID ?? `local-${Date.now()}`;
  return {
    serverUrl,
    repository,
    runId,
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
    actor: env.GITHUB_ACTOR ?? env.USER ?? 'unknown',
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    runUrl: env.GITHUB_RUN_ID ? `${serverUrl}/${repository}/actions/runs/${runId}` : '',
  };
}
