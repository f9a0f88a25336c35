/**
 * The custom resources the routers and ArgoRollout change: their kinds (VIRTUAL_SERVICE,
 * DESTINATION_RULE, HTTP_ROUTE, ARGO_ROLLOUT; atVersion for another version), their objects
 * untyped below metadata (KubeObject), read with getCustomObject and written with JSON patch or
 * merge patch. A 404 on a read is checked against API discovery, so a missing CRD or one at another
 * version is named as such (KindNotServedError) rather than reported as a missing object.
 */
import { ApisApi } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { isNotFound, KubeObjectError } from './errors.js';
import { JSON_PATCH, MERGE_PATCH, type JsonPatchOp } from './json-patch.js';
import type { ObjectRef } from './object-ref.js';

/** A custom resource type as the API serves it. */
export interface CustomKind {
  kind: string;
  group: string;
  version: string;
  plural: string;
}

export const VIRTUAL_SERVICE: CustomKind = {
  kind: 'VirtualService',
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
};
export const DESTINATION_RULE: CustomKind = {
  kind: 'DestinationRule',
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'destinationrules',
};
export const HTTP_ROUTE: CustomKind = { kind: 'HTTPRoute', group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
export const ARGO_ROLLOUT: CustomKind = { kind: 'Rollout', group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts' };

/** The same kind served at another version (e.g. Istio's v1beta1 on older meshes). */
export function atVersion(kind: CustomKind, apiVersion: string | undefined): CustomKind {
  if (!apiVersion) return kind;
  const [group, version] = apiVersion.split('/');
  if (group !== kind.group || !version) throw new Error(`${kind.kind}: apiVersion ${apiVersion} is not of group ${kind.group}`);
  return { ...kind, version };
}

/** An object as the API returns it, untyped below metadata. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; generation?: number; uid?: string; [key: string]: unknown };
  spec?: any;
  status?: any;
}

export function customRef(kind: CustomKind, namespace: string, name: string): ObjectRef {
  return { kind: kind.kind, namespace, name };
}

/**
 * Reads a custom object. A 404 is checked against API discovery: when the cluster does not serve
 * the kind at that version (the CRD is missing, or serves other versions), the error says so and
 * names the versions served, instead of calling the object "not found".
 */
export async function getCustomObject(client: KubeClient, kind: CustomKind, namespace: string, name: string): Promise<KubeObject> {
  try {
    return await client.call('get', customRef(kind, namespace, name), () =>
      client.custom.getNamespacedCustomObject({ group: kind.group, version: kind.version, plural: kind.plural, namespace, name }),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const problem = await notServed(client, kind);
    if (problem) throw new KindNotServedError(customRef(kind, namespace, name), problem);
    throw error;
  }
}

/** The cluster does not serve a custom resource at the version asked for. */
export class KindNotServedError extends KubeObjectError {}

const INSTALLS: Record<string, string> = {
  'networking.istio.io': ' (is Istio installed?)',
  'gateway.networking.k8s.io': ' (are the Gateway API CRDs installed?)',
  'argoproj.io': ' (is Argo Rollouts installed?)',
};

/**
 * Why the cluster does not serve `kind` (discovery: /apis/<group>/<version>, then /apis), or
 * undefined when it does. The same questions kubectl asks (k8s.io/client-go/discovery).
 */
export async function notServed(client: KubeClient, kind: CustomKind): Promise<string | undefined> {
  const resource = `${kind.plural}.${kind.group}`;
  try {
    const list = await client.call('get', { kind: 'APIResourceList', namespace: '', name: `${kind.group}/${kind.version}` }, () =>
      client.custom.getAPIResources({ group: kind.group, version: kind.version }),
    );
    if (list.resources.some((r) => r.name === kind.plural)) return undefined;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const groups = await client.call('get', { kind: 'APIGroupList', namespace: '', name: 'apis' }, () =>
    new ApisApi(client.configuration).getAPIVersions(),
  );
  const group = groups.groups.find((g) => g.name === kind.group);
  const versions = group?.versions.map((v) => v.version) ?? [];
  const install = INSTALLS[kind.group] ?? '';
  if (!versions.length) return `the cluster does not serve ${kind.group} at all: the ${kind.kind} CRD (${resource}) is missing${install}`;
  if (!versions.includes(kind.version)) {
    return `the cluster does not serve ${kind.group}/${kind.version}; it serves ${versions.map((v) => `${kind.group}/${v}`).join(', ')}, so the ${kind.kind} CRD (${resource}) is older or newer than this action expects${VERSION_HINT[kind.group] ?? ''}`;
  }
  return `the cluster serves ${kind.group}/${kind.version} (${versions.join(', ')}) but no ${kind.plural} in it: the ${kind.kind} CRD (${resource}) is missing${install}`;
}

const VERSION_HINT: Record<string, string> = {
  'gateway.networking.k8s.io': '; HTTPRoute v1 comes with Gateway API 1.0: upgrade the CRDs',
  'networking.istio.io': "; the canary config's routing.istio.apiVersion picks networking.istio.io/v1beta1 for Istio before 1.22",
};

/** JSON patch of a custom resource (never strategic merge: custom resources do not support it). */
export function jsonPatchCustomObject(
  client: KubeClient,
  kind: CustomKind,
  namespace: string,
  name: string,
  ops: JsonPatchOp[],
): Promise<KubeObject> {
  return client.call('patch', customRef(kind, namespace, name), () =>
    client.custom.patchNamespacedCustomObject(
      { group: kind.group, version: kind.version, plural: kind.plural, namespace, name, body: ops },
      JSON_PATCH,
    ),
  );
}

/** Merge patch of a custom resource's status subresource (as `kubectl argo rollouts` does for abort/promote). */
export function mergePatchCustomStatus(
  client: KubeClient,
  kind: CustomKind,
  namespace: string,
  name: string,
  patch: object,
): Promise<KubeObject> {
  return client.call('patch', customRef(kind, namespace, name), () =>
    client.custom.patchNamespacedCustomObjectStatus(
      { group: kind.group, version: kind.version, plural: kind.plural, namespace, name, body: patch },
      MERGE_PATCH,
    ),
  );
}

/** Merge patch of a custom resource's main object. */
export function mergePatchCustomObject(
  client: KubeClient,
  kind: CustomKind,
  namespace: string,
  name: string,
  patch: object,
): Promise<KubeObject> {
  return client.call('patch', customRef(kind, namespace, name), () =>
    client.custom.patchNamespacedCustomObject(
      { group: kind.group, version: kind.version, plural: kind.plural, namespace, name, body: patch },
      MERGE_PATCH,
    ),
  );
}
