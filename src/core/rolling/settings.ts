/**
 * The rolling action's inputs made into one checked plan (the Deployment, the image, its version,
 * the analysis with its arguments) before the first request: bad input never reaches the cluster.
 */
import { InputError } from '../config/input-error.js';
import { type Analysis, analysisArgs, checkAnalysis, loadAnalysis } from '../delivery/analysis.js';
import type { DeploymentName } from '../kube/deployment.js';
import { effectiveCount, type AnalysisSpec } from '../metrics/spec.js';
import { versionOf } from '../notify/event.js';
import type { Secrets } from '../secrets.js';
import type { rollingSpec } from '../specs/rolling.js';
import type { ParsedInputs } from '../specs/spec.js';

export type RollingInputs = ParsedInputs<typeof rollingSpec>;

export interface RollingSettings {
  deployment: DeploymentName;
  image: string;
  /** The image's tag (or digest), for messages and the analysis' `version`. */
  version: string;
  /** The analysis run during and after the rollout, its arguments filled in and checked. */
  analysis?: Analysis;
}

/**
 * Turns the parsed inputs into the plan, or throws one InputError naming each input and its fix.
 * `workspace` is where a path given as `analysis` is read from; `env` holds what the analysis'
 * `valueFrom.env` references name. Secrets found in the analysis are added to `secrets`.
 */
export async function settingsFromInputs(
  inputs: RollingInputs,
  context: { workspace: string; env: Readonly<Record<string, string | undefined>>; secrets: Secrets },
): Promise<RollingSettings> {
  const problems: string[] = [];
  const deployment = { namespace: inputs.namespace, name: inputs.deployment ?? inputs.service };
  const version = versionOf(inputs.image);
  if (!inputs.analysis && inputs['analysis-args'] !== undefined)
    problems.push('analysis-args: needs the analysis input (the metrics to measure); give analysis, or remove analysis-args');
  let spec: AnalysisSpec | undefined;
  if (inputs.analysis) {
    try {
      spec = await loadAnalysis(inputs.analysis, context.workspace);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problems.push(error.message);
    }
  }
  const endless = spec?.metrics.filter((m) => effectiveCount(m) === undefined).map((m) => `'${m.name}'`) ?? [];
  if (endless.length > 0) {
    problems.push(
      `analysis: metric ${endless.join(', ')} has an interval but no count, so the analysis during and after the rollout would never end; give ${endless.length > 1 ? 'each' : 'it'} a count (e.g. count: 5)`,
    );
  }
  let analysis: Analysis | undefined;
  if (spec && endless.length === 0) {
    const builtIn = { service: inputs.service, namespace: deployment.namespace, deployment: deployment.name, image: inputs.image, version };
    analysis = {
      spec,
      args: analysisArgs(spec, builtIn, inputs['analysis-args']),
      defaults: { prometheusAddress: inputs['prometheus-address'], prometheusToken: inputs['prometheus-token'] },
    };
    try {
      checkAnalysis(analysis, context.secrets, context.env);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problems.push(`analysis: ${error.message}`);
    }
  }
  if (problems.length > 0) throw new InputError(`Invalid inputs of rolling:\n- ${problems.join('\n- ')}`);
  return { deployment, image: inputs.image, version, ...(analysis ? { analysis } : {}) };
}
