/**
 * The canary config file, in Argo Rollouts' vocabulary (`strategy.canary` of a Rollout), as a
 * zod schema: the one source of its validation and of its published JSON schema
 * (`actions/canary/config.schema.json`, see json-schema.ts). Metric templates are checked
 * afterwards by the metrics engine's own parser (config.ts), in the validate action's format.
 *
 *   routing:   { istio: {...} } | { gateway: {...} } | { replicaRatio: {...} } | { argo: {...} }
 *   workloads: { stable: checkout, canary: checkout-canary }     # Deployments; not with argo
 *   templates: { error-rate: <AnalysisTemplate or metrics list> }
 *   steps:     [ { setWeight: 10 }, { pause: { duration: 10m } }, { analysis: { templates: [...] } }, ... ]
 *   analysis:  { templates: [...], startingStep: 1 }               # background analysis
 */
import * as z from 'zod';
import { duration, objectName, percentage } from '../config/primitives.js';

const described = <T extends z.ZodType>(schema: T, description: string) => schema.meta({ description });

const weight = described(percentage, 'Canary traffic weight, a whole percentage 0..100 (25 or "25%").');
const durationText = (what: string) => described(duration, `${what}: a duration such as 30s, 10m or 1h (a bare number means seconds).`);

const templateRef = z.strictObject({
  templateName: described(z.string().min(1, 'expected the name of a template under templates'), 'A key of `templates`.'),
});

const analysisArg = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected an argument name of letters, digits, "_", "." or "-"'),
  value: z.union([z.string(), z.number(), z.boolean()]).transform(String),
});

const analysisTemplates = z.array(templateRef).min(1, 'expected at least one template: [{ templateName: ... }]');

export const stepAnalysisSchema = z.strictObject({
  templates: analysisTemplates,
  args: described(z.array(analysisArg), "Values for the templates' {{args.name}} placeholders.").default([]),
  duration: durationText('How long a metric with an interval but no count measures (required for such metrics)').optional(),
});

export const backgroundAnalysisSchema = z.strictObject({
  templates: analysisTemplates,
  args: z.array(analysisArg).default([]),
  startingStep: described(
    z.number().int('expected a whole step index').min(0, 'expected a step index from 0'),
    'Index of the step at which the background analysis starts (Argo: startingStep). Default 0.',
  ).default(0),
});

const pauseSchema = z.strictObject({
  duration: durationText('How long to hold; omit to end the run paused until `action: promote`').optional(),
});

export const stepSchema = z
  .strictObject({
    setWeight: weight.optional(),
    pause: described(
      pauseSchema,
      'Hold for `duration`; without one the run ends paused and a later run resumes with action: promote.',
    ).optional(),
    analysis: described(stepAnalysisSchema, 'Run these templates now; the canary goes on only when they are Successful.').optional(),
  })
  .superRefine((step, ctx) => {
    const given = (['setWeight', 'pause', 'analysis'] as const).filter((key) => step[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a step is exactly one of setWeight, pause or analysis${given.length > 1 ? `, not ${given.join(' and ')}` : ''}`,
      });
    }
  });

const subsetName = z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'expected a subset name such as stable');

export const istioRoutingSchema = z.strictObject({
  virtualService: described(objectName, 'The VirtualService whose route splits traffic between the two subsets.'),
  route: described(
    z.union([z.string().min(1), z.number().int().min(0)]),
    'Name or index of its spec.http route. Default: the first that routes to both subsets. The canary records the route by its name (or, unnamed, its destinations) and keeps to it through promote, abort and rollback.',
  ).optional(),
  destinationRule: described(objectName, 'The DestinationRule defining the subsets. Default: named like the VirtualService.').optional(),
  stableSubset: subsetName.default('stable'),
  canarySubset: subsetName.default('canary'),
  apiVersion: z.enum(['networking.istio.io/v1', 'networking.istio.io/v1beta1']).optional(),
});

export const gatewayRoutingSchema = z.strictObject({
  httpRoute: described(objectName, 'The Gateway API HTTPRoute.'),
  rule: described(
    z.union([z.string().min(1), z.number().int().min(0)]),
    'Name or index of its spec.rules entry. Default: the first with both backends. The canary records the rule by its name (or, unnamed, its backends) and keeps to it through promote, abort and rollback.',
  ).optional(),
  stableBackend: described(objectName, 'The backendRef (Service) of the stable pods.'),
  canaryBackend: described(objectName, 'The backendRef (Service) of the canary pods.'),
});

export const replicaRatioRoutingSchema = z.strictObject({
  totalReplicas: described(
    z.number().int().min(1).max(1000),
    'Pods shared between stable and canary. Default: their replicas now.',
  ).optional(),
});

export const argoRoutingSchema = z.strictObject({
  rollout: described(objectName, 'The Argo Rollout; its controller moves the traffic, each setWeight must be one of its own steps.'),
});

export const routingSchema = z
  .strictObject({
    istio: istioRoutingSchema.optional(),
    gateway: gatewayRoutingSchema.optional(),
    replicaRatio: replicaRatioRoutingSchema.optional(),
    argo: argoRoutingSchema.optional(),
  })
  .superRefine((routing, ctx) => {
    const given = (['istio', 'gateway', 'replicaRatio', 'argo'] as const).filter((key) => routing[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `expected exactly one router (istio, gateway, replicaRatio or argo), found ${given.length ? given.join(', ') : 'none'}`,
      });
    }
  });

export const workloadsSchema = z.strictObject({
  stable: described(objectName, 'The stable Deployment: it gets the canary image when the canary is promoted.'),
  canary: described(objectName, 'The canary Deployment: it runs the new image during the steps, and is scaled to 0 at the end.'),
  canaryReplicas: described(
    z.number().int().min(1).max(1000),
    'Replicas of the canary while it runs (istio and gateway). Default: the stable replicas.',
  ).optional(),
});

export const canaryConfigSchema = z
  .strictObject({
    routing: described(routingSchema, 'How traffic is split: exactly one router.'),
    workloads: described(workloadsSchema, 'The stable and canary Deployments (omit with argo: the Rollout is the workload).').optional(),
    templates: described(
      z.record(z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/, 'expected a template name'), z.unknown()),
      "Metric templates by name, in the validate action's format: an AnalysisTemplate, or { args, metrics }, or a list of metrics.",
    ).default({}),
    steps: z.array(stepSchema).min(1, 'expected at least one step').max(250, 'expected at most 250 steps'),
    analysis: described(
      backgroundAnalysisSchema,
      'Background analysis: runs from startingStep through every step and aborts the canary at once when it fails.',
    ).optional(),
  })
  .superRefine((config, ctx) => {
    const argo = config.routing.argo !== undefined;
    if (argo && config.workloads) {
      ctx.addIssue({ code: 'custom', path: ['workloads'], message: 'remove workloads: with routing.argo the Rollout is the workload' });
    }
    if (!argo && !config.workloads) {
      ctx.addIssue({
        code: 'custom',
        path: ['workloads'],
        message: 'is required: give the stable and canary Deployments, e.g. { stable: checkout, canary: checkout-canary }',
      });
    }
    if (config.workloads && config.workloads.stable === config.workloads.canary) {
      ctx.addIssue({ code: 'custom', path: ['workloads', 'canary'], message: 'must differ from workloads.stable' });
    }
    if (config.analysis && config.analysis.startingStep >= config.steps.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['analysis', 'startingStep'],
        message: `expected a step index below ${config.steps.length} (there are ${config.steps.length} steps)`,
      });
    }
    const names = new Set(Object.keys(config.templates));
    const checkRefs = (refs: { templateName: string }[], path: (string | number)[]) =>
      refs.forEach((ref, i) => {
        if (!names.has(ref.templateName)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, i, 'templateName'],
            message: `no template '${ref.templateName}' under templates (defined: ${[...names].join(', ') || 'none'})`,
          });
        }
      });
    for (const [i, step] of config.steps.entries())
      if (step.analysis) checkRefs(step.analysis.templates, ['steps', i, 'analysis', 'templates']);
    if (config.analysis) checkRefs(config.analysis.templates, ['analysis', 'templates']);
    if (argo) {
      let last = -1;
      config.steps.forEach((step, i) => {
        if (step.setWeight === undefined) return;
        if (step.setWeight <= last) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', i, 'setWeight'],
            message: `with routing.argo the weights must rise (Argo Rollouts lowers a canary only by aborting); the step before set ${last}`,
          });
        }
        last = step.setWeight;
      });
    }
  });

export type CanaryConfigInput = z.input<typeof canaryConfigSchema>;
export type ParsedCanaryConfig = z.output<typeof canaryConfigSchema>;
