import { z } from 'zod';
import { duration, httpUrl } from '../config/primitives.js';
import { notifyInputs } from './common.js';
import { defineAction } from './spec.js';

export const validateSpec = defineAction({
  name: 'validate',
  title: 'Progressive delivery: metric validation',
  description:
    'Measures metrics (Prometheus or a JSON web endpoint) against success and failure conditions, Argo Rollouts style, and fails the step when they fail.',
  branding: { icon: 'activity', color: 'green' },
  inputs: {
    metrics: {
      description:
        'Metric definitions (Argo Rollouts AnalysisTemplate vocabulary): inline YAML, or a path to a YAML file in the repository.',
      required: true,
      schema: z.string().min(1),
    },
    'prometheus-address': {
      description: 'Default Prometheus address for metrics that do not name one (e.g. http://prometheus.monitoring:9090).',
      schema: httpUrl,
    },
    'prometheus-token': {
      description: 'Bearer token for Prometheus. Masked in logs.',
      secret: true,
      schema: z.string().min(1),
    },
    args: {
      description: 'Template arguments as YAML (`service: checkout`), filling `{{args.service}}` in queries.',
      schema: z.string(),
    },
    duration: {
      description: 'Keep measuring for this long (e.g. 5m). Empty: each metric measures `count` times.',
      schema: duration,
    },
    ...notifyInputs,
  },
  outputs: {
    result: { description: 'Successful, Failed, Inconclusive or Error.' },
    report: { description: 'JSON report with every measurement of every metric.' },
  },
});
