/**
 * The one place that speaks to the GitHub Actions runner: masks secrets before anything
 * else, parses inputs through the action's spec, runs the flow, sets outputs, and turns
 * any error into a failed step with the secrets redacted. The same entry runs the `post:`
 * step (after the job, also when it was cancelled).
 *
 * The runner gets here through start.ts, which has run the inputs' quick checks (most bad inputs
 * end there, before this bundle is even read). The flow and the GitHub deployments client are
 * loaded only once zod has found the inputs valid (src/core/specs/index.ts).
 */
import * as core from '@actions/core';
import { type FlowContext, FlowFailure, outputStrings, runIdFor, runInfoFromEnv } from '../core/flow.js';
import type { Reporter } from '../core/reporter.js';
import { Secrets } from '../core/secrets.js';
import { postedSlackMessage } from '../core/notify/posted-message.js';
import { quickChecks } from '../core/specs/quick-checks.js';
import type { ActionSpec, ParsedInputs } from '../core/specs/spec.js';
import { failureSummary } from './failure-summary.js';

/** Runs the action called `name` (one of src/core/specs/index.ts) as the runner's main or post step. */
export async function runAction(name: string): Promise<void> {
  // The quick checks list the same actions and inputs as the specs (the build derives them), and
  // are read without loading the specs: the secrets are masked before anything else.
  const quick = quickChecks[name];
  if (!quick) throw new Error(`no action "${name}"; the actions are ${Object.keys(quickChecks).join(', ')}`);
  const inputNames = Object.keys(quick.inputs);
  const secrets = new Secrets();
  for (const name of inputNames.filter((input) => quick.inputs[input]!.secret)) {
    for (const piece of secrets.add(core.getInput(name))) core.setSecret(piece);
  }
  // Saved first thing, so that the post step knows it is the post step even when the main step
  // failed before doing anything else.
  const isPost = core.getState('isPost') === 'true';
  const { reporter, flushSummary } = actionsReporter(secrets);
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('the run was cancelled'));
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  // What this step saved, readable in the same step (core.getState only sees the main step's state, in the post step).
  const saved = new Map<string, string>();
  const state = {
    get: (key: string) => saved.get(key) ?? core.getState(key),
    set: (key: string, value: string) => {
      saved.set(key, value);
      core.saveState(key, value);
    },
  };
  // Every action with Slack inputs has the slack-message input and output (specs/common.ts).
  const hasSlackMessage = 'slack-message' in quick.inputs;
  try {
    if (!isPost) core.saveState('isPost', 'true');
    const raw = Object.fromEntries(inputNames.map((name) => [name, core.getInput(name)]));
    if (isPost && !quick.post) return;
    const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
    const [{ actionNamed }, { parseInputsWithFile }] = await Promise.all([
      import('../core/specs/index.js'),
      import('../core/specs/delivery-file.js'),
    ]);
    const entry = actionNamed(name);
    const parse = () => parseInputsWithFile(entry.spec, raw, workspace);
    const inputs = isPost ? await parsePostInputs(parse) : await parseMainInputs(parse, raw, reporter);
    if (!inputs) return;
    const [flow, { githubDeploymentTracker }] = await Promise.all([entry.flow(), import('./adapters/notify.js')]);
    const run = runInfoFromEnv();
    const context: FlowContext = {
      reporter,
      secrets,
      runId: runIdFor(inputs, run),
      signal: controller.signal,
      state,
      run,
      deploymentTracker: githubDeploymentTracker(),
    };
    if (isPost) {
      await flow.post?.(inputs, context);
      return;
    }
    const outputs = await flow.main(inputs, context);
    for (const [name, value] of outputStrings(outputs)) core.setOutput(name, value);
    if (hasSlackMessage) setSlackMessage(state);
  } catch (error) {
    if (!isPost && hasSlackMessage) setSlackMessage(state);
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof FlowFailure) for (const [name, value] of outputStrings(error.outputs)) core.setOutput(name, value);
    else if (!isPost) {
      // Bad input, or an error before the flow had a result: workflows branch on `result`, and the
      // summary says why; neither is ever left empty.
      core.setOutput('result', 'failed');
      reporter.summary(failureSummary(quick.title, secrets.redact(message)));
    }
    core.setFailed(secrets.redact(isPost ? `post step: ${message}` : message));
  } finally {
    await flushSummary().catch((error: Error) => core.warning(`could not write the job summary: ${secrets.redact(error.message)}`));
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
  }
}

/** The inputs, with the service's delivery file applied (said in the log). */
async function parseMainInputs<S extends ActionSpec>(
  parse: () => Promise<{ inputs: ParsedInputs<S>; file?: { path: string; values: Record<string, unknown> } }>,
  raw: Record<string, string>,
  reporter: Reporter,
): Promise<ParsedInputs<S>> {
  const { inputs, file } = await parse();
  if (file) {
    const used = Object.keys(file.values).filter((key) => !raw[key]?.trim());
    reporter.info(`Delivery file ${file.path}: ${used.length > 0 ? `${used.join(', ')} from the file` : 'every input it sets was given'}.`);
  }
  return inputs;
}

/** The Slack message this step posted or updated, for the next job of the release (`<channel>/<ts>`: not a secret). */
function setSlackMessage(state: { get(key: string): string }): void {
  const message = postedSlackMessage(state);
  if (message) core.setOutput('slack-message', message);
}

/** The post step re-reads the inputs; when they were invalid, the main step changed nothing to clean up. */
async function parsePostInputs<S extends ActionSpec>(
  parse: () => Promise<{ inputs: ParsedInputs<S> }>,
): Promise<ParsedInputs<S> | undefined> {
  try {
    return (await parse()).inputs;
  } catch {
    core.info('Post step: the inputs were invalid, so the main step changed nothing; nothing to clean up.');
    return undefined;
  }
}

function actionsReporter(secrets: Secrets): { reporter: Reporter; flushSummary: () => Promise<void> } {
  let summaryChain = Promise.resolve();
  const reporter: Reporter = {
    debug: (m) => core.debug(secrets.redact(m)),
    info: (m) => core.info(secrets.redact(m)),
    warn: (m) => core.warning(secrets.redact(m)),
    error: (m) => core.error(secrets.redact(m)),
    group: (title, work) => core.group(secrets.redact(title), work),
    summary: (markdown) => {
      if (!process.env.GITHUB_STEP_SUMMARY) return;
      const text = secrets.redact(markdown);
      summaryChain = summaryChain.then(() =>
        core.summary
          .addRaw(text, true)
          .write()
          .then(() => undefined),
      );
    },
  };
  return { reporter, flushSummary: () => summaryChain };
}
