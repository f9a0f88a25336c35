import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { InputError } from '../config/input-error.js';
import { type Flow, type FlowContext, FlowFailure, type FlowOutputs } from '../flow.js';
import { validateSpec } from '../specs/validate.js';
import type { ParsedInputs } from '../specs/spec.js';
import { parseMetrics } from './config.js';
import { runAnalysis } from './run.js';
import { renderSummary } from './summary.js';

/**
 * The validate action's flow: read the metric definitions, run the analysis, write the job
 * summary, and succeed only when the analysis is Successful. Failed, Error and Inconclusive all
 * fail the step — Argo Rollouts pauses a rollout on Inconclusive for a person to decide; a
 * workflow step cannot pause, and letting it pass would let an unmeasured release through.
 */


export type ValidateInputs = ParsedInputs<typeof validateSpec>;

export async function runValidate(inputs: ValidateInputs, context: FlowContext, env: NodeJS.ProcessEnv = process.env): Promise<FlowOutputs> {
  const { text, source } = await readMetricsInput(inputs.metrics, env.GITHUB_WORKSPACE ?? process.cwd());
  const analysis = parseMetrics(text, source);
  const result = await context.reporter.group('Metric analysis', () =>
    runAnalysis({
      analysis,
      args: inputs.args,
      defaults: { prometheusAddress: inputs['prometheus-address'], prometheusToken: inputs['prometheus-token'] },
      durationMs: inputs.duration,
      reporter: context.reporter,
      signal: context.signal,
      secrets: context.secrets,
      env,
    }),
  );
  context.reporter.summary(renderSummary(result, 'Metric validation'));
  const outputs: FlowOutputs = { result: result.phase, report: JSON.stringify(result) };
  if (result.phase !== 'Successful') throw new FlowFailure(`Metric validation ${result.phase}: ${result.message}`, outputs);
  context.reporter.info(`Metric validation Successful: ${result.message}`);
  return outputs;
}

/** For the command line (src/flows.ts): the same flow the action runs. */
export const validateFlow: Flow<typeof validateSpec> = { spec: validateSpec, main: (inputs, context) => runValidate(inputs, context) };

const FILE = /^[^\n{}:]+\.(ya?ml|json)$/i;

/**
 * The `metrics` input is inline YAML, or the path of a .yaml/.yml/.json file inside the workspace
 * (a path outside it is refused: the input must not become a way to read the runner's files).
 */
export async function readMetricsInput(value: string, workspace: string): Promise<{ text: string; source: string }> {
  const trimmed = value.trim();
  if (!FILE.test(trimmed)) return { text: value, source: 'metrics input' };
  const path = resolve(workspace, trimmed);
  const inside = relative(resolve(workspace), path);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new InputError(`metrics: ${trimmed} is outside the workspace (${workspace}); give a path inside the repository, or inline YAML`);
  }
  try {
    return { text: await readFile(path, 'utf8'), source: trimmed };
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new InputError(`metrics: cannot read ${trimmed} (${code ?? 'error'}) relative to ${workspace}; check the path, or give the definitions inline`);
  }
}
