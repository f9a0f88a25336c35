/**
 * The validate action's inputs and outputs (src/core/validate runs it); `npm run build` writes
 * actions/validate/action.yml and its README reference from this spec.
 */
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { duration, httpUrl } from '../config/primitives.js';
import { defineAction } from './spec.js';

export const validateSpec = defineAction({
  name: 'validate',
  title: 'Progressive delivery: metric validation',
  description:
    'Measures metrics (Prometheus or a JSON web endpoint) against success and failure conditions, Argo Rollouts style, or judges a canary against its baseline (Kayenta style), and fails the step unless every metric is Successful.',
  branding: { icon: 'activity', color: 'green' },
  inputs: {
    metrics: {
      description:
        'Metric definitions (Argo Rollouts AnalysisTemplate vocabulary: an AnalysisTemplate, or `metrics:` list): inline YAML, or the path of a .yaml/.yml/.json file in the workspace.',
      required: true,
      schema: z.string().trim().min(1, 'expected metric definitions (inline YAML) or the path of a YAML file'),
    },
    'prometheus-address': {
      description: 'Default Prometheus address for metrics that do not name one (e.g. http://prometheus.monitoring:9090).',
      schema: httpUrl,
    },
    'prometheus-token': {
      description:
        'Bearer token for Prometheus, sent only to prometheus-address (not to addresses that metrics name themselves). Masked in logs.',
      secret: true,
      schema: z.string().min(1),
    },
    args: {
      description:
        'Template arguments as a YAML map (`service: checkout`), filling `{{args.service}}`. Values are escaped for PromQL: they cannot change a query.',
      schema: z.string().transform((value, ctx): Record<string, string> => {
        let doc: unknown;
        try {
          doc = parseYaml(value);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'expected a YAML map such as `service: checkout`', input: value });
          return z.NEVER;
        }
        if (doc === null || doc === undefined) return {};
        if (typeof doc !== 'object' || Array.isArray(doc)) {
          ctx.addIssue({ code: 'custom', message: 'expected a YAML map of name: value, such as `service: checkout`', input: value });
          return z.NEVER;
        }
        const args: Record<string, string> = {};
        for (const [name, v] of Object.entries(doc)) {
          if (typeof v === 'object' && v !== null) {
            ctx.addIssue({ code: 'custom', message: `'${name}' must be a plain value (text or number), not a list or map`, input: value });
            return z.NEVER;
          }
          args[name] = String(v ?? '');
        }
        return args;
      }),
    },
    duration: {
      description:
        'Stop measuring after this long (e.g. 5m); needed by metrics with an interval but no count. Empty: each metric measures `count` times.',
      schema: duration,
    },
  },
  outputs: {
    result: {
      description:
        'Successful, Failed, Inconclusive or Error. The step fails on anything but Successful (Argo pauses on Inconclusive; a step cannot, so it fails).',
    },
    report: { description: 'JSON report with every measurement of every metric.' },
  },
});
