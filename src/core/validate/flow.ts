/**
 * The validate action's flow: read the metric definitions, run the analysis, write the job
 * summary, and succeed only when the analysis is Successful. Failed, Error and Inconclusive all
 * fail the step — Argo Rollouts pauses a rollout on Inconclusive for a person to decide; a
 * workflow step cannot pause, and letting it pass would let an unmeasured release through.
 */
import { readFileOrInline } from '../config/file-or-inline.js';
import { type Flow, type FlowContext, FlowFailure, type FlowOutputs } from '../flow.js';
import { validateSpec } from '../specs/validate.js';
import type { ParsedInputs } from '../specs/spec.js';
import { parseMetrics } from '../metrics/config.js';
import { runAnalysis } from '../metrics/run.js';
import { renderSummary } from '../metrics/summary.js';

export type ValidateInputs = ParsedInputs<typeof validateSpec>;

export async function runValidate(
  inputs: ValidateInputs,
  context: FlowContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FlowOutputs> {
  const { text, source } = await readFileOrInline('metrics', inputs.metrics, env.GITHUB_WORKSPACE ?? process.cwd());
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

/** The flow the action and the command line run (listed in src/core/specs/index.ts). */
export const validateFlow: Flow<typeof validateSpec> = { spec: validateSpec, main: (inputs, context) => runValidate(inputs, context) };
