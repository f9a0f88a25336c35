import type { KubeClient } from './client.js';
import { JSON_PATCH, MERGE_PATCH, type JsonPatchOp } from './json-patch.js';
import type { ObjectRef } from './object-ref.js';

/** A custom resource type as the API serves it. */
export interface CustomKind {
  kind: string;
  group: string;
  version: string;
  plural: string;
}

export const VIRTUAL_SERVICE: CustomKind = { kind: 'VirtualService', group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' };
export const DESTINATION_RULE: CustomKind = { kind: 'DestinationRule', group: 'networking.istio.io', version: 'v1', plural: 'destinationrules' };
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

export function getCustomObject(client: KubeClient, kind: CustomKind, namespace: string, name: string): Promise<KubeObject> {
  return client.call('get', customRef(kind, namespace, name), () =>
    client.custom.getNamespacedCustomObject({ group: kind.group, version: kind.version, plural: kind.plural, namespace, name }),
  );
}

/** JSON patch of a custom resource (never strategic merge: custom resources do not support it). */
export function jsonPatchCustomObject(
  client: KubeClient,
  kind: CustomKind,
  namespace: string,
  name: string,
  ops: JsonPatchOp[],
): Promise<KubeObject> {
  return client.call('patch', customRef(kind, namespace, name), () =>
    client.custom.patchNamespacedCustomObject({ group: kind.group, version: kind.version, plural: kind.plural, namespace, name, body: ops }, JSON_PATCH),
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
    client.custom.patchNamespacedCustomObjectStatus({ group: kind.group, version: kind.version, plural: kind.plural, namespace, name, body: patch }, MERGE_PATCH),
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
    client.custom.patchNamespacedCustomObject({ group: kind.group, version: kind.version, plural: kind.plural, namespace, name, body: patch }, MERGE_PATCH),
  );
}
