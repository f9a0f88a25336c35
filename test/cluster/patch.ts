/**
 * The three patch formats the API server accepts:
 *  - JSON patch (RFC 6902), including `test`
 *  - JSON merge patch (RFC 7386)
 *  - strategic merge patch (built-in kinds only): lists merged by their patch merge key,
 *    with the `$patch`, `$setElementOrder/`, `$deleteFromPrimitiveList/` and `$retainKeys` directives.
 */
import { ApiError } from './status.js';
import { deepCopy, deepEqual } from './store.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** Errors from applying a JSON patch: the server answers 422 with the patch library's message as the cause. */
function patchApplyError(message: string): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    causes: [{ reason: 'UnexpectedServerResponse', message }],
  });
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------- JSON patch (RFC 6902) ----------

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchApplyError(`invalid JSON pointer: "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: any, tokens: string[]): { found: boolean; value?: any } {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      const i = Number(t);
      if (!/^\d+$/.test(t) || i >= cur.length) return { found: false };
      cur = cur[i];
    } else if (isObject(cur) && Object.hasOwn(cur, t)) {
      cur = cur[t];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: cur };
}

function parentOf(doc: any, tokens: string[], op: string, path: string): { parent: any; key: string } {
  const parentTokens = tokens.slice(0, -1);
  const p = getAt(doc, parentTokens);
  if (!p.found || typeof p.value !== 'object' || p.value === null) {
    throw patchApplyError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return { parent: p.value, key: tokens[tokens.length - 1]! };
}

function addAt(doc: any, path: string, value: any, op = 'add'): any {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, op, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!/^(\d+|-)$/.test(key) || i > parent.length)
      throw patchApplyError(`Unable to access invalid index: ${key}: invalid index referenced`);
    parent.splice(i, 0, value);
  } else {
    parent[key] = value;
  }
  return doc;
}

function removeAt(doc: any, path: string, op = 'remove'): { doc: any; removed: any } {
  const tokens = parsePointer(path);
  const { parent, key } = parentOf(doc, tokens, op, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!/^\d+$/.test(key) || i >= parent.length) throw patchApplyError(`Unable to access invalid index: ${key}: invalid index referenced`);
    return { doc, removed: parent.splice(i, 1)[0] };
  }
  if (!Object.hasOwn(parent, key)) {
    throw patchApplyError(`${op} operation does not apply: doc is missing key: ${path}: missing value`);
  }
  const removed = parent[key];
  delete parent[key];
  return { doc, removed };
}

export function applyJsonPatch(original: any, ops: unknown): any {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = deepCopy(original);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string') throw patchApplyError('Unexpected kind: unknown');
    const op = raw.op;
    const path = String(raw.path ?? '');
    switch (op) {
      case 'add':
        doc = addAt(doc, path, deepCopy(raw.value));
        break;
      case 'remove':
        doc = removeAt(doc, path).doc;
        break;
      case 'replace': {
        const tokens = parsePointer(path);
        if (tokens.length === 0) {
          doc = deepCopy(raw.value);
          break;
        }
        if (!getAt(doc, tokens).found) {
          throw patchApplyError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
        }
        const { parent, key } = parentOf(doc, tokens, 'replace', path);
        parent[Array.isArray(parent) ? Number(key) : key] = deepCopy(raw.value);
        break;
      }
      case 'move': {
        const from = String(raw.from ?? '');
        const r = removeAt(doc, from, 'move');
        doc = addAt(r.doc, path, r.removed, 'move');
        break;
      }
      case 'copy': {
        const from = String(raw.from ?? '');
        const src = getAt(doc, parsePointer(from));
        if (!src.found) throw patchApplyError(`copy operation does not apply: doc is missing from path: ${from}: missing value`);
        doc = addAt(doc, path, deepCopy(src.value), 'copy');
        break;
      }
      case 'test': {
        const cur = getAt(doc, parsePointer(path));
        const expected = raw.value;
        const ok = cur.found ? deepEqual(cur.value, expected) : expected === null || expected === undefined;
        if (!ok) throw patchApplyError(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw patchApplyError(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

// ---------- JSON merge patch (RFC 7386) ----------

export function applyMergePatch(target: any, patch: any): any {
  if (!isObject(patch)) return deepCopy(patch);
  const result: Record<string, any> = isObject(target) ? deepCopy(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// ---------- strategic merge patch ----------

type ListStrategy = { kind: 'merge'; key: string } | { kind: 'primitiveMerge' } | { kind: 'replace' };

/** Patch strategy of a list field, from the Go struct tags of the built-in types. */
function listStrategy(path: string[], field: string): ListStrategy {
  const parent = path[path.length - 1];
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
      return { kind: 'merge', key: 'name' };
    case 'ports':
      // container ports merge by containerPort, service ports by port
      return path.some((p) => p === 'containers' || p === 'initContainers' || p === 'ephemeralContainers')
        ? { kind: 'merge', key: 'containerPort' }
        : { kind: 'merge', key: 'port' };
    case 'volumeMounts':
      return { kind: 'merge', key: 'mountPath' };
    case 'volumeDevices':
      return { kind: 'merge', key: 'devicePath' };
    case 'conditions':
      return { kind: 'merge', key: 'type' };
    case 'hostAliases':
      return { kind: 'merge', key: 'ip' };
    case 'ownerReferences':
      return parent === 'metadata' ? { kind: 'merge', key: 'uid' } : { kind: 'replace' };
    case 'topologySpreadConstraints':
      return { kind: 'merge', key: 'topologyKey' };
    case 'finalizers':
      return parent === 'metadata' ? { kind: 'primitiveMerge' } : { kind: 'replace' };
    default:
      return { kind: 'replace' };
  }
}

function smpError(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function applyStrategicMergePatch(original: any, patch: any): any {
  if (!isObject(patch)) throw smpError('json: cannot unmarshal array into Go value of type map[string]interface {}');
  return mergeMap(isObject(original) ? original : {}, patch, []);
}

function mergeMap(original: Record<string, any>, patch: Record<string, any>, path: string[]): Record<string, any> {
  const directive = patch['$patch'];
  if (directive === 'replace') {
    const copy = deepCopy(patch);
    delete copy['$patch'];
    return stripDirectives(copy);
  }
  if (directive === 'delete') return {};
  const result: Record<string, any> = deepCopy(original);

  const retainKeys = patch['$retainKeys'];
  if (Array.isArray(retainKeys)) {
    for (const key of Object.keys(result)) if (!retainKeys.includes(key)) delete result[key];
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith('$setElementOrder/')) continue; // handled after the field merge below
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(result[field]) && Array.isArray(value)) {
        result[field] = result[field].filter((x: unknown) => !value.some((v) => deepEqual(v, x)));
      }
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const cur = result[key];
    if (Array.isArray(value)) {
      result[key] = mergeList(Array.isArray(cur) ? cur : [], value, [...path, key], key);
    } else if (isObject(value)) {
      result[key] = mergeMap(isObject(cur) ? cur : {}, value, [...path, key]);
    } else {
      result[key] = value;
    }
  }

  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const field = key.slice('$setElementOrder/'.length);
    const list = result[field];
    if (!Array.isArray(list)) continue;
    const strategy = listStrategy(path, field);
    result[field] = reorder(list, order, strategy);
  }
  return result;
}

function reorder(list: any[], order: any[], strategy: ListStrategy): any[] {
  const keyOf = (item: any) => (strategy.kind === 'merge' && isObject(item) ? item[strategy.key] : item);
  const orderKeys = order.map((o) => keyOf(o));
  const indexOf = (item: any) => orderKeys.findIndex((k) => deepEqual(k, keyOf(item)));
  const inOrder = list.filter((x) => indexOf(x) >= 0).sort((a, b) => indexOf(a) - indexOf(b));
  const rest = list.filter((x) => indexOf(x) < 0);
  return [...inOrder, ...rest];
}

function mergeList(original: any[], patch: any[], path: string[], field: string): any[] {
  const strategy = listStrategy(path.slice(0, -1), field);
  if (strategy.kind === 'replace') {
    // A `$patch: replace` element or a plain list: the patch list replaces the original.
    return stripDirectives(deepCopy(patch.filter((x) => !(isObject(x) && x['$patch'] === 'replace'))));
  }
  if (strategy.kind === 'primitiveMerge') {
    const out = [...original];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(v);
    return out;
  }
  const key = strategy.key;
  if (patch.some((x) => isObject(x) && x['$patch'] === 'replace')) {
    return stripDirectives(deepCopy(patch.filter((x) => !(isObject(x) && x['$patch'] === 'replace'))));
  }
  const out = deepCopy(original);
  for (const item of patch) {
    if (!isObject(item)) throw smpError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    if (!(key in item)) throw smpError(`map: map[${Object.keys(item).join(' ')}] does not contain declared merge key: ${key}`);
    const idx = out.findIndex((x: any) => isObject(x) && deepEqual(x[key], item[key]));
    if (item['$patch'] === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = mergeMap(out[idx], item, path);
    else out.push(mergeMap({}, item, path));
  }
  return out;
}

function stripDirectives<T>(value: T): T {
  if (Array.isArray(value)) return value.map(stripDirectives) as T;
  if (isObject(value)) {
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith('$')) continue;
      out[k] = stripDirectives(v);
    }
    return out as T;
  }
  return value;
}
