/**
 * Authorization as a v1.32 kube-apiserver does it with --authorization-mode=Node,RBAC:
 * members of `system:masters` may do anything (authorizerfactory.NewPrivilegedGroups), everyone
 * else what their Roles and ClusterRoles allow through RoleBindings and ClusterRoleBindings
 * (plugin/pkg/auth/authorizer/rbac/rbac.go, pkg/registry/rbac/validation/rule.go,
 * pkg/apis/rbac/v1/evaluation_helpers.go). No aggregation (aggregationRule is not evaluated),
 * no escalation checks on writes of Roles and bindings.
 *
 * A denied request gets the 403 Status of responsewriters.Forbidden
 * (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go forbiddenMessage,
 * apimachinery/pkg/api/errors NewForbidden).
 */
import { ApiError } from './status.js';
import { findByKind } from './resources.js';
import type { KubeObject, Store } from './store.js';
import { PRIVILEGED_GROUP, type UserInfo } from './authn.js';
import type { RequestInfo } from './request-info.js';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

/** The attributes authorized: a request's RequestInfo, or those of an access review. */
export type Attributes = Pick<
  RequestInfo,
  'isResourceRequest' | 'path' | 'verb' | 'apiGroup' | 'apiVersion' | 'namespace' | 'resource' | 'subresource' | 'name'
>;

export interface Decision {
  allowed: boolean;
  reason: string;
}

const ROLE = findByKind('rbac.authorization.k8s.io/v1', 'Role')!;
const CLUSTER_ROLE = findByKind('rbac.authorization.k8s.io/v1', 'ClusterRole')!;
const ROLE_BINDING = findByKind('rbac.authorization.k8s.io/v1', 'RoleBinding')!;
const CLUSTER_ROLE_BINDING = findByKind('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding')!;

// evaluation_helpers.go
const verbMatches = (rule: PolicyRule, verb: string) => rule.verbs.some((v) => v === '*' || v === verb);
const apiGroupMatches = (rule: PolicyRule, group: string) => (rule.apiGroups ?? []).some((g) => g === '*' || g === group);
function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  return (rule.resources ?? []).some(
    (r) =>
      r === '*' ||
      r === combined ||
      (subresource !== '' && r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)),
  );
}
const resourceNameMatches = (rule: PolicyRule, name: string) => !rule.resourceNames?.length || rule.resourceNames.includes(name);
function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))));
}

/** rbac.go RuleAllows. */
export function ruleAllows(attrs: Attributes, rule: PolicyRule): boolean {
  if (attrs.isResourceRequest) {
    const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    return (
      verbMatches(rule, attrs.verb) &&
      apiGroupMatches(rule, attrs.apiGroup) &&
      resourceMatches(rule, combined, attrs.subresource) &&
      resourceNameMatches(rule, attrs.name)
    );
  }
  return verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.path);
}

/** rule.go appliesToUser. */
function appliesTo(user: UserInfo, subject: Subject, namespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || namespace;
      return ns !== '' && user.username === `system:serviceaccount:${ns}:${subject.name}`;
    }
    default:
      return false;
  }
}

/** rule.go describeSubject. */
function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

type Visitor = (source: string | undefined, rule: PolicyRule | undefined, err: string | undefined) => boolean;

export class Rbac {
  constructor(private readonly store: Store) {}

  /** rule.go GetRoleReferenceRules: the rules of a binding's roleRef, or the lister's NotFound. */
  private roleRules(roleRef: any, bindingNamespace: string): { rules?: PolicyRule[]; error?: string } {
    const name = String(roleRef?.name ?? '');
    if (roleRef?.kind === 'Role') {
      const role = this.store.peek(ROLE, bindingNamespace, name);
      // client-go listers: errors.NewNotFound(v1.Resource("role"), name) — singular resource.
      return role ? { rules: role.rules ?? [] } : { error: `role.rbac.authorization.k8s.io ${JSON.stringify(name)} not found` };
    }
    if (roleRef?.kind === 'ClusterRole') {
      const role = this.store.peek(CLUSTER_ROLE, undefined, name);
      return role ? { rules: role.rules ?? [] } : { error: `clusterrole.rbac.authorization.k8s.io ${JSON.stringify(name)} not found` };
    }
    return { error: `unsupported role reference kind: ${JSON.stringify(roleRef?.kind)}` };
  }

  /** rule.go VisitRulesFor: ClusterRoleBindings first, then the RoleBindings of the namespace. */
  private visitRulesFor(user: UserInfo, namespace: string, visit: Visitor): void {
    const walk = (
      bindings: KubeObject[],
      describe: (b: KubeObject, s: Subject) => string,
      bindingNs: (b: KubeObject) => string,
    ): boolean => {
      for (const binding of bindings) {
        const subjects: Subject[] = binding.subjects ?? [];
        const subject = subjects.find((s) => appliesTo(user, s, bindingNs(binding)));
        if (!subject) continue;
        const { rules, error } = this.roleRules(binding.roleRef, bindingNs(binding));
        if (error) {
          if (!visit(undefined, undefined, error)) return false;
          continue;
        }
        for (const rule of rules!) if (!visit(describe(binding, subject), rule, undefined)) return false;
      }
      return true;
    };
    const byName = (a: KubeObject, b: KubeObject) => (a.metadata.name < b.metadata.name ? -1 : 1);
    const crbs = this.store.list(CLUSTER_ROLE_BINDING).sort(byName);
    const more = walk(
      crbs,
      (b, s) =>
        `ClusterRoleBinding ${JSON.stringify(b.metadata.name)} of ${b.roleRef?.kind} ${JSON.stringify(b.roleRef?.name)} to ${describeSubject(s, '')}`,
      () => '',
    );
    if (!more || namespace === '') return;
    walk(
      this.store.list(ROLE_BINDING, namespace).sort(byName),
      (b, s) =>
        `RoleBinding ${JSON.stringify(`${b.metadata.name}/${b.metadata.namespace}`)} of ${b.roleRef?.kind} ${JSON.stringify(b.roleRef?.name)} to ${describeSubject(s, b.metadata.namespace ?? '')}`,
      (b) => b.metadata.namespace ?? '',
    );
  }

  /** The union of the privileged-group authorizer and RBAC (union.go): allowed, and why (or why not). */
  authorize(user: UserInfo, attrs: Attributes): Decision {
    if (user.groups.includes(PRIVILEGED_GROUP)) return { allowed: true, reason: '' };
    let reason = '';
    const errors: string[] = [];
    let allowed = false;
    this.visitRulesFor(user, attrs.namespace, (source, rule, err) => {
      if (rule && ruleAllows(attrs, rule)) {
        allowed = true;
        reason = `RBAC: allowed by ${source}`;
        return false;
      }
      if (err) errors.push(err);
      return true;
    });
    if (allowed) return { allowed, reason };
    // utilerrors.NewAggregate: one error as itself, several as "[a, b]".
    if (errors.length > 0) reason = `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}`;
    return { allowed: false, reason };
  }

  /** rbac.go RulesFor (SelfSubjectRulesReview): every rule that applies in a namespace. */
  rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    this.visitRulesFor(user, namespace, (_s, rule, err) => {
      if (rule) rules.push(rule);
      if (err) errors.push(err);
      return true;
    });
    return { rules, errors };
  }
}

/** responsewriters.Forbidden: the 403 Status for a denied request. */
export function forbidden(user: UserInfo, attrs: Attributes, reason: string): ApiError {
  let msg: string;
  if (!attrs.isResourceRequest) {
    msg = `User ${JSON.stringify(user.username)} cannot ${attrs.verb} path ${JSON.stringify(attrs.path)}`;
  } else {
    const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    msg = attrs.namespace
      ? `User ${JSON.stringify(user.username)} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup)} in the namespace ${JSON.stringify(attrs.namespace)}`
      : `User ${JSON.stringify(user.username)} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup)} at the cluster scope`;
  }
  if (reason) msg = `${msg}: ${reason}`;
  // apierrors.NewForbidden(GroupResource{group, resource}, name, err)
  const group = attrs.isResourceRequest ? attrs.apiGroup : '';
  const resource = attrs.isResourceRequest ? attrs.resource : '';
  const qualified = group ? `${resource}.${group}` : resource;
  const message =
    qualified === ''
      ? `forbidden: ${msg}`
      : attrs.name
        ? `${qualified} ${JSON.stringify(attrs.name)} is forbidden: ${msg}`
        : `${qualified} is forbidden: ${msg}`;
  const details: Record<string, string> = {};
  if (attrs.name) details.name = attrs.name;
  if (group) details.group = group;
  if (resource) details.kind = resource;
  return new ApiError(403, 'Forbidden', message, details);
}

const BOOTSTRAP_META = (name: string) => ({
  name,
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
});

/**
 * The default ClusterRoles and ClusterRoleBindings every cluster has that matter here
 * (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go ClusterRoles, ClusterRoleBindings):
 * cluster-admin for system:masters, discovery and the self reviews for every authenticated user.
 */
export function bootstrapPolicy(): KubeObject[] {
  const clusterRole = (name: string, rules: PolicyRule[]): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: BOOTSTRAP_META(name),
    rules,
  });
  const binding = (name: string, groups: string[]): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: BOOTSTRAP_META(name),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: groups.map((g) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: g })),
  });
  return [
    clusterRole('cluster-admin', [
      { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
      { verbs: ['*'], nonResourceURLs: ['*'] },
    ]),
    clusterRole('system:discovery', [
      {
        verbs: ['get'],
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
      },
    ]),
    clusterRole('system:basic-user', [
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
    ]),
    clusterRole('system:public-info-viewer', [
      { verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] },
    ]),
    binding('cluster-admin', ['system:masters']),
    binding('system:discovery', ['system:authenticated']),
    binding('system:basic-user', ['system:authenticated']),
    binding('system:public-info-viewer', ['system:authenticated', 'system:unauthenticated']),
  ];
}
