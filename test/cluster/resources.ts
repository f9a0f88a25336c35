/**
 * The resource types the test cluster serves, with the facts discovery, routing,
 * validation and patching need about each.
 */

export interface ResourceType {
  group: string; // '' for core
  versions: string[]; // first is the preferred / storage version
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: ('status' | 'scale' | 'token')[];
  /**
   * Verbs when not the full set: the authentication.k8s.io / authorization.k8s.io reviews are
   * create-only and never stored (auth-endpoints.ts answers them).
   */
  verbs?: string[];
  /** Built-in kinds accept strategic merge patches; custom resources do not. */
  builtin: boolean;
  /** Whether metadata.generation is maintained (and bumped on spec changes). */
  hasGeneration: boolean;
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function type(t: Partial<ResourceType> & Pick<ResourceType, 'group' | 'versions' | 'kind' | 'plural'>): ResourceType {
  return {
    listKind: `${t.kind}List`,
    singular: t.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    categories: [],
    subresources: [],
    builtin: true,
    hasGeneration: false,
    ...t,
  };
}

export const RESOURCE_TYPES: ResourceType[] = [
  type({
    group: '',
    versions: ['v1'],
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['status'],
  }),
  type({
    group: '',
    versions: ['v1'],
    kind: 'Service',
    plural: 'services',
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
  }),
  type({ group: '', versions: ['v1'], kind: 'Pod', plural: 'pods', shortNames: ['po'], categories: ['all'], subresources: ['status'] }),
  type({ group: '', versions: ['v1'], kind: 'ConfigMap', plural: 'configmaps', shortNames: ['cm'] }),
  type({ group: '', versions: ['v1'], kind: 'Secret', plural: 'secrets' }),
  type({ group: '', versions: ['v1'], kind: 'ResourceQuota', plural: 'resourcequotas', shortNames: ['quota'], subresources: ['status'] }),
  type({
    group: 'apps',
    versions: ['v1'],
    kind: 'Deployment',
    plural: 'deployments',
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    hasGeneration: true,
  }),
  type({
    group: 'apps',
    versions: ['v1'],
    kind: 'ReplicaSet',
    plural: 'replicasets',
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    hasGeneration: true,
  }),
  // ServiceAccounts with the TokenRequest subresource (pkg/registry/core/serviceaccount/storage/token.go).
  type({ group: '', versions: ['v1'], kind: 'ServiceAccount', plural: 'serviceaccounts', shortNames: ['sa'], subresources: ['token'] }),
  // RBAC (pkg/apis/rbac, served by every v1.32 kube-apiserver as rbac.authorization.k8s.io/v1).
  type({ group: 'rbac.authorization.k8s.io', versions: ['v1'], kind: 'Role', plural: 'roles' }),
  type({ group: 'rbac.authorization.k8s.io', versions: ['v1'], kind: 'RoleBinding', plural: 'rolebindings' }),
  type({ group: 'rbac.authorization.k8s.io', versions: ['v1'], kind: 'ClusterRole', plural: 'clusterroles', namespaced: false }),
  type({
    group: 'rbac.authorization.k8s.io',
    versions: ['v1'],
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
  }),
  // Create-only reviews (pkg/registry/authentication, pkg/registry/authorization): never stored.
  type({
    group: 'authentication.k8s.io',
    versions: ['v1'],
    kind: 'SelfSubjectReview',
    plural: 'selfsubjectreviews',
    namespaced: false,
    verbs: ['create'],
  }),
  type({
    group: 'authentication.k8s.io',
    versions: ['v1'],
    kind: 'TokenReview',
    plural: 'tokenreviews',
    namespaced: false,
    verbs: ['create'],
  }),
  type({
    group: 'authorization.k8s.io',
    versions: ['v1'],
    kind: 'SelfSubjectAccessReview',
    plural: 'selfsubjectaccessreviews',
    namespaced: false,
    verbs: ['create'],
  }),
  type({
    group: 'authorization.k8s.io',
    versions: ['v1'],
    kind: 'SelfSubjectRulesReview',
    plural: 'selfsubjectrulesreviews',
    namespaced: false,
    verbs: ['create'],
  }),
  type({
    group: 'authorization.k8s.io',
    versions: ['v1'],
    kind: 'SubjectAccessReview',
    plural: 'subjectaccessreviews',
    namespaced: false,
    verbs: ['create'],
  }),
  type({
    group: 'authorization.k8s.io',
    versions: ['v1'],
    kind: 'LocalSubjectAccessReview',
    plural: 'localsubjectaccessreviews',
    verbs: ['create'],
  }),
  type({ group: 'coordination.k8s.io', versions: ['v1'], kind: 'Lease', plural: 'leases' }),
  type({
    group: 'networking.istio.io',
    versions: ['v1', 'v1beta1'],
    kind: 'VirtualService',
    plural: 'virtualservices',
    shortNames: ['vs'],
    categories: ['istio-io', 'networking-istio-io'],
    builtin: false,
    hasGeneration: true,
    subresources: ['status'],
  }),
  type({
    group: 'networking.istio.io',
    versions: ['v1', 'v1beta1'],
    kind: 'DestinationRule',
    plural: 'destinationrules',
    shortNames: ['dr'],
    categories: ['istio-io', 'networking-istio-io'],
    builtin: false,
    hasGeneration: true,
    subresources: ['status'],
  }),
  type({
    // Gateway API v1.x CRDs serve HTTPRoute as v1 (storage) and v1beta1, one storage.
    group: 'gateway.networking.k8s.io',
    versions: ['v1', 'v1beta1'],
    kind: 'HTTPRoute',
    plural: 'httproutes',
    categories: ['gateway-api'],
    builtin: false,
    hasGeneration: true,
    subresources: ['status'],
  }),
  type({
    group: 'argoproj.io',
    versions: ['v1alpha1'],
    kind: 'Rollout',
    plural: 'rollouts',
    shortNames: ['ro'],
    categories: ['all'],
    builtin: false,
    hasGeneration: true,
    subresources: ['status', 'scale'],
  }),
];

export function verbsFor(t: ResourceType): string[] {
  return t.verbs ?? VERBS;
}

/** Whether a type is answered by auth-endpoints.ts instead of being stored (the create-only reviews). */
export function isReview(t: ResourceType): boolean {
  return t.verbs !== undefined && t.verbs.length === 1 && t.verbs[0] === 'create';
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function findByPlural(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.plural === plural && t.versions.includes(version));
}

export function findByKind(apiVersion: string, kind: string): ResourceType | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  return RESOURCE_TYPES.find((t) => t.group === group && t.kind === kind && t.versions.includes(version));
}

/** The named groups of some types (all served types by default), versions in preference order. */
export function groups(types: ResourceType[] = RESOURCE_TYPES): { name: string; versions: string[] }[] {
  const out: { name: string; versions: string[] }[] = [];
  for (const t of types) {
    if (t.group === '') continue;
    let g = out.find((x) => x.name === t.group);
    if (!g) out.push((g = { name: t.group, versions: [] }));
    for (const v of t.versions) if (!g.versions.includes(v)) g.versions.push(v);
  }
  return out;
}

/** Storage key of a type: all versions of a group/plural share one storage. */
export function storageKey(t: ResourceType): string {
  return `${t.group}/${t.plural}`;
}
