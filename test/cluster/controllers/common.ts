/**
 * Helpers shared by the simulated controllers: a de-duplicating work queue,
 * owner references, pod-template hashing and conditions.
 */
import { randomBytes } from 'node:crypto';
import { RESOURCE_TYPES, type ResourceType } from '../resources.js';
import { deepEqual, nowTimestamp, type KubeObject } from '../store.js';

export function typeOf(kind: string): ResourceType {
  const t = RESOURCE_TYPES.find((x) => x.kind === kind);
  if (!t) throw new Error(`unknown kind ${kind}`);
  return t;
}

export const POD = typeOf('Pod');
export const REPLICA_SET = typeOf('ReplicaSet');
export const DEPLOYMENT = typeOf('Deployment');
export const ROLLOUT = typeOf('Rollout');

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const FAIL_ANNOTATION = 'test.cluster/fail';

/** Characters the real controllers use for generated suffixes (no vowels, no look-alikes). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(length = 5): string {
  return [...randomBytes(length)].map((b) => SAFE_ALPHABET[b % SAFE_ALPHABET.length]).join('');
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The pod template without the pod-template-hash label, for hashing and comparing. */
export function templateWithoutHash(template: any): any {
  const copy = structuredClone(template ?? {});
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
    delete copy.metadata.labels['rollouts-pod-template-hash'];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  return copy;
}

/**
 * pod-template-hash as the controllers write it: ComputeHash in
 * kubernetes/kubernetes pkg/controller/controller_utils.go is FNV-32a over the
 * template, printed in decimal and encoded with rand.SafeEncodeString (each
 * digit mapped into SAFE_ALPHABET). The real hasher feeds FNV a spew dump of the
 * Go struct; we feed it canonical JSON, so the value differs from a real
 * cluster's for the same template but has the same form (up to 10 characters
 * from the same alphabet) and is as deterministic.
 */
export function templateHash(template: any): string {
  const bytes = Buffer.from(stableStringify(templateWithoutHash(template)), 'utf8');
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return [...String(h)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

export function templatesEqual(a: any, b: any): boolean {
  return deepEqual(JSON.parse(stableStringify(templateWithoutHash(a))), JSON.parse(stableStringify(templateWithoutHash(b))));
}

/** Whether pods from this template never become Ready (the test's chosen failure). */
export function templateFails(template: any): 'image' | 'annotation' | undefined {
  if (template?.metadata?.annotations?.[FAIL_ANNOTATION] === 'true') return 'annotation';
  const containers: any[] = [...(template?.spec?.containers ?? []), ...(template?.spec?.initContainers ?? [])];
  if (containers.some((c) => typeof c?.image === 'string' && c.image.includes('fail-rollout'))) return 'image';
  return undefined;
}

export function controllerRef(owner: KubeObject): object {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some((r: any) => r.controller && r.uid === owner.metadata.uid);
}

export function controllerOf(obj: KubeObject): { kind: string; name: string; uid: string } | undefined {
  return (obj.metadata.ownerReferences ?? []).find((r: any) => r.controller);
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/**
 * Set a condition as the controllers do: lastTransitionTime changes only when
 * status flips; lastUpdateTime when anything changes (if the kind tracks it).
 */
export function setCondition(conditions: Condition[], next: Condition, withUpdateTime = true): Condition[] {
  const now = nowTimestamp();
  const existing = conditions.find((c) => c.type === next.type);
  if (existing && existing.status === next.status && existing.reason === next.reason && existing.message === next.message) {
    return conditions;
  }
  const cond: Condition = { ...next };
  if (withUpdateTime) cond.lastUpdateTime = now;
  cond.lastTransitionTime = existing && existing.status === next.status ? (existing.lastTransitionTime ?? now) : now;
  const out = conditions.filter((c) => c.type !== next.type);
  out.push(cond);
  return out;
}

export function revisionOf(obj: KubeObject | undefined): number {
  const v = Number(obj?.metadata.annotations?.[REVISION_ANNOTATION] ?? 0);
  return Number.isFinite(v) ? v : 0;
}

/** Remove zero counters, as the real (omitempty) status structs do. */
export function omitZero<T extends Record<string, unknown>>(status: T, keep: string[] = []): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(status)) {
    if (v === undefined) continue;
    if (v === 0 && !keep.includes(k)) continue;
    out[k] = v;
  }
  return out as T;
}

/**
 * A work queue that coalesces keys and runs them on the next turn of the event
 * loop, plus delayed re-queues. Timers are unref'd and cleared by stop().
 */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private scheduled = false;
  private stopped = false;

  constructor(private readonly work: (key: string) => void) {}

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Re-queue a key later; keeps only the earliest pending timer per key. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + Math.max(0, delayMs);
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.add(key);
      },
      Math.max(0, delayMs),
    );
    timer.unref();
    this.timers.set(key, { timer, at });
  }

  private drain(): void {
    this.scheduled = false;
    if (this.stopped) return;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      try {
        this.work(key);
      } catch (err) {
        // Races with API writes (conflicts, objects deleted meanwhile) are expected: retry shortly.
        this.addAfter(key, 10);
        const text = `${(err as any)?.reason ?? ''} ${(err as Error)?.message ?? ''}`;
        if (process.env.DEBUG_CLUSTER || !/Conflict|NotFound|AlreadyExists/.test(text))
          console.error('test cluster controller error:', err);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
  }
}

export function nsName(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
