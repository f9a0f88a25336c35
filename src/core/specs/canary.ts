import { z } from 'zod';
import { booleanInput, duration, httpUrl, imageRef, objectName } from '../config/primitives.js';
import { clusterInputs, notifyInputs, runInputs } from './common.js';
import { defineAction } from './spec.js';

export const canarySpec = defineAction({
  name: 'canary',
  title: 'Progressive delivery: canary promotion',
  description:
    'Walks a canary through weighted steps with analysis gates and background triggers, promotes it on success and aborts it on failure.',
  branding: { icon: 'trending-up', color: 'yellow' },
  post: true,
  permissions: ['deployments: write (only with github-token)'],
  inputs: {
    ...clusterInputs,
    action: {
      description: 'start (deploy and walk the steps), promote (continue from a pause), abort, or status.',
      default: 'start',
      schema: z.enum(['start', 'promote', 'abort', 'status']),
    },
    config: {
      description: 'Canary config (steps, routing, analysis): inline YAML or a path to a YAML file. See the JSON schema in the README.',
      schema: z.string().min(1),
    },
    image: { description: 'Image of the canary (required for start).', schema: imageRef },
    container: { description: 'Container whose image is set. Empty: the first container.', schema: objectName },
    full: { description: 'With promote: skip the remaining steps and go to 100%.', default: 'false', schema: booleanInput },
    'prometheus-address': { description: 'Default Prometheus address for the analysis.', schema: httpUrl },
    'prometheus-token': { description: 'Bearer token for Prometheus. Masked in logs.', secret: true, schema: z.string().min(1) },
    'rollout-timeout': { description: 'Longest wait for a workload to roll out.', default: '10m', schema: duration },
    ...runInputs,
    ...notifyInputs,
  },
  outputs: {
    result: { description: 'promoted, aborted, paused, failed or planned (dry run).' },
    weight: { description: 'Canary weight at the end.' },
    step: { description: 'Index of the step reached.' },
    analysis: { description: 'JSON: every analysis run with its measurements.' },
  },
});
