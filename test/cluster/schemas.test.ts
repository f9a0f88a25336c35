/**
 * Structural-schema pruning, defaulting and validation, and fieldValidation, against raw requests
 * and the real kubectl (v1.32). Expected messages: apiextensions-apiserver (pruning, defaulting,
 * kube-openapi validation), apiserver handlers (strict decoding errors, Warning headers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { deployment, request, startKubectlHarness, type KubectlHarness } from './helpers.js';

let h: KubectlHarness;

beforeAll(async () => {
  h = await startKubectlHarness({ podReadyDelayMs: 20 });
});

afterAll(async () => {
  await h?.close();
});

const ROUTES = '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes';
const VS = '/apis/networking.istio.io/v1/namespaces/default/virtualservices';
const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';

function httpRoute(name: string, weights: (number | undefined)[]) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name },
    spec: {
      parentRefs: [{ name: 'gw' }],
      rules: [{ backendRefs: weights.map((w, i) => ({ name: `b${i}`, port: 80, ...(w === undefined ? {} : { weight: w }) })) }],
    },
  };
}

function virtualService(name: string, extraSpec: object = {}) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name },
    spec: { hosts: [name], http: [{ name: 'primary', route: [{ destination: { host: name }, weight: 100 }] }], ...extraSpec },
  };
}

async function manifest(name: string, obj: object): Promise<string> {
  const path = join(h.dir, name);
  await writeFile(path, stringify(obj));
  return path;
}

describe('custom resources: pruning, defaults and validation from their CRD schemas', () => {
  it('refuses an HTTPRoute weight above 1,000,000 with the real 422', async () => {
    const res = await request(h.cluster, 'POST', ROUTES, { body: httpRoute('web', [2000000, 0]) });
    expect(res.status).toBe(422);
    const status = res.json();
    expect(status.message).toBe(
      'HTTPRoute.gateway.networking.k8s.io "web" is invalid: spec.rules[0].backendRefs[0].weight: Invalid value: 2000000: spec.rules[0].backendRefs[0].weight in body should be less than or equal to 1000000',
    );
    expect(status.details.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: 2000000: spec.rules[0].backendRefs[0].weight in body should be less than or equal to 1000000',
        field: 'spec.rules[0].backendRefs[0].weight',
      },
    ]);
    const negative = await request(h.cluster, 'POST', ROUTES, { body: httpRoute('neg', [-1, 0]) });
    expect(negative.json().message).toContain('spec.rules[0].backendRefs[0].weight in body should be greater than or equal to 0');
    const text = await request(h.cluster, 'POST', ROUTES, { body: httpRoute('txt', ['10' as unknown as number, 0]) });
    expect(text.json().message).toContain(
      'spec.rules[0].backendRefs[0].weight: Invalid value: "string": spec.rules[0].backendRefs[0].weight in body must be of type integer: "string"',
    );
    expect(h.cluster.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'web')).toBeUndefined();
  });

  it('defaults a missing weight to 1 (and the backendRef group and kind), as the CRD declares', async () => {
    const res = await request(h.cluster, 'POST', ROUTES, { body: httpRoute('defaults', [undefined, 3]) });
    expect(res.status).toBe(201);
    expect(res.json().spec.rules[0].backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'b0', port: 80, weight: 1 },
      { group: '', kind: 'Service', name: 'b1', port: 80, weight: 3 },
    ]);
    expect(res.json().spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }]);
    // A JSON patch that removes the weight: the default comes back on write.
    const patched = await request(h.cluster, 'PATCH', `${ROUTES}/defaults`, {
      body: [{ op: 'remove', path: '/spec/rules/0/backendRefs/1/weight' }],
      contentType: 'application/json-patch+json',
    });
    expect(patched.json().spec.rules[0].backendRefs[1].weight).toBe(1);
  });

  it('prunes unknown fields: Warn by default (Warning header), Strict refuses with 400, Ignore drops silently', async () => {
    const warned = await request(h.cluster, 'POST', VS, { body: virtualService('warn', { foo: 1 }) });
    expect(warned.status).toBe(201);
    expect(warned.headers.warning).toBe('299 - "unknown field \\"spec.foo\\""');
    expect(warned.json().spec.foo).toBeUndefined();
    expect(h.cluster.get('networking.istio.io/v1', 'VirtualService', 'default', 'warn')!.spec.foo).toBeUndefined();

    const strict = await request(h.cluster, 'POST', `${VS}?fieldValidation=Strict`, {
      body: virtualService('strict', { foo: 1, http: [{ route: [{ destination: { host: 'x', bar: 2 } }] }] }),
    });
    expect(strict.status).toBe(400);
    expect(strict.json()).toMatchObject({
      reason: 'BadRequest',
      message:
        'VirtualService in version "v1" cannot be handled as a VirtualService: strict decoding error: unknown field "spec.foo", unknown field "spec.http[0].route[0].destination.bar"',
    });
    expect(h.cluster.get('networking.istio.io/v1', 'VirtualService', 'default', 'strict')).toBeUndefined();

    const ignored = await request(h.cluster, 'POST', `${VS}?fieldValidation=Ignore`, { body: virtualService('ignore', { foo: 1 }) });
    expect(ignored.status).toBe(201);
    expect(ignored.headers.warning).toBeUndefined();
    expect(ignored.json().spec.foo).toBeUndefined();

    // A patch that adds an unknown field, Strict: the bare decoding error.
    const patch = await request(h.cluster, 'PATCH', `${VS}/warn?fieldValidation=Strict`, {
      body: { spec: { foo: 2 } },
      contentType: 'application/merge-patch+json',
    });
    expect(patch.status).toBe(400);
    expect(patch.json().message).toBe('strict decoding error: unknown field "spec.foo"');
  });

  it('prunes unknown fields of a Rollout, down into its pod template, but keeps its status', async () => {
    const rollout = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'ro' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'ro' } },
        template: {
          metadata: { labels: { app: 'ro' }, bogus: 1 },
          spec: { containers: [{ name: 'app', image: 'app:v1', colour: 'red' }] },
        },
        strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }], nonsense: true } },
      },
    };
    const res = await request(h.cluster, 'POST', '/apis/argoproj.io/v1alpha1/namespaces/default/rollouts', { body: rollout });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toBe(
      ['spec.strategy.canary.nonsense', 'spec.template.metadata.bogus', 'spec.template.spec.containers[0].colour']
        .map((f) => `299 - "unknown field \\"${f}\\""`)
        .join(', '),
    );
    const stored = h.cluster.get('argoproj.io/v1alpha1', 'Rollout', 'default', 'ro')!;
    expect(stored.spec.template.spec.containers[0]).toEqual({ name: 'app', image: 'app:v1' });
    expect(stored.spec.strategy.canary).toEqual({ steps: [{ setWeight: 20 }, { pause: {} }] });
  });
});

describe('built-in kinds: unknown fields dropped, refused with Strict', () => {
  it('drops an unknown container field with a warning, and refuses it with Strict', async () => {
    const d = deployment('pruned', 'app:v1', 1);
    d.spec.template.spec.containers[0].colour = 'red';
    const res = await request(h.cluster, 'POST', DEPLOYMENTS, { body: d });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toBe('299 - "unknown field \\"spec.template.spec.containers[0].colour\\""');
    expect(h.cluster.get('apps/v1', 'Deployment', 'default', 'pruned')!.spec.template.spec.containers[0].colour).toBeUndefined();

    const strict = await request(h.cluster, 'POST', `${DEPLOYMENTS}?fieldValidation=Strict`, {
      body: { ...deployment('strict', 'app:v1', 1), extra: true },
    });
    expect(strict.status).toBe(400);
    expect(strict.json().message).toBe(
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "extra"',
    );
  });

  it('refuses a fieldValidation value it does not know', async () => {
    const res = await request(h.cluster, 'POST', `${VS}?fieldValidation=Loose`, { body: virtualService('loose') });
    expect(res.status).toBe(400);
    expect(res.json().message).toBe('fieldValidation parameter unsupported: "Loose"; must be one of "Ignore", "Warn" or "Strict"');
  });
});

describe('kubectl sends fieldValidation=Strict', () => {
  it('on apply (create and patch), create and replace, not on patch; and reports the strict error', async () => {
    h.cluster.resetRequests();
    const file = await manifest('vs.yaml', virtualService('kubectl-vs'));
    expect((await h.kubectl(['create', '-f', file])).code).toBe(0);
    expect((await h.kubectl(['replace', '-f', file])).code).toBe(0);
    const changed = await manifest('vs2.yaml', { ...virtualService('kubectl-vs'), metadata: { name: 'kubectl-vs', labels: { a: 'b' } } });
    expect((await h.kubectl(['apply', '-f', changed])).code).toBe(0);
    expect(
      (await h.kubectl(['patch', 'virtualservice', 'kubectl-vs', '--type=merge', '-p', '{"metadata":{"labels":{"c":"d"}}}'])).code,
    ).toBe(0);
    const applied = await manifest('vs3.yaml', virtualService('kubectl-vs3'));
    expect((await h.kubectl(['apply', '-f', applied])).code).toBe(0);
    const writes = h.cluster.requests.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method) && r.path.includes('virtualservices'));
    expect(writes.map((r) => r.method)).toEqual(['POST', 'PUT', 'PATCH', 'PATCH', 'POST']);
    // kubectl patch sends no fieldValidation (the server's default, Warn, applies); the others send Strict.
    expect(writes.map((w) => `${w.method} ${new URLSearchParams(w.query).get('fieldValidation')}`)).toEqual([
      'POST Strict',
      'PUT Strict',
      'PATCH Strict',
      'PATCH null',
      'POST Strict',
    ]);

    const bad = await manifest('bad.yaml', virtualService('kubectl-bad', { foo: 1 }));
    const refused = await h.kubectl(['apply', '-f', bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('strict decoding error: unknown field "spec.foo"');
    const warned = await h.kubectl(['apply', '--validate=warn', '-f', bad]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('Warning: unknown field "spec.foo"');
  });
});
