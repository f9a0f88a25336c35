/**
 * Server-side apply and managedFields, against the real kubectl (v1.32) and raw requests.
 * Expected shapes follow structured-merge-diff (FieldsV1, conflict paths) and
 * k8s.io/apimachinery/pkg/util/managedfields/internal/conflict.go (409 message and causes).
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

async function manifest(name: string, obj: object): Promise<string> {
  const path = join(h.dir, name);
  await writeFile(path, stringify(obj));
  return path;
}

function virtualService(name: string, stable: number): any {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default' },
    spec: {
      hosts: [name],
      http: [
        {
          name: 'primary',
          route: [
            { destination: { host: `${name}-stable` }, weight: stable },
            { destination: { host: `${name}-canary` }, weight: 100 - stable },
          ],
        },
      ],
    },
  };
}

const vsPath = (name: string) => `/apis/networking.istio.io/v1/namespaces/default/virtualservices/${name}`;

function apply(path: string, obj: object, query: string) {
  return request(h.cluster, 'PATCH', `${path}?${query}`, { body: JSON.stringify(obj), contentType: 'application/apply-patch+yaml' });
}

const entry = (obj: any, manager: string, operation = 'Apply') =>
  obj.metadata.managedFields?.find((e: any) => e.manager === manager && e.operation === operation);

describe('server-side apply', () => {
  it('kubectl apply --server-side creates the object with an Apply entry in the FieldsV1 format', async () => {
    const file = await manifest('web.yaml', deployment('ssa-web', 'app:v1', 2));
    const r = await h.kubectl(['apply', '--server-side', '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('deployment.apps/ssa-web serverside-applied');
    const live = h.cluster.get('apps/v1', 'Deployment', 'default', 'ssa-web');
    const e = entry(live, 'kubectl');
    expect(e).toMatchObject({ manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
    expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Owned: replicas, the selector as a whole (atomic struct), the container by its key with its fields.
    expect(e.fieldsV1['f:spec']['f:replicas']).toEqual({});
    expect(e.fieldsV1['f:spec']['f:selector']).toEqual({});
    expect(e.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}']).toEqual({
      '.': {},
      'f:image': {},
      'f:name': {},
      // A key field the configuration leaves out (protocol) takes its schema default in the key.
      'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
    });
    // Defaults are owned by nobody.
    expect(JSON.stringify(e.fieldsV1)).not.toContain('progressDeadlineSeconds');
    // kubectl shows them.
    const shown = await h.kubectl(['get', 'deployment', 'ssa-web', '-o', 'yaml', '--show-managed-fields']);
    expect(shown.stdout).toContain('manager: kubectl');
    expect(shown.stdout).toContain('k:{"name":"app"}');
  });

  it('a conflicting kubectl apply --server-side is refused with the real message, and --force-conflicts takes the field', async () => {
    const file = await manifest('web2.yaml', deployment('ssa-web2', 'app:v1', 2));
    expect((await h.kubectl(['apply', '--server-side', '--field-manager', 'argocd-controller', '-f', file])).code).toBe(0);
    const changed = await manifest('web2b.yaml', deployment('ssa-web2', 'app:v2', 2));
    const refused = await h.kubectl(['apply', '--server-side', '-f', changed]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "argocd-controller": .spec.template.spec.containers[name="app"].image',
    );
    expect(refused.stderr).toContain('--force-conflicts');
    expect(h.cluster.get('apps/v1', 'Deployment', 'default', 'ssa-web2')!.spec.template.spec.containers[0].image).toBe('app:v1');

    const forced = await h.kubectl(['apply', '--server-side', '--force-conflicts', '-f', changed]);
    expect(forced.code).toBe(0);
    const live = h.cluster.get('apps/v1', 'Deployment', 'default', 'ssa-web2')!;
    expect(live.spec.template.spec.containers[0].image).toBe('app:v2');
    const argo = entry(live, 'argocd-controller');
    expect(argo.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}']['f:image']).toBeUndefined();
    // Both still own what they applied with the same value (shared ownership).
    expect(argo.fieldsV1['f:spec']['f:replicas']).toEqual({});
    expect(entry(live, 'kubectl').fieldsV1['f:spec']['f:replicas']).toEqual({});
  });

  it('answers the 409 Status in the real shape, naming an Update manager with its apiVersion and time', async () => {
    const created = await apply(vsPath('shop'), virtualService('shop', 100), 'fieldManager=argocd-controller');
    expect(created.status).toBe(201);
    // Istio's CRD declares no list type on spec.http: the list is atomic, owned as a whole.
    expect(entry(created.json(), 'argocd-controller').fieldsV1['f:spec']).toEqual({ 'f:hosts': {}, 'f:http': {} });

    // Another writer (a JSON patch, operation Update) changes a weight: it takes .spec.http.
    const patched = await request(h.cluster, 'PATCH', `${vsPath('shop')}?fieldManager=progressive-delivery`, {
      body: [
        { op: 'replace', path: '/spec/http/0/route/0/weight', value: 90 },
        { op: 'replace', path: '/spec/http/0/route/1/weight', value: 10 },
      ],
      contentType: 'application/json-patch+json',
    });
    expect(patched.status).toBe(200);
    const mine = entry(patched.json(), 'progressive-delivery', 'Update');
    expect(mine).toMatchObject({ apiVersion: 'networking.istio.io/v1', fieldsV1: { 'f:spec': { 'f:http': {} } } });
    expect(entry(patched.json(), 'argocd-controller').fieldsV1['f:spec']).toEqual({ 'f:hosts': {} });

    // The GitOps tool applies its manifest again without force: conflict.
    const refused = await apply(vsPath('shop'), virtualService('shop', 100), 'fieldManager=argocd-controller');
    expect(refused.status).toBe(409);
    const status = refused.json();
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Conflict', code: 409 });
    expect(status.message).toBe(
      `Apply failed with 1 conflict: conflict with "progressive-delivery" using networking.istio.io/v1 at ${mine.time}: .spec.http`,
    );
    expect(status.details.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        message: `conflict with "progressive-delivery" using networking.istio.io/v1 at ${mine.time}`,
        field: '.spec.http',
      },
    ]);

    // With force (what Argo CD and Flux send), the weights go back and the ownership with them.
    const forced = await apply(vsPath('shop'), virtualService('shop', 100), 'fieldManager=argocd-controller&force=true');
    expect(forced.status).toBe(200);
    expect(forced.json().spec.http[0].route.map((r: any) => r.weight)).toEqual([100, 0]);
    expect(entry(forced.json(), 'progressive-delivery', 'Update')).toBeUndefined();
  });

  it('lists several conflicts grouped by manager', async () => {
    await apply(vsPath('multi'), virtualService('multi', 100), 'fieldManager=flux');
    const refused = await apply(
      vsPath('multi'),
      { ...virtualService('multi', 50), spec: { hosts: ['other'], http: virtualService('multi', 50).spec.http } },
      'fieldManager=me',
    );
    expect(refused.status).toBe(409);
    expect(refused.json().message).toBe('Apply failed with 2 conflicts: conflicts with "flux":\n- .spec.hosts\n- .spec.http');
  });

  it('requires fieldManager for apply and refuses force on other patches', async () => {
    const missing = await apply(vsPath('none'), virtualService('none', 100), '');
    expect(missing.status).toBe(422);
    expect(missing.json().message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    await apply(vsPath('forced'), virtualService('forced', 100), 'fieldManager=a');
    const force = await request(h.cluster, 'PATCH', `${vsPath('forced')}?force=true`, {
      body: { metadata: { labels: { a: 'b' } } },
      contentType: 'application/merge-patch+json',
    });
    expect(force.status).toBe(422);
    expect(force.json().message).toBe('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
  });

  it('removes fields the manager stops applying, unless another manager owns them', async () => {
    const withLabels = (labels: Record<string, string>) => ({ ...virtualService('labels', 100), metadata: { name: 'labels', labels } });
    await apply(vsPath('labels'), withLabels({ a: '1', b: '2', c: '3' }), 'fieldManager=gitops');
    await apply(vsPath('labels'), withLabels({ c: '3' }), 'fieldManager=other');
    const after = await apply(vsPath('labels'), withLabels({ a: '1' }), 'fieldManager=gitops');
    expect(after.status).toBe(200);
    expect(after.json().metadata.labels).toEqual({ a: '1', c: '3' });
  });

  it('records Update entries for create, update and patch, the manager taken from the User-Agent without fieldManager', async () => {
    const file = await manifest('cm.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa-cm' }, data: { a: '1' } });
    expect((await h.kubectl(['create', '-f', file])).code).toBe(0);
    let cm = h.cluster.get('v1', 'ConfigMap', 'default', 'ssa-cm')!;
    expect(entry(cm, 'kubectl-create', 'Update').fieldsV1).toEqual({ 'f:data': { '.': {}, 'f:a': {} } });
    expect((await h.kubectl(['label', 'configmap', 'ssa-cm', 'team=x'])).code).toBe(0);
    cm = h.cluster.get('v1', 'ConfigMap', 'default', 'ssa-cm')!;
    expect(entry(cm, 'kubectl-label', 'Update').fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:team': {} } } });
    const raw = await request(h.cluster, 'PATCH', '/api/v1/namespaces/default/configmaps/ssa-cm', {
      body: { data: { a: '2' } },
      contentType: 'application/merge-patch+json',
    });
    expect(raw.status).toBe(200);
    // Node's https client sends no User-Agent: no manager, no entry; the writer of data.a before loses it.
    expect(entry(raw.json(), 'kubectl-create', 'Update').fieldsV1).toEqual({ 'f:data': {} });
    expect(raw.json().metadata.managedFields.map((e: any) => e.manager)).toEqual(['kubectl-create', 'kubectl-label']);
  });
});
