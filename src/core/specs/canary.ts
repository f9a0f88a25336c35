/**
 * The canary action's inputs and outputs (src/core/canary runs it); `npm run build` writes
 * actions/canary/action.yml and its README reference from this spec.
 */
import * as z from 'zod';
import { booleanInput, duration, httpUrl, imageRef, objectName } from '../config/primitives.js';
import { clusterInputs, deliveryFileInput, notifyInputs, notifyOutputs, runInputs } from './common.js';
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
    ...deliveryFileInput,
    action: {
      description:
        'start (deploy the canary and walk the steps), promote (continue a paused or interrupted canary), abort (traffic back to stable, canary scaled to 0), or status (report only: no lock, no writes).',
      default: 'start',
      schema: z.enum(['start', 'promote', 'abort', 'status']),
    },
    config: {
      description:
        'Canary config (routing, workloads, templates, steps, background analysis) in Argo Rollouts vocabulary: inline YAML, or the path of a .yaml/.yml/.json file in the workspace. JSON schema: actions/canary/config.schema.json.',
      required: true,
      schema: z.string().min(1, 'expected the canary config: a file path such as deploy/canary.yaml, or inline YAML'),
    },
    image: {
      description: 'Image of the canary (required for start; with promote, must match the canary being promoted).',
      schema: imageRef,
    },
    container: { description: 'Container whose image is set. Empty: the first container.', schema: objectName },
    full: { description: 'With promote: skip the remaining steps and promote now.', default: 'false', schema: booleanInput },
    force: {
      description:
        'With promote: promote even though the stable image changed since the canary started (a hotfix set by hand would be replaced by the canary image; both are named in the log).',
      default: 'false',
      schema: booleanInput,
    },
    'prometheus-address': { description: 'Default Prometheus address for the analysis.', schema: httpUrl },
    'prometheus-token': { description: 'Bearer token for Prometheus. Masked in logs.', secret: true, schema: z.string().min(1) },
    'rollout-timeout': {
      description: 'Longest wait for a workload (or the Argo Rollout) to roll out or settle; a canary not ready by then is aborted.',
      default: '10m',
      schema: duration,
    },
    ...runInputs,
    ...notifyInputs,
  },
  outputs: {
    result: {
      description:
        'promoted, aborted, paused (an indefinite pause, or an Inconclusive analysis: then the step fails; continue with action promote or abort), failed or planned (dry run); with action status: progressing, paused, promoted, aborted, rolled-back or none.',
    },
    weight: { description: 'Canary traffic weight (%) at the end.' },
    step: {
      description:
        'The step reached, counted from 1 as in the log and the summary (0: deploying the canary; the number of steps once promoted).',
    },
    analysis: {
      description: 'JSON: every analysis run (step index or "background", templates, phase, message, metrics with their measurements).',
    },
    ...notifyOutputs,
  },
});
