/**
 * With router service, the inputs name a Service and two label values: check them against the
 * API server's limits before anything is written (a Service name is a DNS-1035 label of at most
 * 63 characters; a label value is at most 63 characters of letters, digits, "-", "_" and ".",
 * starting and ending with a letter or digit), so a run never fails halfway on a 422.
 * Source: kubernetes apimachinery validation IsDNS1035Label and IsValidLabelValue.
 */
import { MAX_LABEL_VALUE } from '../config/primitives.js';
import type { BlueGreenInputs } from './settings.js';

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** One problem per input whose derived Service name or label value the API server would refuse. */
export function serviceRouterNameProblems(
  inputs: Pick<BlueGreenInputs, 'service' | 'route' | 'blue' | 'green' | 'selector-label'>,
): string[] {
  const problems: string[] = [];
  if (!inputs.route) {
    const name = inputs.service;
    if (name.length > MAX_LABEL_VALUE || !DNS1035_LABEL.test(name)) {
      problems.push(
        `service: with router service and no route input, the Service is named after the service (${name.length} characters), and a Service name is a DNS-1035 label: at most ${MAX_LABEL_VALUE} lower-case letters, digits and "-", starting with a letter; give route (the Service's name), or a shorter service`,
      );
    }
  }
  for (const color of ['blue', 'green'] as const) {
    const value = inputs[color];
    if (value.length > MAX_LABEL_VALUE || !LABEL_VALUE.test(value)) {
      problems.push(
        `${color}: with router service it is the value of label ${inputs['selector-label']} (${value.length} characters), and a label value is at most ${MAX_LABEL_VALUE} letters, digits, "-", "_" and ".", starting and ending with a letter or digit`,
      );
    }
  }
  return problems;
}
