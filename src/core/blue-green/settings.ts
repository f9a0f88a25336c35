/**
 * Blue-green's inputs made into one checked plan (router, colors, steps, analysis, version) before
 * the first request.
 */
import { InputError } from '../config/input-error.js';
import type { RouterSpec } from '../kube/routers/factory.js';
import type { AnalysisSpec } from '../metrics/spec.js';
import { effectiveCount } from '../metrics/spec.js';
import { loadAnalysis } from '../delivery/analysis.js';
import { versionOf } from '../notify/event.js';
import type { blueGreenSpec } from '../specs/blue-green.js';
import type { ParsedInputs } from '../specs/spec.js';
import type { Colors } from './colors.js';
import { serviceRouterNameProblems } from './service-router-names.js';

export type BlueGreenInputs = ParsedInputs<typeof blueGreenSpec>;

/** Everything the inputs decide, checked together before the first request: bad input never changes the cluster. */
export interface BlueGreenSettings {
  router: RouterSpec;
  colors: Colors;
  /** Weights of the new color, ending at 100. */
  steps: number[];
  image?: string;
  /** The image's tag (or digest), for messages and the smoke test's VERSION. */
  version?: string;
  analysis?: AnalysisSpec;
}

/**
 * Turns the parsed inputs into the plan's fixed parts, or throws one InputError naming the input
 * and the fix. `workspace` is where a path given as `analysis` is read from.
 */
export async function settingsFromInputs(inputs: BlueGreenInputs, workspace: string): Promise<BlueGreenSettings> {
  const problems: string[] = [];
  const { namespace, service } = inputs;
  if (inputs.blue === inputs.green)
    problems.push(`green: must differ from blue (both are ${inputs.green}); give each color its own destination`);
  if (inputs.router === 'service' && inputs.steps.length > 1) {
    problems.push(
      `steps: router service switches a Service selector, which cannot split traffic; remove steps (${inputs.steps.join(',')}) or use router istio or gateway`,
    );
  }
  if (inputs.router === 'service') problems.push(...serviceRouterNameProblems(inputs));
  const workload = {
    blue: { namespace: inputs['blue-workload']?.namespace ?? namespace, name: inputs['blue-workload']?.name ?? `${service}-blue` },
    green: { namespace: inputs['green-workload']?.namespace ?? namespace, name: inputs['green-workload']?.name ?? `${service}-green` },
  };
  if (workload.blue.namespace === workload.green.namespace && workload.blue.name === workload.green.name) {
    problems.push(`green-workload: must differ from blue-workload (both are ${workload.blue.namespace}/${workload.blue.name})`);
  }
  if (!inputs.analysis) {
    for (const name of ['validation-duration', 'step-analysis-duration', 'analysis-args'] as const) {
      const value = inputs[name];
      if (value !== undefined && value !== 0)
        problems.push(`${name}: needs the analysis input (the metrics to measure); give analysis, or remove ${name}`);
    }
  }
  if (inputs.container && !inputs.image) problems.push('container: only used with image; give the image to deploy, or remove container');

  let analysis: AnalysisSpec | undefined;
  if (inputs.analysis) {
    try {
      analysis = await loadAnalysis(inputs.analysis, workspace);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problems.push(error.message);
    }
  }
  if (analysis && inputs['step-analysis-duration'] === undefined && (inputs['pre-switch-analysis'] || inputs.steps.length > 1)) {
    const endless = analysis.metrics.filter((m) => effectiveCount(m) === undefined).map((m) => `'${m.name}'`);
    if (endless.length > 0) {
      problems.push(
        `step-analysis-duration: metric ${endless.join(', ')} has an interval but no count, so the analysis before the switch${inputs.steps.length > 1 ? ' and between steps' : ''} would never end; give step-analysis-duration (e.g. 2m) or a count`,
      );
    }
  }
  if (problems.length > 0) throw new InputError(`Invalid inputs of blue-green:\n- ${problems.join('\n- ')}`);

  const destination = { blue: inputs.blue, green: inputs.green };
  const route = { namespace: inputs.route?.namespace ?? namespace, name: inputs.route?.name ?? service };
  const destinations = [inputs.blue, inputs.green] as const;
  const rule = inputs['route-rule'];
  const router: RouterSpec =
    inputs.router === 'istio'
      ? { type: 'istio', ...route, destinations, ...(rule === undefined ? {} : { route: rule }) }
      : inputs.router === 'gateway'
        ? { type: 'gateway', ...route, destinations, ...(rule === undefined ? {} : { rule }) }
        : { type: 'service', ...route, label: inputs['selector-label'], destinations };
  return {
    router,
    colors: { destination, workload },
    steps: inputs.steps,
    ...(inputs.image ? { image: inputs.image, version: versionOf(inputs.image) } : {}),
    ...(analysis ? { analysis } : {}),
  };
}
