import { stringify as stringifyYaml } from 'yaml';
import { hostOf, NAMESPACE, REGISTRY } from './manifests.js';
import { ERROR_RATIO_QUERY, P95_MS_QUERY } from './metrics.js';

/**
 * The three runs of the demo, as a workflow would write them: the action, its `with:` inputs
 * (secrets added by the demo), and how the run must end. Durations are seconds instead of the
 * minutes a production config would use, so the whole walk takes well under a minute.
 */
export interface Scenario {
  /** Folder and file name: `1-checkout-blue-green`. */
  id: string;
  /** For the console prefix and the verdict line. */
  title: string;
  action: 'blue-green' | 'canary';
  /** The action's inputs, without kubeconfig / slack-webhook-url / prometheus-address. */
  inputs: Record<string, string>;
  /** The `result` output this scenario must end with. */
  expected: 'switched' | 'promoted' | 'aborted';
  /** One sentence for a newcomer: what this run shows. */
  story: string;
}

/** Error rate below 1% and p95 at most 500 ms, measured every second: the validate action's format. */
const checks = {
  kind: 'AnalysisTemplate',
  spec: {
    args: [{ name: 'service' }, { name: 'version' }],
    metrics: [
      {
        name: 'error-rate',
        interval: '1s',
        failureLimit: 0,
        successCondition: 'result[0] < 0.01',
        provider: { prometheus: { query: ERROR_RATIO_QUERY } },
      },
      {
        name: 'p95-latency-ms',
        interval: '1s',
        failureLimit: 0,
        successCondition: 'result[0] <= 500',
        provider: { prometheus: { query: P95_MS_QUERY } },
      },
    ],
  },
};

/** The canary config (Argo Rollouts vocabulary) for one release of cart. */
export function cartCanaryConfig(version: string): Record<string, unknown> {
  const args = [
    { name: 'service', value: 'cart' },
    { name: 'version', value: version },
  ];
  return {
    routing: {
      istio: { virtualService: 'cart', route: 'primary', destinationRule: 'cart', stableSubset: 'stable', canarySubset: 'canary' },
    },
    workloads: { stable: 'cart', canary: 'cart-canary' },
    templates: {
      checks,
      // The seeds' rollback trigger: error rate above 2%, checked every second while the steps run.
      'error-budget': {
        args: [{ name: 'service' }, { name: 'version' }],
        metrics: [
          {
            name: 'error-budget',
            interval: '1s',
            failureLimit: 0,
            successCondition: 'result[0] <= 0.02',
            provider: { prometheus: { query: ERROR_RATIO_QUERY } },
          },
        ],
      },
    },
    steps: [
      { setWeight: 10 },
      { pause: { duration: '3s' } },
      { analysis: { templates: [{ templateName: 'checks' }], args, duration: '2s' } },
      { setWeight: 50 },
      { pause: { duration: '2s' } },
      { analysis: { templates: [{ templateName: 'checks' }], args, duration: '2s' } },
    ],
    analysis: { templates: [{ templateName: 'error-budget' }], args, startingStep: 1 },
  };
}

export function scenarios(): Scenario[] {
  return [
    {
      id: '1-checkout-blue-green',
      title: 'checkout blue-green',
      action: 'blue-green',
      expected: 'switched',
      story:
        'deploys checkout 1.25.0 to the idle green color, checks it, moves traffic 50% then 100% with an analysis between steps, and validates after the switch',
      inputs: {
        namespace: NAMESPACE,
        service: 'checkout',
        router: 'istio',
        route: 'checkout',
        'route-rule': 'primary',
        blue: hostOf('blue'),
        green: hostOf('green'),
        image: `${REGISTRY}/checkout:1.25.0`,
        steps: '50,100',
        analysis: stringifyYaml(checks),
        'step-analysis-duration': '2s',
        'validation-duration': '3s',
        'rollout-timeout': '30s',
        'lock-timeout': '10s',
        environment: 'demo',
        'run-id': 'demo-checkout-1',
      },
    },
    {
      id: '2-cart-canary-promote',
      title: 'cart canary 2.4.0',
      action: 'canary',
      expected: 'promoted',
      story:
        'walks cart 2.4.0 through 10% and 50% with analysis gates and an error-budget trigger in the background; its metrics are healthy, so it is promoted',
      inputs: {
        namespace: NAMESPACE,
        service: 'cart',
        image: `${REGISTRY}/cart:2.4.0`,
        config: stringifyYaml(cartCanaryConfig('2.4.0')),
        'rollout-timeout': '30s',
        'lock-timeout': '10s',
        environment: 'demo',
        'run-id': 'demo-cart-1',
      },
    },
    {
      id: '3-cart-canary-abort',
      title: 'cart canary 2.5.0',
      action: 'canary',
      expected: 'aborted',
      story:
        'the same steps for cart 2.5.0, which fails 7% of its requests: the background error-budget trigger aborts it and traffic returns to stable',
      inputs: {
        namespace: NAMESPACE,
        service: 'cart',
        image: `${REGISTRY}/cart:2.5.0`,
        config: stringifyYaml(cartCanaryConfig('2.5.0')),
        'rollout-timeout': '30s',
        'lock-timeout': '10s',
        environment: 'demo',
        'run-id': 'demo-cart-2',
      },
    },
  ];
}
