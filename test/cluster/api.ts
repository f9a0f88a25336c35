/**
 * Resource operations with the real API server's semantics (create, get, list,
 * update, patch, delete, scale), independent of HTTP. Both the HTTP router and
 * the test helpers call these.
 */
import { randomBytes } from 'node:crypto';
import { ApiError, errors } from './status.js';
import { apiVersionOf, RESOURCE_TYPES, type ResourceType } from './resources.js';
import { deepCopy, type KubeObject, type Store } from './store.js';
import { applyDefaults } from './defaults.js';
import { validateObject } from './validation.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PATCH_TYPES } from './patch.js';
import { parseFieldSelector, parseLabelSelector, labelSelectorToString } from './selectors.js';
import { APPLY_PATCH_TYPES, CREATED, checkPatchOptions, decodeApplyBody, serverSideApply, type WriteContext } from './apply.js';
import { trackManagedFields } from './managed-fields.js';
import { admitFields } from './schemas.js';

export interface Target {
  type: ResourceType;
  version: string;
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}

export interface ListOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  /** Page size (`limit`); 0 or absent: everything. */
  limit?: number | undefined;
  /** `continue` token from the previous page. */
  continue?: string | null;
}

/** Continue tokens as the apiserver's storage encodes them: base64 JSON of the list's resourceVersion and the next key. */
function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (parsed?.v === 'meta.k8s.io/v1' && Number.isInteger(parsed.rv) && typeof parsed.start === 'string') return parsed;
  } catch {
    // fall through
  }
  throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

export function withVersion(t: ResourceType, version: string, obj: KubeObject): KubeObject {
  const out = deepCopy(obj);
  out.apiVersion = apiVersionOf(t.group, version);
  out.kind = t.kind;
  return out;
}

function generateNameSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Decoding into the server's types drops explicit nulls (e.g. `creationTimestamp: null` from kubectl). */
export function dropNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map(dropNulls) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== null) out[k] = dropNulls(v);
    return out as T;
  }
  return value;
}

/** Secret.stringData is write-only: the server folds it into .data. */
function normalizeSecret(obj: KubeObject): void {
  if (obj.kind !== 'Secret' || !obj.stringData) return;
  obj.data = { ...(obj.data ?? {}) };
  for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
  delete obj.stringData;
}

export class Api {
  private readonly typeByKind = new Map<string, ResourceType>();

  constructor(readonly store: Store) {
    for (const t of RESOURCE_TYPES) this.typeByKind.set(t.kind, t);
  }

  private prepareBody(target: Target, body: any, verb: 'create' | 'update'): KubeObject {
    const t = target.type;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw errors.badRequest(`the body of the request was in an unknown format`);
    }
    const obj = dropNulls(body) as KubeObject;
    const expected = apiVersionOf(t.group, target.version);
    if (obj.apiVersion !== undefined && obj.apiVersion !== expected) {
      throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`);
    }
    if (obj.kind !== undefined && obj.kind !== t.kind) {
      throw errors.badRequest(
        `${t.kind} in version "${target.version}" cannot be handled as a ${t.kind}: kind "${obj.kind}" does not match`,
      );
    }
    obj.apiVersion = apiVersionOf(t.group, t.versions[0]!);
    obj.kind = t.kind;
    obj.metadata = obj.metadata && typeof obj.metadata === 'object' ? obj.metadata : ({} as any);
    if (t.namespaced) {
      if (obj.metadata.namespace && target.namespace && obj.metadata.namespace !== target.namespace) {
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = target.namespace ?? obj.metadata.namespace;
    }
    if (verb === 'create' && !obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = `${obj.metadata.generateName}${generateNameSuffix()}`;
    }
    if (verb === 'update' && target.name && obj.metadata.name && obj.metadata.name !== target.name) {
      throw errors.badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${target.name})`);
    }
    if (verb === 'update' && target.name) obj.metadata.name = target.name;
    normalizeSecret(obj);
    return obj;
  }

  private requireNamespace(target: Target): void {
    if (!target.type.namespaced || !target.namespace) return;
    const nsType = this.nsType();
    if (!this.store.peek(nsType, undefined, target.namespace)) {
      throw new ApiError(404, 'NotFound', `namespaces "${target.namespace}" not found`, { name: target.namespace, kind: 'namespaces' });
    }
  }

  private nsType(): ResourceType {
    return this.typeOf('Namespace');
  }

  private typeOf(kind: string): ResourceType {
    const t = this.typeByKind.get(kind);
    if (!t) throw new Error(`unknown kind ${kind}`);
    return t;
  }

  get(target: Target): KubeObject {
    const t = target.type;
    const obj = this.store.peek(t, target.namespace, target.name!);
    if (!obj) throw errors.notFound(t.plural, t.group, target.name!);
    if (target.subresource === 'scale') return this.toScale(target, obj);
    return withVersion(t, target.version, obj);
  }

  list(target: Target, opts: ListOptions = {}): { apiVersion: string; kind: string; metadata: any; items: KubeObject[] } {
    const t = target.type;
    const labelMatch = parseLabelSelector(opts.labelSelector);
    const fieldMatch = parseFieldSelector(opts.fieldSelector);
    const items = this.store
      .list(t, t.namespaced ? target.namespace : undefined)
      .filter((o) => labelMatch(o.metadata.labels) && fieldMatch(o))
      .sort((a, b) => {
        // etcd key order (byte-wise): namespace, then name.
        const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
        const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      })
      .map((o) => withVersion(t, target.version, o));
    // limit / continue (storage/etcd3 GetList): pages in key order; a token whose resourceVersion has been
    // compacted is refused with 410 Expired. Later pages are read from the current state, not a snapshot.
    const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    let listRv = this.store.resourceVersion;
    let page = items;
    if (opts.continue) {
      const token = decodeContinue(opts.continue);
      if (token.rv < this.store.oldestResumableVersion) {
        throw errors.gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      listRv = token.rv;
      page = page.filter((o) => keyOf(o) >= token.start);
    }
    const metadata: Record<string, unknown> = { resourceVersion: String(listRv) };
    const limit = opts.limit ?? 0;
    if (limit > 0 && page.length > limit) {
      metadata.continue = encodeContinue(listRv, `${keyOf(page[limit]!)}`);
      metadata.remainingItemCount = page.length - limit;
      page = page.slice(0, limit);
    }
    return {
      apiVersion: apiVersionOf(t.group, target.version),
      kind: t.listKind,
      metadata,
      items: page,
    };
  }

  create(target: Target, body: any, dryRun = false, ctx?: WriteContext): KubeObject {
    const t = target.type;
    if (target.subresource) throw errors.methodNotAllowed('POST');
    const obj = this.prepareBody(target, body, 'create');
    delete obj.metadata.resourceVersion;
    delete obj.metadata.uid;
    if (t.subresources.includes('status') && t.kind !== 'Namespace') delete obj.status;
    admitFields(t, obj, ctx, target.version);
    applyDefaults(t, obj);
    validateObject(t, obj);
    trackManagedFields(t, target.version, undefined, obj, ctx);
    this.requireNamespace({ ...target, namespace: obj.metadata.namespace });
    if (dryRun) {
      if (this.store.peek(t, obj.metadata.namespace, obj.metadata.name)) throw errors.alreadyExists(t.plural, t.group, obj.metadata.name);
      return withVersion(t, target.version, obj);
    }
    return withVersion(t, target.version, this.store.create(t, obj));
  }

  /** PUT: full replacement of the object, its status, or its scale. */
  update(target: Target, body: any, dryRun = false, ctx?: WriteContext): KubeObject {
    const t = target.type;
    const current = this.store.peek(t, target.namespace, target.name!);
    if (!current) throw errors.notFound(t.plural, t.group, target.name!);
    if (target.subresource === 'scale') return this.updateScale(target, current, body, dryRun);
    const obj = this.prepareBody(target, body, 'update');
    return this.write(target, current, obj, dryRun, ctx);
  }

  patch(target: Target, contentType: string, body: string, dryRun = false, ctx?: WriteContext): KubeObject {
    const t = target.type;
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    const supported = t.builtin
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, ...APPLY_PATCH_TYPES.slice(0, 2)]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, ...APPLY_PATCH_TYPES.slice(0, 2)];
    if (!(supported as string[]).includes(type)) throw errors.unsupportedMediaType(type, supported);
    checkPatchOptions(type, ctx?.fieldManager, ctx?.force);
    if (APPLY_PATCH_TYPES.includes(type)) return this.applyPatch(target, decodeApplyBody(body), dryRun, ctx!);
    let patch: unknown;
    try {
      patch = JSON.parse(body);
    } catch (err) {
      throw errors.badRequest(`error decoding patch: ${(err as Error).message}`);
    }
    const current = this.store.peek(t, target.namespace, target.name!);
    if (!current) throw errors.notFound(t.plural, t.group, target.name!);
    const base = target.subresource === 'scale' ? this.toScale(target, current) : withVersion(t, target.version, current);
    let patched: any;
    if (type === PATCH_TYPES.json) patched = applyJsonPatch(base, patch);
    else if (type === PATCH_TYPES.merge) patched = applyMergePatch(base, patch);
    else patched = applyStrategicMergePatch(base, patch);
    if (!patched || typeof patched !== 'object' || Array.isArray(patched)) {
      throw errors.badRequest('the patched object is not a JSON object');
    }
    if (target.subresource === 'scale') return this.updateScale(target, current, patched, dryRun);
    patched.metadata ??= {};
    if (patched.metadata.name !== undefined && patched.metadata.name !== current.metadata.name) {
      throw errors.badRequest(
        `the name of the object (${patched.metadata.name}) does not match the name on the URL (${current.metadata.name})`,
      );
    }
    const obj = this.prepareBody(target, patched, 'update');
    return this.write(target, current, obj, dryRun, ctx && { ...ctx, patch: true });
  }

  /** Server-side apply (see apply.ts): creates the object when it does not exist. */
  private applyPatch(target: Target, config: Record<string, any>, dryRun: boolean, ctx: WriteContext): KubeObject {
    const t = target.type;
    const current = this.store.peek(t, target.namespace, target.name!);
    if (target.subresource === 'scale') throw errors.methodNotAllowed('PATCH');
    const live = current ? withVersion(t, target.version, current) : undefined;
    const args = {
      type: t,
      apiVersion: apiVersionOf(t.group, target.version),
      live,
      config,
      manager: ctx.fieldManager!,
      force: ctx.force === 'true',
      subresource: target.subresource,
    };
    const obj = serverSideApply(args);
    if (!current)
      return Object.assign(
        this.create(target, { ...obj, metadata: { ...obj.metadata, name: target.name } }, dryRun, { ...ctx, applied: true }),
        { [CREATED]: true },
      );
    return this.write(target, current, this.prepareBody(target, obj, 'update'), dryRun, { ...ctx, applied: true });
  }

  private write(target: Target, current: KubeObject, obj: KubeObject, dryRun: boolean, ctx?: WriteContext): KubeObject {
    const t = target.type;
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict(t.plural, t.group, current.metadata.name);
    }
    if (obj.metadata.uid && obj.metadata.uid !== current.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.group ? `${t.plural}.${t.group}` : t.plural} "${current.metadata.name}": Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${current.metadata.uid}`,
        { name: current.metadata.name, group: t.group, kind: t.plural },
      );
    }
    const subresource = target.subresource === 'status' ? 'status' : undefined;
    if (target.subresource && target.subresource !== 'status') throw errors.methodNotAllowed('PUT');
    if (!subresource) admitFields(t, obj, ctx, target.version);
    // Validate what would be stored.
    const candidate = deepCopy(obj);
    if (subresource === 'status') {
      const merged = deepCopy(current);
      merged.status = candidate.status;
      applyDefaults(t, merged);
      validateObject(t, merged, current);
      trackManagedFields(t, target.version, current, merged, ctx, 'status');
      candidate.metadata.managedFields = merged.metadata.managedFields;
    } else {
      applyDefaults(t, candidate);
      validateObject(t, candidate, current);
      trackManagedFields(t, target.version, current, candidate, ctx);
    }
    if (dryRun) return withVersion(t, target.version, candidate);
    const stored = this.store.update(t, candidate, { subresource, checkResourceVersion: true });
    return withVersion(t, target.version, stored);
  }

  private toScale(target: Target, obj: KubeObject): KubeObject {
    const t = target.type;
    return {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: {
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: obj.spec?.replicas ?? 0 },
      status: {
        replicas: obj.status?.replicas ?? 0,
        selector:
          t.kind === 'Rollout'
            ? (obj.status?.selector ?? labelSelectorToString(obj.spec?.selector))
            : labelSelectorToString(obj.spec?.selector),
      },
    };
  }

  private updateScale(target: Target, current: KubeObject, scale: any, dryRun: boolean): KubeObject {
    const t = target.type;
    const replicas = scale?.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw errors.invalid('Scale', 'autoscaling', current.metadata.name, [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
          field: 'spec.replicas',
        },
      ]);
    }
    if (scale?.metadata?.resourceVersion && scale.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict(t.plural, t.group, current.metadata.name);
    }
    const next = deepCopy(current);
    next.spec = { ...(next.spec ?? {}), replicas };
    const stored = dryRun ? next : this.store.update(t, next);
    return this.toScale(target, stored);
  }

  delete(target: Target, options: any = {}, dryRun = false): KubeObject {
    const t = target.type;
    const current = this.store.peek(t, target.namespace, target.name!);
    if (!current) throw errors.notFound(t.plural, t.group, target.name!);
    const pre = options?.preconditions ?? {};
    if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.group ? `${t.plural}.${t.group}` : t.plural} "${current.metadata.name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
        { name: current.metadata.name, group: t.group, kind: t.plural },
      );
    }
    if (pre.uid && pre.uid !== current.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.group ? `${t.plural}.${t.group}` : t.plural} "${current.metadata.name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
        { name: current.metadata.name, group: t.group, kind: t.plural },
      );
    }
    if (dryRun) return withVersion(t, target.version, current);
    const orphanDependents = options?.propagationPolicy === 'Orphan' || options?.orphanDependents === true;
    return withVersion(t, target.version, this.store.delete(t, target.namespace, target.name!, { orphanDependents }));
  }

  deleteCollection(target: Target, opts: ListOptions): { apiVersion: string; kind: string; metadata: any; items: KubeObject[] } {
    const list = this.list(target, opts);
    for (const item of list.items) {
      if (this.store.peek(target.type, item.metadata.namespace, item.metadata.name)) {
        this.store.delete(target.type, item.metadata.namespace, item.metadata.name);
      }
    }
    list.metadata = { resourceVersion: String(this.store.resourceVersion) };
    return list;
  }
}
