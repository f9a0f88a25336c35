import { z } from 'zod';
import { booleanInput, commandInput, duration, httpUrl, imageRef, integerInput, objectName, percentage } from '../config/primitives.js';
import { clusterInputs, notifyInputs, runInputs } from './common.js';
import { defineAction } from './spec.js';

export const blueGreenSpec = defineAction({
  name: 'blue-green',
  title: 'Progressive delivery: blue-green switch',
  description:
    'Deploys the idle colour, checks it, switches traffic (at once or in steps) through Istio, Gateway API or a Service selector, validates, and switches back on failure.',
  branding: { icon: 'shuffle', color: 'blue' },
  post: true,
  permissions: ['deployments: write (only with github-token)'],
  inputs: {
    ...clusterInputs,
    router: {
      description: 'How traffic is routed: istio (VirtualService), gateway (HTTPRoute) or service (Service selector).',
      required: true,
      schema: z.enum(['istio', 'gateway', 'service']),
    },
    route: {
      description: 'Name of the VirtualService, HTTPRoute or Service that routes traffic. Empty: the service name.',
      schema: objectName,
    },
    'route-rule': {
      description: 'Which HTTP route of the VirtualService or rule of the HTTPRoute: its name or index. Empty: the first.',
      schema: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'expected a route name or index'),
    },
    blue: {
      description:
        'Blue destination: a host or subset (istio), a backendRef name (gateway) or the selector value of the color label (service).',
      default: 'blue',
      schema: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'expected a host, subset or name'),
    },
    green: { description: 'Green destination, as for blue.', default: 'green', schema: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'expected a host, subset or name') },
    'blue-workload': { description: 'Deployment of the blue colour. Empty: <service>-blue.', schema: objectName },
    'green-workload': { description: 'Deployment of the green colour. Empty: <service>-green.', schema: objectName },
    image: { description: 'Image to deploy to the idle colour before switching. Empty: switch without deploying.', schema: imageRef },
    container: { description: 'Container whose image is set. Empty: the first container.', schema: objectName },
    'rollout-timeout': { description: 'Longest wait for the idle colour to roll out.', default: '10m', schema: duration },
    'warmup-url': { description: 'URL requested before the switch to warm the idle colour.', schema: httpUrl },
    'warmup-requests': { description: 'How many warm-up requests.', default: '10', schema: integerInput(0, 1000) },
    'smoke-command': {
      description:
        'Smoke test run before the switch as an argument list (no shell); gets TARGET_COLOR, NAMESPACE, SERVICE and VERSION in its environment.',
      schema: commandInput,
    },
    steps: {
      description: 'Weights for the new colour, comma-separated (e.g. 10,50,100). Default: switch at once.',
      default: '100',
      schema: z
        .string()
        .transform((s): (string | number)[] => s.split(',').map((p) => p.trim()))
        .pipe(z.array(percentage).min(1))
        .refine((ws: number[]) => ws.every((w, i) => i === 0 || w > ws[i - 1]!), 'expected increasing weights')
        .refine((ws: number[]) => ws[ws.length - 1] === 100, 'expected the last step to be 100'),
    },
    analysis: {
      description: 'Metrics checked before the switch, between steps and after it: inline YAML or a path (validate action format).',
      schema: z.string().min(1),
    },
    'prometheus-address': { description: 'Default Prometheus address for the analysis.', schema: httpUrl },
    'prometheus-token': { description: 'Bearer token for Prometheus. Masked in logs.', secret: true, schema: z.string().min(1) },
    'validation-duration': { description: 'How long to validate after the switch.', default: '0s', schema: duration },
    'auto-rollback': { description: 'Switch back automatically when validation fails.', default: 'true', schema: booleanInput },
    'scale-down-after': {
      description: 'Scale the old colour to zero this long after a successful switch. Empty: keep it warm for instant rollback.',
      schema: duration,
    },
    ...runInputs,
    ...notifyInputs,
  },
  outputs: {
    'active-color': { description: 'The colour taking traffic at the end: blue or green.' },
    'previous-color': { description: 'The colour that took traffic before.' },
    result: { description: 'switched, rolled-back, failed or planned (dry run).' },
    'switched-at': { description: 'ISO time when the new colour took all traffic.' },
  },
});
