/**
 * Server-side apply (PATCH `application/apply-patch+yaml`): merge the applied configuration into
 * the live object, detect field-ownership conflicts, remove the fields the manager applied before
 * and no longer applies (unless someone else owns them), and record the manager's Apply entry.
 *
 * Sources: kubernetes-sigs/structured-merge-diff merge/update.go (Updater.Apply: conflicts are
 * the fields the apply adds or modifies that another manager owns; `force` takes them; prune of
 * fields no longer applied), typed/merge.go (maps merge, associative lists merge by key, atomic
 * lists and scalars are replaced); k8s.io/apimachinery/pkg/util/managedfields/internal/conflict.go
 * (409 `Apply failed with N conflict(s): conflict with "m": .path`, causes of type
 * FieldManagerConflict); apimachinery/pkg/apis/meta/v1/validation ValidatePatchOptions
 * (`fieldManager: Required value: is required for apply patch`,
 * `force: Forbidden: may not be specified for non-apply patch`).
 */
import { parse as parseYaml } from 'yaml';
import { ApiError, errors, type StatusCause } from './status.js';
import type { ResourceType } from './resources.js';
import { deepCopy, deepEqual, nowTimestamp, type KubeObject } from './store.js';
import {
  compare,
  decodeEntries,
  encodeEntries,
  FieldSet,
  fieldSetOf,
  pathString,
  sameManager,
  type FieldPath,
  type Manager,
} from './managed-fields.js';

/** What a write request says about its writer (query parameters and headers). */
export interface WriteContext {
  /** `fieldManager` query parameter. */
  fieldManager?: string | undefined;
  /** `force` query parameter (apply only). */
  force?: string | null | undefined;
  /** User-Agent header: the manager when `fieldManager` is absent. */
  userAgent?: string | undefined;
  /** `fieldValidation` query parameter: Strict, Warn (the default) or Ignore. */
  fieldValidation?: string | undefined;
  /** Warnings for the response's `Warning` header (unknown fields under fieldValidation=Warn). */
  warnings?: string[];
  /** A patch (its strict decoding errors are not wrapped in "cannot be handled as"). */
  patch?: boolean;
  /** Set by the apply path: managedFields are already computed. */
  applied?: boolean;
}

/** Marks the result of an apply that created the object (answered 201 Created, as patch.go's applyPatcher does). */
export const CREATED = Symbol('created');

export const APPLY_PATCH_TYPES = ['application/apply-patch+yaml', 'application/apply-patch+json', 'application/apply-patch+cbor'];

/** The PatchOptions checks the real server makes before any patch. */
export function checkPatchOptions(patchType: string, fieldManager: string | undefined, force: string | null | undefined): void {
  const causes: StatusCause[] = [];
  const apply = APPLY_PATCH_TYPES.includes(patchType);
  if (!apply && force != null)
    causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified for non-apply patch', field: 'force' });
  if (apply && !fieldManager)
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' });
  if (fieldManager && fieldManager.length > 128) {
    causes.push({ reason: 'FieldValueTooLong', message: 'Too long: may not be more than 128 bytes', field: 'fieldManager' });
  }
  if (causes.length) throw errors.invalid('PatchOptions', 'meta.k8s.io', '', causes);
}

export function decodeApplyBody(text: string): Record<string, any> {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw errors.badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw errors.badRequest('error decoding YAML: the applied configuration is not an object');
  return parsed as Record<string, any>;
}

const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Field names along a path, list items left out (what the list shapes are keyed by). */
function keyFields(token: string): Record<string, unknown> | undefined {
  return token.startsWith('k:') ? (JSON.parse(token.slice(2)) as Record<string, unknown>) : undefined;
}

function matchesKey(item: unknown, key: Record<string, unknown>): boolean {
  return isObject(item) && Object.entries(key).every(([k, v]) => deepEqual(item[k] ?? (k === 'protocol' ? 'TCP' : undefined), v));
}

/** live ⊕ config (typed/merge.go): objects merge field by field, lists keyed in the field set merge by key, the rest is replaced. */
function merge(live: unknown, config: unknown, keyedLists: Map<string, string[]>, path: string[]): unknown {
  if (isObject(live) && isObject(config)) {
    const out: Record<string, unknown> = { ...live };
    for (const [k, v] of Object.entries(config)) out[k] = merge(live[k], v, keyedLists, [...path, k]);
    return out;
  }
  const keys = keyedLists.get(path.join('.'));
  if (keys && Array.isArray(live) && Array.isArray(config)) {
    const out = deepCopy(live);
    for (const item of config) {
      const key = Object.fromEntries(keys.map((k) => [k, (item as any)?.[k] ?? (k === 'protocol' ? 'TCP' : undefined)]));
      const i = out.findIndex((x) => matchesKey(x, key));
      if (i >= 0) out[i] = merge(out[i], item, keyedLists, path);
      else out.push(deepCopy(item));
    }
    return out;
  }
  return deepCopy(config);
}

/** Removes one owned path from an object (a field, a keyed list item, a set value). */
function removePath(obj: Record<string, any>, path: FieldPath): void {
  let node: any = obj;
  for (let i = 0; i < path.length; i++) {
    const token = path[i]!;
    const last = i === path.length - 1;
    if (token.startsWith('f:')) {
      if (!isObject(node)) return;
      const name = token.slice(2);
      if (last) delete node[name];
      else node = node[name];
    } else if (token.startsWith('k:') || token.startsWith('v:')) {
      if (!Array.isArray(node)) return;
      const idx = token.startsWith('k:')
        ? node.findIndex((x) => matchesKey(x, keyFields(token)!))
        : node.findIndex((x) => deepEqual(x, JSON.parse(token.slice(2))));
      if (idx < 0) return;
      if (last) node.splice(idx, 1);
      else node = node[idx];
    } else {
      return;
    }
  }
}

/** The dotted field-name paths of the keyed lists a field set mentions (with their key names). */
function keyedListsOf(set: FieldSet): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of set.paths()) {
    const names: string[] = [];
    for (const token of p) {
      if (token.startsWith('f:')) names.push(token.slice(2));
      else if (token.startsWith('k:')) out.set(names.join('.'), Object.keys(keyFields(token)!));
    }
  }
  return out;
}

function conflictManager(m: Manager): string {
  // conflict.go printManager: Update entries name their apiVersion and time, Apply entries only the manager.
  const name = JSON.stringify(m.manager) + (m.subresource ? ` with subresource ${JSON.stringify(m.subresource)}` : '');
  return m.operation === 'Update' ? `${name} using ${m.apiVersion} at ${m.time}` : name;
}

function conflictError(conflicts: { manager: Manager; path: FieldPath }[]): ApiError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${conflictManager(c.manager)}`,
    field: pathString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${conflictManager(conflicts[0]!.manager)}: ${pathString(conflicts[0]!.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const name = conflictManager(c.manager);
      byManager.set(name, [...(byManager.get(name) ?? []), pathString(c.path)]);
    }
    const lines: string[] = [];
    for (const name of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${name}:`);
      for (const p of byManager.get(name)!) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}

/**
 * The object after applying `config` as `manager`, with its managedFields; throws the 409 conflict
 * unless `force`. `live` is undefined when the object does not exist yet (apply creates it).
 */
export function serverSideApply(args: {
  type: ResourceType;
  apiVersion: string;
  live: KubeObject | undefined;
  config: Record<string, any>;
  manager: string;
  force: boolean;
  subresource?: string | undefined;
}): KubeObject {
  const { type: t, live, config, manager } = args;
  const hasStatus = t.subresources.includes('status');
  const applied = fieldSetOf(t.kind, config, args.subresource, hasStatus);
  const managers = decodeEntries(live?.metadata.managedFields);
  const me = { manager, operation: 'Apply' as const, apiVersion: args.apiVersion, subresource: args.subresource };
  const mine = managers.find((m) => sameManager(m, me));
  const previously = mine?.set ?? new FieldSet();

  const base: Record<string, any> = live ? deepCopy(live) : { metadata: {} };
  const keyed = keyedListsOf(applied.union(previously));
  const configBody = deepCopy(config);
  if (isObject(configBody.metadata)) {
    delete configBody.metadata.managedFields;
    delete configBody.metadata.resourceVersion;
  }
  const merged = merge(base, configBody, keyed, []) as KubeObject;

  // Conflicts: what this apply adds or changes that another manager owns (merge/update.go).
  const { changed } = compare(t.kind, live, merged, args.subresource, hasStatus);
  const conflicts: { manager: Manager; path: FieldPath }[] = [];
  for (const m of managers) {
    if (m === mine) continue;
    for (const p of m.set.intersect(changed).paths()) conflicts.push({ manager: m, path: p });
  }
  if (conflicts.length > 0 && !args.force) throw conflictError(conflicts);
  for (const c of conflicts) c.manager.set = c.manager.set.minus(FieldSet.of([c.path]));

  // Fields applied before, no longer applied, and owned by nobody else are removed (merge/update.go prune).
  const others = managers.filter((m) => m !== mine).reduce((s, m) => s.union(m.set), new FieldSet());
  const dropped = previously.minus(applied).minus(others);
  // Deepest paths first, so that a list item's fields go before the item.
  for (const p of dropped.paths().sort((a, b) => b.length - a.length)) removePath(merged, p);

  // A no-op apply keeps the entry's time (IgnoreManagedFieldsTimestampsTransformer).
  const unchanged =
    !!mine &&
    changed.size === 0 &&
    conflicts.length === 0 &&
    dropped.size === 0 &&
    applied.minus(previously).size === 0 &&
    previously.minus(applied).size === 0;
  const next = managers.filter((m) => m !== mine);
  next.push({ ...me, time: unchanged ? mine!.time : nowTimestamp(), set: applied });
  merged.metadata.managedFields = encodeEntries(next);
  return merged;
}
