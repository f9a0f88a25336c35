/**
 * Blue-green's analysis of the new color: the shared delivery analysis (delivery/analysis.ts) with
 * the built-in arguments that describe the color.
 */
import { type Analysis, analysisArgs } from '../delivery/analysis.js';
import type { Color } from './colors.js';
import type { BlueGreenInputs, BlueGreenSettings } from './settings.js';

/** The analysis of `target` (the new color), or undefined when the run has none. */
export function analysisFor(settings: BlueGreenSettings, inputs: BlueGreenInputs, target: Color): Analysis | undefined {
  if (!settings.analysis) return undefined;
  const workload = settings.colors.workload[target];
  const builtIn = {
    service: inputs.service,
    namespace: workload.namespace,
    color: target,
    workload: workload.name,
    destination: settings.colors.destination[target],
    version: settings.version,
  };
  return {
    spec: settings.analysis,
    args: analysisArgs(settings.analysis, builtIn, inputs['analysis-args']),
    defaults: { prometheusAddress: inputs['prometheus-address'], prometheusToken: inputs['prometheus-token'] },
  };
}
