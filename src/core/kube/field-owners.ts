/**
 * Who else owns the fields we are about to write. A GitOps controller (Argo CD, Flux) that applies
 * an object with server-side apply owns its fields in `metadata.managedFields`; when it syncs again
 * it puts its own values back (both apply with force), so a weight we set would silently return
 * to the manifest's. We still write (a release must move), and warn once per object and manager,
 * naming the manager, the object and the field, and pointing to the README.
 *
 * managedFields format (FieldsV1): nested `f:<field>` for fields, `k:{...}` for list items keyed
 * by their map keys, `v:<json>` for set members, `i:<n>` for list positions, `{}` for an owned
 * leaf (an atomic list is owned as a whole: `f:http: {}` owns every weight below it), `".": {}` for
 * an owned node that has owned children. See kubernetes-sigs/structured-merge-diff
 * fieldpath/serialize.go and https://kubernetes.io/docs/reference/using-api/server-side-apply/.
 */
import type { KubeClient } from './client.js';
import { describeRef, type ObjectRef } from './object-ref.js';
import type { JsonPatchOp } from './json-patch.js';

/** The field manager of every write we make (the `fieldManager` parameter, see json-patch.ts). */
export const FIELD_MANAGER = 'progressive-delivery';

/** Managers that write with operation Update and still re-sync their manifests (client-side apply syncs). */
const GITOPS_UPDATE_MANAGERS = new Set([
  'argocd-controller',
  'argocd-application-controller',
  'kustomize-controller',
  'helm-controller',
  'helm',
]);

export interface FieldOwner {
  manager: string;
  operation: string;
  /** The owned field as the API server names it in conflicts: `.spec.http`, `.spec.rules`. */
  field: string;
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  fieldsV1?: unknown;
}

const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);

/** JSON pointer to segments (`/spec/http/0/route/1/weight` to spec, http, 0, route, 1, weight). */
function segments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * The FieldsV1 node for one step, and how the API server prints it: a field, or a list item
 * found by position (`i:`), by its map keys (`k:`) or its value (`v:`).
 */
function step(node: Record<string, any>, live: unknown, segment: string): { child: unknown; label: string; value: unknown } | undefined {
  if (Array.isArray(live) && /^\d+$/.test(segment)) {
    const item = live[Number(segment)];
    for (const [token, child] of Object.entries(node)) {
      if (token === `i:${segment}`) return { child, label: `[${segment}]`, value: item };
      if (token.startsWith('k:') && isObject(item)) {
        const key = JSON.parse(token.slice(2)) as Record<string, unknown>;
        if (Object.entries(key).every(([k, v]) => JSON.stringify(item[k]) === JSON.stringify(v))) {
          return {
            child,
            label: `[${Object.entries(key)
              .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
              .join(',')}]`,
            value: item,
          };
        }
      }
      if (token === `v:${JSON.stringify(item)}`) return { child, label: `[=${JSON.stringify(item)}]`, value: item };
    }
    return undefined;
  }
  const child = node[`f:${segment}`];
  return child === undefined ? undefined : { child, label: `.${segment}`, value: isObject(live) ? live[segment] : undefined };
}

/** The field of `pointer` or the atomic field above it that `fieldsV1` owns, if any. */
function ownedField(fieldsV1: unknown, object: unknown, pointer: string): string | undefined {
  let node: unknown = fieldsV1;
  let live: unknown = object;
  let label = '';
  for (const segment of segments(pointer)) {
    if (!isObject(node)) return undefined;
    const next = step(node, live, segment);
    if (!next) return undefined;
    label += next.label;
    // An owned leaf above the target: an atomic list or struct, owned with everything in it.
    if (isObject(next.child) && Object.keys(next.child).length === 0) return label;
    node = next.child;
    live = next.value;
  }
  return isObject(node) && '.' in node ? label : undefined;
}

/**
 * Other managers owning the fields `ops` change in `object`: every manager that applies
 * (operation Apply) and the known GitOps controllers that update, except ourselves.
 */
export function foreignOwners(object: { metadata?: object }, ops: readonly JsonPatchOp[]): FieldOwner[] {
  const managedFields: unknown = (object.metadata as { managedFields?: unknown } | undefined)?.managedFields;
  const entries: ManagedFieldsEntry[] = Array.isArray(managedFields) ? managedFields : [];
  const owners: FieldOwner[] = [];
  for (const entry of entries) {
    if (!entry.manager || entry.manager === FIELD_MANAGER) continue;
    if (entry.operation !== 'Apply' && !GITOPS_UPDATE_MANAGERS.has(entry.manager)) continue;
    for (const op of ops) {
      if (op.op === 'test') continue;
      const field = ownedField(entry.fieldsV1, object, op.path);
      if (field && !owners.some((o) => o.manager === entry.manager && o.field === field)) {
        owners.push({ manager: entry.manager, operation: entry.operation ?? 'Update', field });
      }
    }
  }
  return owners;
}

const warned = new WeakMap<KubeClient, Set<string>>();

/** The warning, once per client, object, manager and field; `purpose` says why we change it. */
export function warnForeignOwners(
  client: KubeClient,
  ref: ObjectRef,
  object: { metadata?: object },
  ops: readonly JsonPatchOp[],
  purpose = 'to move traffic',
): FieldOwner[] {
  const owners = foreignOwners(object, ops);
  const seen = warned.get(client) ?? new Set<string>();
  warned.set(client, seen);
  for (const owner of owners) {
    const key = `${describeRef(ref)}|${owner.manager}|${owner.field}`;
    if (seen.has(key)) continue;
    seen.add(key);
    client.warn(
      `${describeRef(ref)}: ${owner.field} (which we change ${purpose}) is owned by field manager "${owner.manager}" ` +
        `(${owner.operation === 'Apply' ? 'server-side apply' : 'a GitOps sync'}). We change it anyway, but "${owner.manager}" will put its own value back on its next sync ` +
        `unless it is told to ignore this field: see "GitOps (Argo CD, Flux)" in the README.`,
    );
  }
  return owners;
}
