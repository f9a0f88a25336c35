/**
 * The blue-green action's inputs and outputs (src/core/blue-green runs it); `npm run build`
 * writes actions/blue-green/action.yml and its README reference from this spec.
 */
import * as z from 'zod';
import {
  booleanInput,
  commandInput,
  duration,
  httpUrl,
  imageRef,
  integerInput,
  namespaceName,
  objectName,
  percentage,
} from '../config/primitives.js';
import { clusterInputs, deliveryFileInput, notifyInputs, notifyOutputs, runInputs } from './common.js';
import { defineAction } from './spec.js';
import { validateSpec } from './validate.js';

/** `name`, or `namespace/name` for an object outside the service's namespace. */
const maybeNamespaced = z.string().transform((value, ctx): { namespace?: string; name: string } => {
  const parts = value.trim().split('/');
  const [namespace, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  const ok =
    parts.length <= 2 && (namespace === undefined || namespaceName.safeParse(namespace).success) && objectName.safeParse(name).success;
  if (!ok) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected name or namespace/name, e.g. checkout-green or shop-green/checkout (lower-case DNS names)',
      input: value,
    });
    return z.NEVER;
  }
  return namespace === undefined ? { name: name! } : { namespace, name: name! };
});

const destination = z.string().regex(/^[A-Za-z0-9._-]{1,253}$/, 'expected a host, subset, backendRef name or label value');

export const blueGreenSpec = defineAction({
  name: 'blue-green',
  title: 'Progressive delivery: blue-green switch',
  description:
    'Deploys the idle color, checks it, switches traffic (at once or in steps) through Istio, Gateway API or a Service selector, validates, and switches back on failure.',
  branding: { icon: 'shuffle', color: 'blue' },
  post: true,
  permissions: ['deployments: write (only with github-token)'],
  inputs: {
    ...clusterInputs,
    ...deliveryFileInput,
    router: {
      description: 'How traffic is routed: istio (VirtualService), gateway (HTTPRoute) or service (Service selector).',
      required: true,
      schema: z.enum(['istio', 'gateway', 'service']),
    },
    route: {
      description:
        'The VirtualService, HTTPRoute or Service that routes traffic: name, or namespace/name when it lives outside `namespace`. Empty: the service name.',
      schema: maybeNamespaced,
    },
    'route-rule': {
      description:
        'Which HTTP route of the VirtualService or rule of the HTTPRoute: its name or index. Empty: the first that routes to both blue and green. The run records the route by its name (or, unnamed, by its destinations and match) and keeps to it: a route inserted in front meanwhile does not move it, and the rollback action undoes that same route.',
      schema: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'expected a route name or index'),
    },
    blue: {
      description: 'Blue destination: a host or subset (istio), a backendRef name (gateway) or the value of the selector label (service).',
      default: 'blue',
      schema: destination,
    },
    green: { description: 'Green destination, as for blue.', default: 'green', schema: destination },
    'selector-label': {
      description: 'With router service: the selector label whose value picks the color (its values are `blue` and `green`).',
      default: 'color',
      schema: z
        .string()
        .regex(
          /^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/,
          'expected a label key such as color or app.kubernetes.io/color',
        ),
    },
    'blue-workload': {
      description: 'Deployment of the blue color: name, or namespace/name (e.g. shop-blue/checkout). Empty: <service>-blue in `namespace`.',
      schema: maybeNamespaced,
    },
    'green-workload': {
      description: 'Deployment of the green color, as for blue-workload. Empty: <service>-green.',
      schema: maybeNamespaced,
    },
    image: { description: 'Image to deploy to the idle color before switching. Empty: switch without deploying.', schema: imageRef },
    container: { description: 'Container whose image is set. Empty: the first container.', schema: objectName },
    'rollout-timeout': { description: 'Longest wait for the idle color to roll out.', default: '10m', schema: duration },
    'warmup-url': { description: 'URL requested before the switch to warm the idle color (its own, internal address).', schema: httpUrl },
    'warmup-requests': {
      description: 'How many warm-up requests (a failed one is counted and reported, not fatal).',
      default: '10',
      schema: integerInput(0, 1000),
    },
    'warmup-timeout': { description: 'Longest wait for one warm-up request.', default: '5s', schema: duration },
    'smoke-command': {
      description:
        'Smoke test run before the switch as an argument list (no shell); gets TARGET_COLOR, NAMESPACE, SERVICE and VERSION in its environment. A non-zero exit stops the run before traffic moves.',
      schema: commandInput,
    },
    'smoke-timeout': { description: 'Longest run of the smoke test.', default: '5m', schema: duration },
    steps: {
      description: 'Weights for the new color, comma-separated (e.g. 10,50,100), with the analysis between steps. Default: switch at once.',
      default: '100',
      schema: z
        .string()
        .transform((s): (string | number)[] => s.split(',').map((p) => p.trim()))
        .pipe(z.array(percentage).min(1))
        .refine((ws: number[]) => ws.every((w, i) => w > 0 && (i === 0 || w > ws[i - 1]!)), 'expected increasing weights above 0')
        .refine((ws: number[]) => ws[ws.length - 1] === 100, 'expected the last step to be 100'),
    },
    analysis: {
      description:
        'Metrics checked before the switch, between steps and after it: inline YAML or a path in the workspace (validate action format). Args `service`, `namespace`, `color`, `workload`, `destination` and `version` describe the new color.',
      schema: z.string().trim().min(1, 'expected metric definitions (inline YAML) or the path of a YAML file'),
    },
    'analysis-args': {
      description: 'More template arguments for the analysis, as a YAML map (`env: prod`); they override the built-in ones.',
      schema: validateSpec.inputs.args.schema,
    },
    'pre-switch-analysis': {
      description: 'Run the analysis against the new color before any traffic moves to it.',
      default: 'true',
      schema: booleanInput,
    },
    'step-analysis-duration': {
      description:
        'How long the pre-switch and each between-step analysis measures (needed by metrics with an interval but no count). Empty: each metric measures `count` times.',
      schema: duration,
    },
    'prometheus-address': { description: 'Default Prometheus address for the analysis.', schema: httpUrl },
    'prometheus-token': { description: 'Bearer token for Prometheus. Masked in logs.', secret: true, schema: z.string().min(1) },
    'validation-duration': {
      description: 'How long to validate with the analysis after the switch (0s: no post-switch validation).',
      default: '0s',
      schema: duration,
    },
    'auto-rollback': { description: 'Switch back automatically when an analysis fails.', default: 'true', schema: booleanInput },
    'scale-down-after': {
      description:
        "Scale the old color to zero this long after a successful switch (recorded, so rollback scales it up again). The next switch to it scales it back up to the live color's replicas (recorded too) and waits for its pods to be ready before any traffic goes to it. Empty: keep it warm for instant rollback.",
      schema: duration,
    },
    ...runInputs,
    ...notifyInputs,
  },
  outputs: {
    'active-color': { description: 'The color taking traffic at the end: blue or green.' },
    'previous-color': { description: 'The color that took traffic before this run.' },
    result: { description: 'switched, rolled-back, failed or planned (dry run).' },
    'switched-at': { description: 'ISO time when the new color took all traffic (empty unless switched).' },
    ...notifyOutputs,
  },
});
