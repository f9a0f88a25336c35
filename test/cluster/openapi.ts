/**
 * Minimal OpenAPI v3 documents. kubectl 1.32 reads /openapi/v3 to learn whether
 * the server validates fields itself (the `fieldValidation` parameter on PATCH);
 * without that it insists on client-side validation from /openapi/v2 and
 * `kubectl apply` fails. We declare the operations and parameters only, no
 * schemas: kubectl then computes apply patches from its compiled-in types
 * (strategic merge) or, for custom resources, as JSON merge patches — as it
 * does against a real cluster whose CRDs carry no patch metadata.
 */
import { apiVersionOf, RESOURCE_TYPES, type ResourceType } from './resources.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function allGroupVersions(types: ResourceType[]): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const t of types) for (const v of t.versions) seen.set(gvPath(t.group, v), { group: t.group, version: v });
  return [...seen.values()];
}

/** The documents of the given types (ServedApis.types: all but omitted groups/versions). */
export function openApiV3Root(types: ResourceType[] = RESOURCE_TYPES): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { group, version } of allGroupVersions(types)) {
    const p = gvPath(group, version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=TESTCLUSTER0001` };
  }
  return { paths };
}

const param = (name: string, where = 'query') => ({
  name,
  in: where,
  schema: { type: 'string', uniqueItems: true },
  ...(where === 'path' ? { required: true } : {}),
});

function operation(t: ResourceType, version: string, action: string, extra: object = {}): object {
  return {
    operationId: `${action}${t.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: t.group, version, kind: t.kind },
    responses: { '200': { description: 'OK' } },
    ...extra,
  };
}

const writeParams = [param('dryRun'), param('fieldManager'), param('fieldValidation')];

export function openApiV3GroupVersion(group: string, version: string, served: ResourceType[] = RESOURCE_TYPES): object | undefined {
  const types = served.filter((t) => t.group === group && t.versions.includes(version));
  if (types.length === 0) return undefined;
  const base = `/${gvPath(group, version)}`;
  const paths: Record<string, object> = {};
  const schemas: Record<string, object> = {};
  for (const t of types) {
    const collection = t.namespaced ? `${base}/namespaces/{namespace}/${t.plural}` : `${base}/${t.plural}`;
    const pathParams = t.namespaced ? [param('namespace', 'path')] : [];
    paths[collection] = {
      get: operation(t, version, 'list', { parameters: [param('labelSelector'), param('fieldSelector'), param('watch')] }),
      post: operation(t, version, 'post', { parameters: writeParams }),
      parameters: pathParams,
    };
    const patchTypes = ['application/json-patch+json', 'application/merge-patch+json'];
    paths[`${collection}/{name}`] = {
      get: operation(t, version, 'get'),
      put: operation(t, version, 'put', { parameters: writeParams }),
      patch: operation(t, version, 'patch', {
        parameters: [...writeParams, param('force')],
        requestBody: { content: Object.fromEntries(patchTypes.map((c) => [c, { schema: { type: 'object' } }])) },
      }),
      delete: operation(t, version, 'delete', { parameters: [param('dryRun')] }),
      parameters: [...pathParams, param('name', 'path')],
    };
    const schemaName = `io.testcluster.${(group || 'core').replace(/\./g, '_')}.${version}.${t.kind}`;
    schemas[schemaName] = {
      type: 'object',
      'x-kubernetes-group-version-kind': [{ group: t.group, version, kind: t.kind }],
      'x-kubernetes-preserve-unknown-fields': true,
      description: `${t.kind} (${apiVersionOf(t.group, version)})`,
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-testcluster' },
    paths,
    components: { schemas },
  };
}
