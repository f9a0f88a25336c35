/**
 * The least-privilege Roles shipped in deploy/rbac/: one per action and router, and one that
 * covers everything. Each is built from the same builders the preflight asks with
 * (needed-permissions.ts), on a sample plan that uses every part of that action and router, so a
 * Role holds exactly what the preflight asks for. `npx tsx scripts/rbac-roles.ts` writes them.
 */
import type { RouterSpec } from '../kube/routers/factory.js';
import { dedupe, type Permission, resourceName } from '../kube/permissions.js';
import type { JournalEntry } from '../kube/journal.js';
import { blueGreenPermissions, canaryPermissions, rollbackPermissions, rollingPermissions } from './needed-permissions.js';

export interface ShippedRole {
  /** File and Role name: `pd-blue-green-istio`. */
  name: string;
  title: string;
  permissions: Permission[];
}

/** An RBAC rule: one group and resource with its verbs. */
export interface RoleRule {
  apiGroups: [string];
  resources: [string];
  verbs: string[];
}

const NS = 'ns';
const sample: Record<RouterSpec['type'], RouterSpec> = {
  istio: { type: 'istio', namespace: NS, name: 'route', destinations: ['a', 'b'] },
  gateway: { type: 'gateway', namespace: NS, name: 'route', destinations: ['a', 'b'] },
  service: { type: 'service', namespace: NS, name: 'route', label: 'color', destinations: ['blue', 'green'] },
  'replica-ratio': { type: 'replica-ratio', namespace: NS, stable: 'stable', canary: 'canary' },
  argo: { type: 'argo', namespace: NS, name: 'rollout' },
};
const workloads = [
  { namespace: NS, name: 'a' },
  { namespace: NS, name: 'b' },
];

/** Journal entries of every kind a release through `router` can record. */
function sampleEntries(router: RouterSpec): JournalEntry[] {
  const entry = (object: JournalEntry['object'], change: JournalEntry['change']): JournalEntry => ({
    id: 'x',
    runId: 'x',
    step: 'x',
    strategy: 'x',
    object,
    change,
    status: 'applied',
    plannedAt: '',
  });
  const deployment = { kind: 'Deployment', namespace: NS, name: 'a' };
  if (router.type === 'argo') {
    const rollout = { kind: 'Rollout', namespace: NS, name: 'rollout' };
    return [
      entry(rollout, { kind: 'image', container: 'c', previous: { image: 'x' }, next: { image: 'y' } }),
      entry(rollout, { kind: 'argo', action: 'promote', previous: { weight: 0 }, next: { weight: 10 } }),
    ];
  }
  return [
    entry(deployment, { kind: 'traffic', router, previous: {}, next: {} }),
    entry(deployment, { kind: 'image', container: 'c', previous: { image: 'x' }, next: { image: 'y' } }),
    entry(deployment, { kind: 'scale', previous: { replicas: 1 }, next: { replicas: 0 } }),
    entry(deployment, { kind: 'undo', previous: {}, next: { revision: 1, images: {} } }),
  ];
}

const strip = (list: Permission[]): Permission[] =>
  dedupe(
    list.map(({ verb, group, resource, subresource, why }) => ({ verb, group, resource, ...(subresource ? { subresource } : {}), why })),
  );
const plan = { namespace: NS, service: 'svc' };

export const SHIPPED_ROLES: ShippedRole[] = [
  ...(['istio', 'gateway', 'service'] as const).map((r) => ({
    name: `pd-blue-green-${r}`,
    title: `actions/blue-green with router ${r}`,
    permissions: strip(blueGreenPermissions({ ...plan, router: sample[r], workloads })),
  })),
  ...(['istio', 'gateway', 'replica-ratio', 'argo'] as const).map((r) => ({
    name: `pd-canary-${r}`,
    title: `actions/canary with routing ${r === 'replica-ratio' ? 'replicaRatio' : r}`,
    permissions: strip(canaryPermissions({ ...plan, router: sample[r], workloads: r === 'argo' ? [] : workloads })),
  })),
  {
    // Also enough for the rollback of its releases (an image put back), and mode workload with to-revision.
    name: 'pd-rolling',
    title: 'actions/rolling (and actions/rollback of its releases)',
    permissions: strip(rollingPermissions({ ...plan, deployment: workloads[0]! })),
  },
  ...(['istio', 'gateway', 'service', 'replica-ratio', 'argo'] as const).map((r) => ({
    name: `pd-rollback-${r}`,
    title: `actions/rollback of releases made through ${r}${r === 'argo' ? '' : ' (and mode workload with to-revision)'}`,
    permissions: strip(
      rollbackPermissions({
        ...plan,
        journal: true,
        canaryRecord: true,
        entries: sampleEntries(sample[r]),
        ...(r === 'argo' ? {} : { revisionOf: workloads[0] }),
      }),
    ),
  })),
];

/** migrate with require-rollout reads the Deployments and their pods (migrate/rollout-proof.ts); it writes nothing to the cluster. */
export const MIGRATE_ROLE: ShippedRole = {
  name: 'pd-migrate',
  title: 'actions/migrate with require-rollout',
  permissions: [
    { verb: 'get', group: 'apps', resource: 'deployments', why: 'read the Deployments of require-rollout' },
    { verb: 'list', group: '', resource: 'pods', why: 'check every replica runs expected-image' },
  ],
};

export const ALL_ROLE: ShippedRole = {
  name: 'pd-all',
  title: 'every action with every router',
  permissions: strip([...SHIPPED_ROLES, MIGRATE_ROLE].flatMap((r) => r.permissions)),
};

/** The rules of a Role: one per group and resource, verbs in a fixed order. */
export function rulesOf(permissions: readonly Permission[]): RoleRule[] {
  const order = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
  const rules = new Map<string, RoleRule>();
  for (const p of permissions) {
    const key = `${p.group}|${resourceName(p)}`;
    const rule = rules.get(key) ?? { apiGroups: [p.group] as [string], resources: [resourceName(p)] as [string], verbs: [] };
    rules.set(key, rule);
    if (!rule.verbs.includes(p.verb)) rule.verbs.push(p.verb);
  }
  return [...rules.values()]
    .map((r) => ({ ...r, verbs: r.verbs.sort((a, b) => order.indexOf(a) - order.indexOf(b)) }))
    .sort((a, b) => `${a.apiGroups[0]}|${a.resources[0]}`.localeCompare(`${b.apiGroups[0]}|${b.resources[0]}`));
}

/** The Role as YAML, each rule commented with why its verbs are needed. */
export function roleYaml(role: ShippedRole): string {
  const lines = [
    `# ${role.title}: the least privilege it needs, checked by its preflight before the first write.`,
    '# Generated by scripts/rbac-roles.ts from src/core/delivery/roles.ts; do not edit.',
    '# kubectl apply -n <namespace> -f this file, then bind it to the identity the workflow uses',
    `# (kubectl create rolebinding ${role.name} -n <namespace> --role ${role.name} --serviceaccount <ns>:<name>, or --user / --group).`,
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: Role',
    'metadata:',
    `  name: ${role.name}`,
    'rules:',
  ];
  for (const rule of rulesOf(role.permissions)) {
    for (const verb of rule.verbs) {
      const p = role.permissions.find((x) => x.verb === verb && x.group === rule.apiGroups[0] && resourceName(x) === rule.resources[0])!;
      lines.push(`  # ${verb}: ${p.why}`);
    }
    lines.push(
      `  - apiGroups: ["${rule.apiGroups[0]}"]`,
      `    resources: ["${rule.resources[0]}"]`,
      `    verbs: [${rule.verbs.map((v) => `"${v}"`).join(', ')}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}
