/**
 * The preflight: before its first write, an action asks the API server (SelfSubjectAccessReview,
 * authorization.k8s.io/v1, what `kubectl auth can-i` sends) whether it may do everything its plan
 * needs, all at once in parallel. Anything missing stops the run before it changes anything, with
 * every missing permission listed and the Role rules that grant them.
 */
import type { V1SelfSubjectAccessReview } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { describeIdentity } from './kubeconfig.js';
import { dedupe, type NeededPermission, resourceName } from './permissions.js';

export interface PreflightResult {
  missing: NeededPermission[];
  /** Reviews sent (one per permission). */
  requests: number;
  durationMs: number;
}

/** Missing permissions: the message lists each, and the Role rules to add. */
export class MissingPermissionsError extends Error {
  override readonly name = 'MissingPermissionsError';
  constructor(
    readonly missing: NeededPermission[],
    identity: string,
  ) {
    super(missingMessage(missing, identity));
  }
}

/** Asks for every permission in parallel. Throws when the reviews themselves fail (not for a denial). */
export async function checkPermissions(client: KubeClient, needed: readonly NeededPermission[]): Promise<PreflightResult> {
  const started = Date.now();
  const list = dedupe(needed);
  const answers = await Promise.all(
    list.map((p) =>
      client.call('create', { kind: 'SelfSubjectAccessReview', namespace: p.namespace, name: `${p.verb} ${resourceName(p)}` }, () =>
        client.authorization.createSelfSubjectAccessReview({ body: review(p) }),
      ),
    ),
  );
  const missing = list.filter((_, i) => answers[i]?.status?.allowed !== true);
  return { missing, requests: list.length, durationMs: Date.now() - started };
}

/** checkPermissions, throwing MissingPermissionsError when any is missing. */
export async function requirePermissions(client: KubeClient, needed: readonly NeededPermission[]): Promise<PreflightResult> {
  const result = await checkPermissions(client, needed);
  if (result.missing.length) throw new MissingPermissionsError(result.missing, describeIdentity(client.kubeConfig));
  return result;
}

function review(p: NeededPermission): V1SelfSubjectAccessReview {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: {
      resourceAttributes: {
        namespace: p.namespace,
        verb: p.verb,
        group: p.group,
        resource: p.resource,
        ...(p.subresource ? { subresource: p.subresource } : {}),
        ...(p.name ? { name: p.name } : {}),
      },
    },
  };
}

/** `patch virtualservices.networking.istio.io "checkout" in namespace shop: change the traffic weights`. */
export function describePermission(p: NeededPermission): string {
  const resource = `${resourceName(p)}${p.group ? `.${p.group}` : ''}`;
  return `${p.verb} ${resource}${p.name ? ` "${p.name}"` : ''} in namespace ${p.namespace}: ${p.why}`;
}

/** The Role rules (YAML) that grant `missing`, one rule per namespace, group and resource. */
export function rulesFor(missing: readonly NeededPermission[]): Map<string, string> {
  const byNamespace = new Map<string, Map<string, { group: string; resource: string; verbs: Set<string> }>>();
  for (const p of missing) {
    const rules = byNamespace.get(p.namespace) ?? new Map();
    byNamespace.set(p.namespace, rules);
    const key = `${p.group}|${resourceName(p)}`;
    const rule = rules.get(key) ?? { group: p.group, resource: resourceName(p), verbs: new Set<string>() };
    rules.set(key, rule);
    rule.verbs.add(p.verb);
  }
  const out = new Map<string, string>();
  for (const [namespace, rules] of byNamespace) {
    out.set(
      namespace,
      [...rules.values()]
        .map(
          (r) => `- apiGroups: ["${r.group}"]\n  resources: ["${r.resource}"]\n  verbs: [${[...r.verbs].map((v) => `"${v}"`).join(', ')}]`,
        )
        .join('\n'),
    );
  }
  return out;
}

function missingMessage(missing: readonly NeededPermission[], identity: string): string {
  const lines = [`${identity} lacks ${missing.length} permission${missing.length === 1 ? '' : 's'} this run needs; nothing was changed:`];
  for (const p of missing) lines.push(`  - ${describePermission(p)}`);
  for (const [namespace, yaml] of rulesFor(missing)) {
    lines.push(`Add to the rules of its Role in namespace ${namespace} (or use the Roles in deploy/rbac/):`);
    lines.push(...yaml.split('\n').map((l) => `  ${l}`));
  }
  return lines.join('\n');
}
