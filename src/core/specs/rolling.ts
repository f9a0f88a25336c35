/**
 * The rolling action's inputs and outputs (src/core/rolling runs it); `npm run build` writes
 * actions/rolling/action.yml and its README reference from this spec.
 */
import { duration, imageRef, objectName } from '../config/primitives.js';
import { blueGreenSpec } from './blue-green.js';
import { clusterInputs, deliveryFileInput, notifyInputs, notifyOutputs, runInputs } from './common.js';
import { defineAction } from './spec.js';

export const rollingSpec = defineAction({
  name: 'rolling',
  title: 'Progressive delivery: rolling update',
  description:
    'Rolls one Deployment out to a new image the Kubernetes way (its RollingUpdate strategy), journaled, with the analysis during and after the rollout; reads the result back, and puts the previous image back when the rollout or the analysis fails or the run is cancelled.',
  branding: { icon: 'refresh-cw', color: 'green' },
  post: true,
  permissions: ['deployments: write (only with github-token)'],
  inputs: {
    ...clusterInputs,
    ...deliveryFileInput,
    deployment: {
      description: 'The Deployment to roll out, in `namespace`. It must use `strategy.type: RollingUpdate`. Empty: the service name.',
      schema: objectName,
    },
    container: {
      description: 'Container whose image is set. Empty: the only container (a Deployment with several must name one).',
      schema: objectName,
    },
    image: { description: 'Image to roll out, e.g. registry.example.com/checkout:1.25.0.', required: true, schema: imageRef },
    'rollout-timeout': {
      description:
        "Longest wait for the rollout (and for the previous image's, when it is put back); the Deployment's progressDeadlineSeconds ends it sooner.",
      default: '10m',
      schema: duration.refine((ms) => ms > 0, { message: 'expected a duration above 0, e.g. 10m' }),
    },
    analysis: {
      description:
        'Metrics checked from the moment the image is set until the rollout is done and every metric has its count (each metric needs a count): inline YAML or a path in the workspace (validate action format). Args `service`, `namespace`, `deployment`, `image` and `version` describe the rollout.',
      schema: blueGreenSpec.inputs.analysis.schema,
    },
    'analysis-args': blueGreenSpec.inputs['analysis-args'],
    'prometheus-address': blueGreenSpec.inputs['prometheus-address'],
    'prometheus-token': blueGreenSpec.inputs['prometheus-token'],
    ...runInputs,
    ...notifyInputs,
  },
  outputs: {
    result: {
      description:
        'rolled-out, nothing-to-do (the container already ran the image, rolled out), rolled-back (the rollout or the analysis failed, or the run was cancelled: the previous image is back), failed (nothing changed, or putting the previous image back failed: the log says where the Deployment stands), cancelled (before the image was set: nothing changed) or planned (dry run).',
    },
    'previous-image': { description: 'The image the container ran before this run.' },
    image: { description: 'The image the container runs at the end: the new one when rolled out, the previous one when rolled back.' },
    revision: { description: "The Deployment's revision at the end (deployment.kubernetes.io/revision)." },
    ...notifyOutputs,
  },
});
