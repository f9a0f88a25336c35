import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { canaryRecordName } from '../../src/core/canary/canary-record.js';
import { InputError } from '../../src/core/config/input-error.js';
import { MAX_OBJECT_NAME, MAX_SERVICE_NAME, SERVICE_NAMED_OBJECTS } from '../../src/core/config/primitives.js';
import { lockName } from '../../src/core/kube/lease-lock.js';
import { journalConfigMapName } from '../../src/core/kube/journal.js';
import { blueGreenSpec } from '../../src/core/specs/blue-green.js';
import { canarySpec } from '../../src/core/specs/canary.js';
import { rollbackSpec } from '../../src/core/specs/rollback.js';
import { parseInputs, type ActionSpec } from '../../src/core/specs/spec.js';
import { runAction } from '../support/action-runner.js';
import { waitFor } from '../cluster/helpers.js';
import { journal, runFlow, startBlueGreenHarness, type BlueGreenHarness } from '../blue-green/harness.js';

/**
 * Every name built from the inputs fits the API server's limits, checked when the inputs are
 * read: a service input of 244 characters used to pass, and then `pd-canary-<service>` (254
 * characters) was refused by the API server halfway through a run. Object names are DNS-1123
 * subdomains of at most 253 characters, Service names DNS-1035 labels and label values at most 63
 * (kubernetes apimachinery pkg/util/validation: DNS1123SubdomainMaxLength, DNS1035LabelMaxLength,
 * LabelValueMaxLength).
 */

const name = (length: number) => 'a'.repeat(length);
let h: BlueGreenHarness;
let dir: string;

beforeAll(async () => {
  h = await startBlueGreenHarness();
  dir = await mkdtemp(join(tmpdir(), 'derived-names-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the service input and the objects named after it', () => {
  test('the prefixes checked are the ones the code builds, and the longest leaves 243 characters', () => {
    const built = [journalConfigMapName('x'), canaryRecordName('x'), lockName('x')].map((n) => n.slice(0, -1));
    expect(SERVICE_NAMED_OBJECTS.map((o) => o.prefix).sort()).toEqual(built.sort());
    expect(MAX_SERVICE_NAME).toBe(243);
    expect(canaryRecordName(name(MAX_SERVICE_NAME))).toHaveLength(MAX_OBJECT_NAME);
  });

  test('the API server refuses the 254-character ConfigMap a 244-character service would need, and takes the 253-character one', async () => {
    const create = (service: string) =>
      h.client.call('create', { kind: 'ConfigMap', namespace: 'default', name: canaryRecordName(service) }, () =>
        h.client.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: canaryRecordName(service) } } }),
      );
    await expect(create(name(244))).rejects.toThrow(/422|Invalid|must be no more than 253/);
    await expect(create(name(243))).resolves.toBeDefined();
  });

  const specs: [string, ActionSpec, Record<string, string>][] = [
    ['blue-green', blueGreenSpec, { router: 'istio' }],
    ['canary', canarySpec, { image: 'registry.example.com/checkout:2.0.0', config: 'canary.yaml' }],
    ['rollback', rollbackSpec, {}],
  ];
  test.each(specs)('%s: a 244-character service is refused at input time, naming the input and the limit; 243 passes', (_, spec, base) => {
    const parse = (service: string) => () => parseInputs(spec, { namespace: 'shop', service, ...base });
    expect(parse(name(244))).toThrow(InputError);
    expect(parse(name(244))).toThrow(
      /'service': expected at most 243 characters: the ConfigMap pd-canary-<service> is named after it, and a Kubernetes object name is at most 253 characters/,
    );
    expect(parse(name(243))).not.toThrow();
  });

  // Through the action's entry, as the runner starts it (the other actions share the same schema, above).
  test('the canary action with a 244-character service fails before any request to the cluster', async () => {
    h.cluster.resetRequests();
    const inputs = {
      kubeconfig: h.cluster.kubeconfig,
      namespace: 'shop',
      service: name(244),
      image: 'registry.example.com/checkout:2.0.0',
      config: 'canary.yaml',
      'lock-timeout': '2s',
    };
    const run = await runAction({
      entry: 'src/actions/canary.ts',
      inputs,
      dir,
      env: { GITHUB_WORKSPACE: dir, GITHUB_RUN_ID: '77', GITHUB_REPOSITORY: 'shop/checkout' },
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("'service': expected at most 243 characters");
    expect(h.cluster.requests).toEqual([]);
  });

  test('a blue-green switch of a 243-character service records its state and lock under names the API server accepts', async () => {
    const service = name(243);
    await h.cluster.apply([
      ...['blue', 'green'].map((color) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `long-${color}`, namespace: 'shop' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: `long-${color}` } },
          template: { metadata: { labels: { app: `long-${color}` } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
        },
      })),
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'long', namespace: 'shop' },
        spec: {
          hosts: ['long.example.com'],
          http: [
            {
              route: [
                { destination: { host: 'blue.long' }, weight: 100 },
                { destination: { host: 'green.long' }, weight: 0 },
              ],
            },
          ],
        },
      },
    ]);
    const { outputs, failure } = await runFlow(
      h,
      {
        namespace: 'shop',
        service,
        router: 'istio',
        route: 'long',
        blue: 'blue.long',
        green: 'green.long',
        'blue-workload': 'long-blue',
        'green-workload': 'long-green',
      },
      'run-long',
    );
    expect(failure).toBeUndefined();
    expect(outputs.result).toBe('switched');
    expect(h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', 'long').spec.http[0].route.map((r: any) => r.weight)).toEqual([
      0, 100,
    ]);
    expect((await journal(h, 'shop', service)).map((e) => e.step)).toEqual(['traffic-100']);
    expect(h.cluster.get('v1', 'ConfigMap', 'shop', journalConfigMapName(service)).metadata.name).toHaveLength(252);
  });
});

describe('router service: the Service and label values named by the inputs', () => {
  test('a service of 64 characters without route, and colors that are not label values, are refused before any request', async () => {
    h.cluster.resetRequests();
    const run = () =>
      runFlow(h, { namespace: 'shop', service: name(64), router: 'service', blue: `b${name(63)}`, green: 'green.' }, 'run-svc');
    await expect(run()).rejects.toThrow(InputError);
    const message = await run().catch((e: Error) => e.message);
    expect(message).toContain(
      'service: with router service and no route input, the Service is named after the service (64 characters), and a Service name is a DNS-1035 label: at most 63',
    );
    expect(message).toContain('blue: with router service it is the value of label color (64 characters), and a label value is at most 63');
    expect(message).toContain('green: with router service it is the value of label color (6 characters)');
    expect(h.cluster.requests).toEqual([]);
  });

  test('with route given, a 100-character service switches a Service selector', async () => {
    const color = (c: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `cart-${c}`, namespace: 'store' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'cart', color: c } },
        template: { metadata: { labels: { app: 'cart', color: c } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
      },
    });
    await h.cluster.apply([
      color('blue'),
      color('green'),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'cart', namespace: 'store' },
        spec: { selector: { app: 'cart', color: 'blue' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    ]);
    await waitFor(() => h.cluster.get('apps/v1', 'Deployment', 'store', 'cart-green')?.status?.readyReplicas === 1, 5000, 'green ready');
    const { outputs, failure } = await runFlow(
      h,
      {
        namespace: 'store',
        service: name(100),
        router: 'service',
        route: 'cart',
        'blue-workload': 'cart-blue',
        'green-workload': 'cart-green',
      },
      'run-svc-2',
    );
    expect(failure).toBeUndefined();
    expect(outputs.result).toBe('switched');
    expect(h.cluster.get('v1', 'Service', 'store', 'cart').spec.selector).toEqual({ app: 'cart', color: 'green' });
  });
});
