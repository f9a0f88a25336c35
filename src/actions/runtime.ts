import * as core from '@actions/core';
import type { Reporter } from '../core/reporter.js';
import { Secrets } from '../core/secrets.js';
import { parseInputs, secretInputs, type ActionSpec, type ParsedInputs } from '../core/specs/spec.js';

/**
 * The one place that speaks to the GitHub Actions runner: masks secrets before anything
 * else, parses inputs through the action's spec, runs the core, sets outputs, and turns
 * any error into a failed step with the secrets redacted. The same bundle runs the `post:`
 * step (after the job, also when it was cancelled).
 */
export interface ActionContext {
  reporter: Reporter;
  secrets: Secrets;
  /** Idempotency key: the `run-id` input, else the workflow run id. */
  runId: string;
  /** Aborted when the runner cancels the job (SIGINT/SIGTERM). */
  signal: AbortSignal;
  /** Carried from the main step to the post step. */
  state: { get(key: string): string; set(key: string, value: string): void };
  github: GitHubRun;
}

export interface GitHubRun {
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

export type Outputs = Record<string, string | number | boolean | object | undefined>;

export interface ActionHandlers<S extends ActionSpec> {
  main(inputs: ParsedInputs<S>, context: ActionContext): Promise<Outputs>;
  /** Runs in the post step; gets the raw inputs again since the post step re-reads them. */
  post?(inputs: ParsedInputs<S>, context: ActionContext): Promise<void>;
}

export async function runAction<S extends ActionSpec>(spec: S, handlers: ActionHandlers<S>): Promise<void> {
  const secrets = new Secrets();
  for (const name of secretInputs(spec)) {
    for (const piece of secrets.add(core.getInput(name))) core.setSecret(piece);
  }
  const isPost = core.getState('isPost') === 'true';
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('the run was cancelled'));
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  try {
    const raw = Object.fromEntries(Object.keys(spec.inputs).map((name) => [name, core.getInput(name)]));
    const inputs = parseInputs(spec, raw);
    const github = readGitHubRun();
    const runIdInput = (inputs as Record<string, unknown>)['run-id'];
    const context: ActionContext = {
      reporter: actionsReporter(secrets),
      secrets,
      runId: typeof runIdInput === 'string' ? runIdInput : `run-${github.runId}`,
      signal: controller.signal,
      state: { get: (key) => core.getState(key), set: (key, value) => core.saveState(key, value) },
      github,
    };
    if (isPost) {
      await handlers.post?.(inputs, context);
      return;
    }
    core.saveState('isPost', 'true');
    const outputs = await handlers.main(inputs, context);
    for (const [name, value] of Object.entries(outputs)) {
      if (value !== undefined) core.setOutput(name, typeof value === 'object' ? JSON.stringify(value) : String(value));
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    core.setFailed(secrets.redact(isPost ? `post step: ${message}` : message));
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
  }
}

function actionsReporter(secrets: Secrets): Reporter {
  let summaryChain = Promise.resolve();
  return {
    debug: (m) => core.debug(secrets.redact(m)),
    info: (m) => core.info(secrets.redact(m)),
    warn: (m) => core.warning(secrets.redact(m)),
    error: (m) => core.error(secrets.redact(m)),
    group: (title, work) => core.group(secrets.redact(title), work),
    summary: (markdown) => {
      if (!process.env.GITHUB_STEP_SUMMARY) return;
      const text = secrets.redact(markdown);
      summaryChain = summaryChain.then(() => core.summary.addRaw(text, true).write().then(() => undefined));
    },
  };
}

function readGitHubRun(): GitHubRun {
  const env = process.env;
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const repository = env.GITHUB_REPOSITORY ?? 'local/local';
  const runId = env.GITHUB_RUN_ID ?? 'local';
  return {
    serverUrl,
    repository,
    runId,
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
    actor: env.GITHUB_ACTOR ?? 'unknown',
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    runUrl: `${serverUrl}/${repository}/actions/runs/${runId}`,
  };
}

/** For an action whose flow is not built yet: its inputs are checked, then it fails honestly. */
export function notBuilt(name: string): never {
  throw new Error(`The ${name} flow is not built in this version yet: the inputs are valid, but nothing was changed.`);
}
