/**
 * Field ownership (`metadata.managedFields`) as the kube-apiserver keeps it: field sets in the
 * FieldsV1 format (`f:` fields, `k:` list items keyed by their map keys, `v:` set values, `.` for
 * a node that is itself owned), one entry per manager and operation, updated on every write.
 *
 * Sources: kubernetes-sigs/structured-merge-diff fieldpath/serialize.go (FieldsV1 encoding),
 * fieldpath/path.go and pathelement.go (`.spec.http`, `[name="web"]`), merge/update.go (Update
 * takes the fields it changes from every other manager; Apply conflicts), typed/compare.go;
 * k8s.io/apimachinery/pkg/util/managedfields/internal: fieldmanager.go, managedfields.go
 * (entries sorted Apply before Update, then by time), stripmeta.go (apiVersion, kind, name,
 * namespace, uid, resourceVersion, generation, creationTimestamp, managedFields never owned),
 * conflict.go (the 409 message), and handlers/rest.go `managerOrUserAgent`.
 */
import { deepEqual, nowTimestamp } from './store.js';
import { apiVersionOf, type ResourceType } from './resources.js';

/** One step of a field path, as FieldsV1 spells it: `f:name`, `k:{"name":"web"}`, `v:"x"`, `i:0`. */
export type Token = string;
export type FieldPath = Token[];

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** A set of field paths. */
export class FieldSet {
  private readonly items = new Map<string, FieldPath>();

  static of(paths: Iterable<FieldPath>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.add(p);
    return s;
  }

  add(path: FieldPath): void {
    this.items.set(JSON.stringify(path), path);
  }

  has(path: FieldPath): boolean {
    return this.items.has(JSON.stringify(path));
  }

  get size(): number {
    return this.items.size;
  }

  paths(): FieldPath[] {
    return [...this.items.values()];
  }

  union(other: FieldSet): FieldSet {
    return FieldSet.of([...this.paths(), ...other.paths()]);
  }

  minus(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => !other.has(p)));
  }

  intersect(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => other.has(p)));
  }
}

// ---- the shape of lists and structs (what the schemas say) ----

type ListShape = { type: 'map'; keys: string[] } | { type: 'set' } | { type: 'atomic' };

/**
 * Associative lists of the built-in kinds (k8s.io/api core/v1 and apps/v1 types.go:
 * `+listType=map +listMapKey=...`), by the field names leading to them, list items left out.
 * Custom resources: Argo Rollouts, Istio and Gateway API CRDs declare no `x-kubernetes-list-type`
 * on the lists we touch (spec.http, route, spec.rules, backendRefs), so those lists are atomic:
 * structured-merge-diff treats a list without list type as atomic (schemaconv, "atomic" default).
 */
const POD_SPEC_LISTS: Record<string, ListShape> = {
  containers: { type: 'map', keys: ['name'] },
  initContainers: { type: 'map', keys: ['name'] },
  ephemeralContainers: { type: 'map', keys: ['name'] },
  volumes: { type: 'map', keys: ['name'] },
  'containers.ports': { type: 'map', keys: ['containerPort', 'protocol'] },
  'containers.env': { type: 'map', keys: ['name'] },
  'containers.volumeMounts': { type: 'map', keys: ['mountPath'] },
  'initContainers.ports': { type: 'map', keys: ['containerPort', 'protocol'] },
  'initContainers.env': { type: 'map', keys: ['name'] },
  'initContainers.volumeMounts': { type: 'map', keys: ['mountPath'] },
};

const POD_SPEC_AT: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
};

/** Maps whose keys are data, not fields (granular maps): added whole, the map itself is owned too (`.`). */
const GRANULAR_MAPS = new Set(['labels', 'annotations', 'matchLabels', 'nodeSelector', 'data', 'binaryData', 'rollingUpdate']);

function listShape(kind: string, names: string[]): ListShape {
  const joined = names.join('.');
  if (joined === 'metadata.ownerReferences') return { type: 'map', keys: ['uid'] };
  if (joined === 'metadata.finalizers') return { type: 'set' };
  if (names[0] === 'status' && names[names.length - 1] === 'conditions' && ['Deployment', 'ReplicaSet', 'Pod'].includes(kind)) {
    return { type: 'map', keys: ['type'] };
  }
  if (kind === 'Service' && joined === 'spec.ports') return { type: 'map', keys: ['port', 'protocol'] };
  const podSpec = POD_SPEC_AT[kind];
  if (podSpec?.every((n, i) => names[i] === n)) {
    const rest = names.slice(podSpec.length).join('.');
    if (POD_SPEC_LISTS[rest]) return POD_SPEC_LISTS[rest]!;
  }
  return { type: 'atomic' };
}

/** Structs owned as a whole (`+structType=atomic`): LabelSelector in apps/v1. */
function atomicStruct(kind: string, names: string[]): boolean {
  return ['Deployment', 'ReplicaSet'].includes(kind) && names.join('.') === 'spec.selector';
}

/** Never owned by anyone (stripmeta.go); status goes with the status subresource only. */
const STRIPPED_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
]);

/** The parts of an object a write on `subresource` may own: everything but status, or status alone. */
function ownable(obj: Record<string, any>, subresource: string | undefined, hasStatusSubresource: boolean): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (subresource === 'status' ? k !== 'status' : k === 'status' && hasStatusSubresource) continue;
    if (k === 'metadata' && v && typeof v === 'object') {
      if (subresource === 'status') continue;
      const meta = Object.fromEntries(Object.entries(v).filter(([mk]) => !STRIPPED_META.has(mk)));
      if (Object.keys(meta).length > 0) out.metadata = meta;
      continue;
    }
    out[k] = v;
  }
  return out;
}

// ---- tokens ----

const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Key fields of an associative list item; a missing `protocol` key defaults to TCP as the OpenAPI schema says. */
function keyOf(item: unknown, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [...keys].sort()) {
    const v = isObject(item) ? item[k] : undefined;
    out[k] = v === undefined && k === 'protocol' ? 'TCP' : v;
  }
  return out;
}

function keyToken(item: unknown, keys: string[]): Token {
  return `k:${JSON.stringify(keyOf(item, keys))}`;
}

/** `.spec.http`, `.spec.template.spec.containers[name="web"].image`, `.metadata.finalizers[="x"]`, `[0]`. */
export function pathString(path: FieldPath): string {
  return path
    .map((t) => {
      const body = t.slice(2);
      if (t.startsWith('f:')) return `.${body}`;
      if (t.startsWith('k:')) {
        const key = JSON.parse(body) as Record<string, unknown>;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      if (t.startsWith('v:')) return `[=${body}]`;
      return `[${body}]`;
    })
    .join('');
}

// ---- field sets of objects ----

interface Walk {
  kind: string;
  /** Mark added granular maps as owned themselves (`.`), as Update entries show. */
  markMaps: boolean;
}

function collect(w: Walk, value: unknown, path: FieldPath, names: string[], out: FieldSet): void {
  if (isObject(value) && !atomicStruct(w.kind, names)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    if (keys.length === 0 || (w.markMaps && GRANULAR_MAPS.has(names[names.length - 1] ?? ''))) out.add(path);
    for (const k of keys) collect(w, value[k], [...path, `f:${k}`], [...names, k], out);
    return;
  }
  if (Array.isArray(value)) {
    const shape = listShape(w.kind, names);
    if (shape.type === 'map') {
      for (const item of value) {
        const itemPath = [...path, keyToken(item, shape.keys)];
        out.add(itemPath);
        if (isObject(item)) for (const [k, v] of Object.entries(item)) collect(w, v, [...itemPath, `f:${k}`], [...names, k], out);
      }
      return;
    }
    if (shape.type === 'set') {
      for (const item of value) out.add([...path, `v:${JSON.stringify(item)}`]);
      return;
    }
  }
  out.add(path);
}

/** Every field an applied configuration sets (structured-merge-diff `TypedValue.ToFieldSet`). */
export function fieldSetOf(
  kind: string,
  obj: Record<string, any>,
  subresource: string | undefined,
  hasStatusSubresource: boolean,
): FieldSet {
  const out = new FieldSet();
  const w: Walk = { kind, markMaps: false };
  for (const [k, v] of Object.entries(ownable(obj, subresource, hasStatusSubresource))) collect(w, v, [`f:${k}`], [k], out);
  return out;
}

/** What changed from `before` to `after`: fields added or modified, and fields removed (typed/compare.go). */
export function compare(
  kind: string,
  before: Record<string, any> | undefined,
  after: Record<string, any>,
  subresource: string | undefined,
  hasStatusSubresource: boolean,
): { changed: FieldSet; removed: FieldSet } {
  const changed = new FieldSet();
  const removed = new FieldSet();
  const w: Walk = { kind, markMaps: true };
  const walk = (a: unknown, b: unknown, path: FieldPath, names: string[]): void => {
    if (b === undefined) {
      if (a !== undefined) collect(w, a, path, names, removed);
      return;
    }
    if (a === undefined) {
      collect(w, b, path, names, changed);
      return;
    }
    if (isObject(a) && isObject(b) && !atomicStruct(kind, names)) {
      if (Object.keys(b).length === 0 && Object.keys(a).length > 0) changed.add(path);
      for (const k of Object.keys(b)) walk(a[k], b[k], [...path, `f:${k}`], [...names, k]);
      for (const k of Object.keys(a)) if (!(k in b)) walk(a[k], undefined, [...path, `f:${k}`], [...names, k]);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      const shape = listShape(kind, names);
      if (shape.type === 'map') {
        const byKey = (list: unknown[]) => new Map(list.map((item) => [keyToken(item, shape.keys), item]));
        const la = byKey(a);
        const lb = byKey(b);
        for (const [token, item] of lb) {
          const prev = la.get(token);
          const itemPath = [...path, token];
          if (prev === undefined) {
            changed.add(itemPath);
            if (isObject(item)) for (const [k, v] of Object.entries(item)) collect(w, v, [...itemPath, `f:${k}`], [...names, k], changed);
          } else if (isObject(prev) && isObject(item)) {
            for (const k of Object.keys(item)) walk(prev[k], item[k], [...itemPath, `f:${k}`], [...names, k]);
            for (const k of Object.keys(prev)) if (!(k in item)) walk(prev[k], undefined, [...itemPath, `f:${k}`], [...names, k]);
          }
        }
        for (const [token, item] of la) {
          if (lb.has(token)) continue;
          removed.add([...path, token]);
          if (isObject(item)) for (const [k, v] of Object.entries(item)) collect(w, v, [...path, token, `f:${k}`], [...names, k], removed);
        }
        return;
      }
      if (shape.type === 'set') {
        for (const v of b) if (!a.some((x) => deepEqual(x, v))) changed.add([...path, `v:${JSON.stringify(v)}`]);
        for (const v of a) if (!b.some((x) => deepEqual(x, v))) removed.add([...path, `v:${JSON.stringify(v)}`]);
        return;
      }
    }
    if (!deepEqual(a, b)) {
      // A type change (e.g. object to scalar) removes the old subtree and adds the new value.
      if (isObject(a) || Array.isArray(a)) collect(w, a, path, names, removed);
      collect(w, b, path, names, changed);
    }
  };
  const oa = before ? ownable(before, subresource, hasStatusSubresource) : {};
  const ob = ownable(after, subresource, hasStatusSubresource);
  for (const k of new Set([...Object.keys(oa), ...Object.keys(ob)])) walk(oa[k], ob[k], [`f:${k}`], [k]);
  // A path both removed and re-added (type change) is changed, not removed.
  return { changed, removed: removed.minus(changed) };
}

// ---- FieldsV1 encoding ----

/** Nested FieldsV1 (fieldpath/serialize.go): a leaf is `{}`, a node owned itself and with children has `".": {}`. */
export function toFieldsV1(set: FieldSet): Record<string, unknown> {
  const root: Record<string, any> = {};
  const members = new Set(set.paths().map((p) => JSON.stringify(p)));
  for (const path of set.paths()) {
    let node = root;
    for (const token of path) node = node[token] ??= {};
  }
  // Mark interior nodes that are members themselves.
  const mark = (node: Record<string, any>, path: FieldPath): void => {
    const children = Object.keys(node);
    if (children.length > 0 && members.has(JSON.stringify(path)) && path.length > 0) node['.'] = {};
    for (const c of children) mark(node[c], [...path, c]);
  };
  mark(root, []);
  return sortKeys(root);
}

function sortKeys(node: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const k of Object.keys(node).sort()) out[k] = sortKeys(node[k]);
  return out;
}

export function fromFieldsV1(fields: unknown): FieldSet {
  const set = new FieldSet();
  const walk = (node: unknown, path: FieldPath): void => {
    if (!isObject(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 0 && path.length > 0) set.add(path);
    for (const k of keys) {
      if (k === '.') set.add(path);
      else walk(node[k], [...path, k]);
    }
  };
  walk(fields, []);
  return set;
}

// ---- entries ----

export interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string | undefined;
  time: string;
  set: FieldSet;
}

export function decodeEntries(entries: unknown): Manager[] {
  if (!Array.isArray(entries)) return [];
  return entries
    .filter((e): e is ManagedFieldsEntry => isObject(e) && typeof e.manager === 'string')
    .map((e) => ({
      manager: e.manager,
      operation: e.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: e.apiVersion,
      ...(e.subresource ? { subresource: e.subresource } : {}),
      time: e.time,
      set: fromFieldsV1(e.fieldsV1),
    }));
}

/** Entries with something owned, sorted as managedfields.go sorts them (operation, time, manager, apiVersion). */
export function encodeEntries(managers: Manager[]): ManagedFieldsEntry[] {
  return managers
    .filter((m) => m.set.size > 0)
    .sort((p, q) =>
      p.operation !== q.operation
        ? p.operation < q.operation
          ? -1
          : 1
        : p.time !== q.time
          ? p.time < q.time
            ? -1
            : 1
          : p.manager !== q.manager
            ? p.manager < q.manager
              ? -1
              : 1
            : p.apiVersion < q.apiVersion
              ? -1
              : p.apiVersion > q.apiVersion
                ? 1
                : 0,
    )
    .map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(m.set),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    }));
}

/** Whether two entries are the same manager (BuildManagerIdentifier: Update entries are per apiVersion, Apply entries are not). */
export function sameManager(a: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>, b: typeof a): boolean {
  return (
    a.manager === b.manager &&
    a.operation === b.operation &&
    (a.subresource ?? '') === (b.subresource ?? '') &&
    (a.operation === 'Apply' || a.apiVersion === b.apiVersion)
  );
}

/**
 * The manager of a non-apply write: the `fieldManager` parameter, else the User-Agent up to its
 * first `/` (handlers/rest.go managerOrUserAgent / prefixFromUserAgent), at most 128 characters.
 */
export function managerOf(fieldManager: string | null | undefined, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  return (userAgent ?? '')
    .split('/')[0]!
    .replace(/[^\x20-\x7e]/g, '')
    .slice(0, 128);
}

/**
 * managedFields after a create, update or patch (operation Update): the writer owns what it
 * changed; every other manager loses those fields (merge/update.go: an update never conflicts).
 */
export function recordUpdate(args: {
  kind: string;
  hasStatusSubresource: boolean;
  before: Record<string, any> | undefined;
  after: Record<string, any>;
  manager: string;
  apiVersion: string;
  subresource?: string | undefined;
}): ManagedFieldsEntry[] {
  const { changed, removed } = compare(args.kind, args.before, args.after, args.subresource, args.hasStatusSubresource);
  const managers = decodeEntries(args.after.metadata?.managedFields);
  const me = { manager: args.manager, operation: 'Update' as const, apiVersion: args.apiVersion, subresource: args.subresource };
  let mine = managers.find((m) => sameManager(m, me));
  for (const m of managers) if (m !== mine) m.set = m.set.minus(changed).minus(removed);
  if ((changed.size > 0 || mine) && args.manager) {
    if (!mine) managers.push((mine = { ...me, time: nowTimestamp(), set: new FieldSet() }));
    mine.set = mine.set.union(changed).minus(removed);
    if (changed.size > 0) mine.time = nowTimestamp();
  }
  return encodeEntries(managers);
}

/**
 * The managedFields a non-apply write stores, set on `after`. managedFields sent by the client
 * replace the live ones, except an empty list (kept: clients unaware of the field must not strip
 * it); `[{}]` strips them (documented in "Server-Side Apply", "Clearing managedFields").
 * Writes without a request context (test setup) only keep the live entries.
 */
export function trackManagedFields(
  t: ResourceType,
  version: string,
  before: Record<string, any> | undefined,
  after: Record<string, any>,
  ctx: { fieldManager?: string | undefined; userAgent?: string | undefined; applied?: boolean } | undefined,
  subresource?: string,
): void {
  if (ctx?.applied) return;
  const given = after.metadata?.managedFields;
  if (Array.isArray(given) && given.length === 1 && isObject(given[0]) && Object.keys(given[0]).length === 0) {
    delete after.metadata.managedFields;
    return;
  }
  if (given === undefined || (Array.isArray(given) && given.length === 0)) {
    if (before?.metadata?.managedFields) after.metadata.managedFields = before.metadata.managedFields;
    else delete after.metadata.managedFields;
  }
  if (!ctx) return;
  const manager = managerOf(ctx.fieldManager, ctx.userAgent);
  const entries = recordUpdate({
    kind: t.kind,
    hasStatusSubresource: t.subresources.includes('status'),
    before,
    after,
    manager,
    apiVersion: apiVersionOf(t.group, version),
    subresource,
  });
  if (entries.length > 0) after.metadata.managedFields = entries;
  else delete after.metadata.managedFields;
}
