/**
 * In-memory object storage with a global resourceVersion counter, an event
 * history for watches, and simulated garbage collection via ownerReferences.
 *
 * This layer knows nothing of HTTP; it enforces the storage-level rules that
 * every write path (HTTP handlers, test setup, controllers) must obey.
 */
import { randomUUID } from 'node:crypto';
import { errors } from './status.js';
import { RESOURCE_TYPES, storageKey, type ResourceType } from './resources.js';

export type KubeObject = Record<string, any> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, any> & { name: string; namespace?: string; resourceVersion?: string };
};

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  resourceVersion: number;
  /** When it happened (ms), for the history window. */
  at: number;
  type_: ResourceType;
  object: KubeObject; // frozen snapshot, do not mutate
}

export type Listener = (event: StoreEvent) => void;

const HISTORY_LIMIT = 20_000;

export function deepCopy<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export interface WriteOptions {
  /** When set, the write must carry this resourceVersion (or none) or fail with 409. */
  checkResourceVersion?: boolean;
  /** 'status' writes change only .status; main-resource writes keep the stored .status for types with a status subresource. */
  subresource?: 'status' | undefined;
}

export class Store {
  private readonly tables = new Map<string, Map<string, KubeObject>>();
  private readonly listeners = new Set<Listener>();
  private readonly history: StoreEvent[] = [];
  private revision = 1;
  /** Everything up to this resourceVersion has been compacted away (no watch can resume from before it). */
  private compactedTo = 1;

  /**
   * @param historyWindowMs how long events stay resumable: the kube-apiserver's watch cache and
   * etcd compaction (every 5 minutes by default, --etcd-compaction-interval) bound it the same way.
   */
  constructor(private readonly historyWindowMs = 5 * 60_000) {
    for (const t of RESOURCE_TYPES) this.tables.set(storageKey(t), new Map());
  }

  /** Compact now: a watch from any resourceVersion before the current one gets 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.compactedTo = this.revision;
  }

  get resourceVersion(): number {
    return this.revision;
  }

  /** The oldest resourceVersion a watch may resume from. */
  get oldestResumableVersion(): number {
    this.trimHistory();
    return this.history.length > 0
      ? Math.max(this.compactedTo, this.history[0]!.resourceVersion - 1)
      : Math.max(this.compactedTo, this.revision);
  }

  private trimHistory(): void {
    const cutoff = Date.now() - this.historyWindowMs;
    let drop = 0;
    while (drop < this.history.length && this.history[drop]!.at < cutoff) drop++;
    if (drop > 0) {
      this.compactedTo = this.history[drop - 1]!.resourceVersion;
      this.history.splice(0, drop);
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  eventsSince(resourceVersion: number): StoreEvent[] {
    // history is sorted by resourceVersion
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid]!.resourceVersion <= resourceVersion) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo);
  }

  private table(t: ResourceType): Map<string, KubeObject> {
    return this.tables.get(storageKey(t))!;
  }

  /** Stored object (not a copy: callers must not mutate it). */
  peek(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.table(t).get(objectKey(t.namespaced ? namespace : undefined, name));
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return deepCopy(this.peek(t, namespace, name));
  }

  /** Stored objects (not copies), optionally in one namespace. */
  list(t: ResourceType, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.table(t).values()) {
      if (namespace === undefined || obj.metadata.namespace === namespace) out.push(obj);
    }
    return out;
  }

  create(t: ResourceType, input: KubeObject): KubeObject {
    const obj = deepCopy(input);
    const meta = obj.metadata;
    const key = objectKey(t.namespaced ? meta.namespace : undefined, meta.name);
    const table = this.table(t);
    if (table.has(key)) throw errors.alreadyExists(t.plural, t.group, meta.name);
    if (!t.namespaced) delete meta.namespace;
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp();
    meta.resourceVersion = String(++this.revision);
    if (t.hasGeneration) meta.generation = 1;
    else delete meta.generation;
    delete meta.deletionTimestamp;
    table.set(key, obj);
    this.emit('ADDED', t, obj);
    return deepCopy(obj);
  }

  /**
   * Replace an existing object. Keeps uid/creationTimestamp, bumps generation
   * only when .spec (or for spec-less kinds, nothing) changed, and never emits
   * an event or a new resourceVersion for a no-op write, as the real server.
   */
  update(t: ResourceType, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const meta = input.metadata;
    const key = objectKey(t.namespaced ? meta.namespace : undefined, meta.name);
    const table = this.table(t);
    const current = table.get(key);
    if (!current) throw errors.notFound(t.plural, t.group, meta.name);
    if (opts.checkResourceVersion && meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict(t.plural, t.group, meta.name);
    }
    let next: KubeObject;
    if (opts.subresource === 'status') {
      next = deepCopy(current);
      if (input.status === undefined) delete next.status;
      else next.status = deepCopy(input.status);
      // The status subresource's own field manager entry (managed-fields.ts) is the one metadata change it makes.
      if (input.metadata.managedFields !== undefined) next.metadata.managedFields = deepCopy(input.metadata.managedFields);
    } else {
      next = deepCopy(input);
      if (t.subresources.includes('status')) {
        if (current.status === undefined) delete next.status;
        else next.status = deepCopy(current.status);
      }
      if (!t.namespaced) delete next.metadata.namespace;
    }
    const nm = next.metadata;
    const cm = current.metadata;
    nm.uid = cm.uid;
    nm.creationTimestamp = cm.creationTimestamp;
    nm.name = cm.name;
    if (t.namespaced) nm.namespace = cm.namespace;
    if (cm.deletionTimestamp) nm.deletionTimestamp = cm.deletionTimestamp;
    else delete nm.deletionTimestamp;
    if (t.hasGeneration) {
      nm.generation = deepEqual(next.spec, current.spec) ? cm.generation : (cm.generation ?? 0) + 1;
    } else {
      delete nm.generation;
    }
    nm.resourceVersion = cm.resourceVersion;
    if (deepEqual(next, current)) return deepCopy(current);
    nm.resourceVersion = String(++this.revision);
    table.set(key, next);
    this.emit('MODIFIED', t, next);
    return deepCopy(next);
  }

  /** Delete an object and, as the garbage collector would, everything it owns. */
  delete(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { resourceVersion?: string; uid?: string; orphanDependents?: boolean } = {},
  ): KubeObject {
    const key = objectKey(t.namespaced ? namespace : undefined, name);
    const table = this.table(t);
    const current = table.get(key);
    if (!current) throw errors.notFound(t.plural, t.group, name);
    if (opts.resourceVersion && opts.resourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict(t.plural, t.group, name);
    }
    if (opts.uid && opts.uid !== current.metadata.uid) {
      throw errors.conflict(t.plural, t.group, name);
    }
    table.delete(key);
    const gone = deepCopy(current);
    gone.metadata.resourceVersion = String(++this.revision);
    this.emit('DELETED', t, gone);
    if (opts.orphanDependents) this.orphanDependents(gone);
    else this.collectGarbage(gone);
    return gone;
  }

  /** propagationPolicy=Orphan: dependents lose their owner reference instead of being deleted. */
  private orphanDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    for (const t of RESOURCE_TYPES) {
      for (const obj of [...this.table(t).values()]) {
        const refs: any[] = obj.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        const next = deepCopy(obj);
        next.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        this.update(t, next);
      }
    }
  }

  private collectGarbage(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    for (const t of RESOURCE_TYPES) {
      for (const obj of [...this.table(t).values()]) {
        const owned = (obj.metadata.ownerReferences ?? []).some((r: any) => r.uid === uid);
        const inDeletedNamespace = owner.kind === 'Namespace' && obj.metadata.namespace === owner.metadata.name;
        if ((owned || inDeletedNamespace) && this.peek(t, obj.metadata.namespace, obj.metadata.name)) {
          this.delete(t, obj.metadata.namespace, obj.metadata.name);
        }
      }
    }
  }

  private emit(type: EventType, t: ResourceType, obj: KubeObject): void {
    const event: StoreEvent = { type, resourceVersion: this.revision, at: Date.now(), type_: t, object: obj };
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) {
      this.compactedTo = this.history[this.history.length - HISTORY_LIMIT - 1]!.resourceVersion;
      this.history.splice(0, this.history.length - HISTORY_LIMIT);
    }
    this.trimHistory();
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        // A listener must not break a write; surface it for debugging.
        console.error('test cluster listener failed:', err);
      }
    }
  }
}

export function nowTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
