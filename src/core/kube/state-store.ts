import type { V1ConfigMap } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isNotFound, KubeObjectError } from './errors.js';
import { guardedPatch } from './guarded-patch.js';
import { JSON_PATCH, pointer, type JsonPatchOp } from './json-patch.js';
import type { ObjectRef } from './object-ref.js';
import type { RouterSpec } from '../delivery/router-spec.js';
import type { Weights } from './weights.js';

/** What a change did, with what it takes to undo it (`previous`). */
export type Change =
  | { kind: 'traffic'; router: RouterSpec; previous: Weights; next: Weights }
  | { kind: 'image'; container: string; previous: { image: string; revision?: number }; next: { image: string } }
  | { kind: 'scale'; previous: { replicas: number }; next: { replicas: number } }
  | { kind: 'undo'; previous: { revision?: number }; next: { revision: number; images: Record<string, string> } }
  | { kind: 'argo'; action: 'promote' | 'promote-full' | 'abort' | 'retry'; previous: { stepIndex?: number; weight: number }; next: { stepIndex?: number; weight: number } }
  | { kind: 'migration'; previous: Record<string, unknown>; next: Record<string, unknown> };

export type EntryStatus = 'planned' | 'applied' | 'failed' | 'compensated';

export interface StateEntry {
  /** `<runId>/<step>`: the idempotency key. */
  id: string;
  runId: string;
  /** The step within the run, e.g. `traffic-50` or `image`. */
  step: string;
  /** blue-green, canary, rollback, migrate. */
  strategy: string;
  object: ObjectRef;
  change: Change;
  status: EntryStatus;
  plannedAt: string;
  appliedAt?: string;
  failedAt?: string;
  error?: string;
  compensatedAt?: string;
}

export type PlannedChange = Pick<StateEntry, 'runId' | 'step' | 'strategy' | 'object' | 'change'>;

export interface StateStoreOptions {
  namespace: string;
  service: string;
  /** Entries kept (oldest settled entries go first; planned ones are never dropped). Default 50. */
  maxEntries?: number;
  now?: () => Date;
}

const JOURNAL_KEY = 'journal.yaml';

export function stateConfigMapName(service: string): string {
  return `pd-state-${service}`;
}

/**
 * The journal of changes to live traffic and workloads for one service, kept on the cluster in the
 * ConfigMap `pd-state-<service>` (`kubectl get configmap pd-state-<service> -o yaml`). Each change is
 * recorded `planned` before it is made and `applied` after; rollback reads it to compensate in
 * reverse order, and a re-run with the same run id skips what it already applied. Every write is a
 * JSON patch guarded by the resourceVersion read.
 */
export class StateStore {
  readonly ref: ObjectRef;
  private readonly maxEntries: number;
  private readonly now: () => Date;

  constructor(
    private readonly client: KubeClient,
    private readonly options: StateStoreOptions,
  ) {
    this.ref = { kind: 'ConfigMap', namespace: options.namespace, name: stateConfigMapName(options.service) };
    this.maxEntries = options.maxEntries ?? 50;
    this.now = options.now ?? (() => new Date());
  }

  async entries(): Promise<StateEntry[]> {
    const cm = await this.read();
    return cm ? this.journalOf(cm) : [];
  }

  /** Changes recorded but not known to be applied (a run that died mid-change): check them live. */
  async pending(): Promise<StateEntry[]> {
    return (await this.entries()).filter((e) => e.status === 'planned');
  }

  /** The newest applied change not yet compensated. */
  async lastChange(): Promise<StateEntry | undefined> {
    return (await this.entries()).filter((e) => e.status === 'applied').at(-1);
  }

  /** What rollback undoes: applied (and planned) changes not compensated, newest first; of one run if given. */
  async compensations(runId?: string): Promise<StateEntry[]> {
    return (await this.entries())
      .filter((e) => (e.status === 'applied' || e.status === 'planned') && (runId === undefined || e.runId === runId))
      .reverse();
  }

  /**
   * Records a change as planned, before it is made. If this run already recorded this step, returns
   * that entry instead (`alreadyApplied` tells whether to skip it).
   */
  async record(change: PlannedChange): Promise<{ id: string; entry: StateEntry; alreadyApplied: boolean }> {
    const id = `${change.runId}/${change.step}`;
    let result: { id: string; entry: StateEntry; alreadyApplied: boolean } | undefined;
    await this.update((journal) => {
      const existing = journal.find((e) => e.id === id);
      if (existing && existing.status !== 'compensated') {
        result = { id, entry: existing, alreadyApplied: existing.status === 'applied' };
        return undefined;
      }
      if (existing) {
        // Applied and then undone (a rollback, a switch back): the change is no longer on the
        // cluster, so a re-run of the same run (GitHub's "re-run jobs") may make it again.
        const replanned: StateEntry = { id, ...change, status: 'planned', plannedAt: this.now().toISOString() };
        result = { id, entry: replanned, alreadyApplied: false };
        return journal.map((e) => (e.id === id ? replanned : e));
      }
      const entry: StateEntry = { id, ...change, status: 'planned', plannedAt: this.now().toISOString() };
      result = { id, entry, alreadyApplied: false };
      return [...journal, entry];
    });
    return result!;
  }

  markApplied(id: string): Promise<StateEntry> {
    return this.setStatus(id, 'applied', (e, at) => (e.appliedAt = at));
  }

  markFailed(id: string, error: unknown): Promise<StateEntry> {
    return this.setStatus(id, 'failed', (e, at) => {
      e.failedAt = at;
      e.error = error instanceof Error ? error.message : String(error);
    });
  }

  markCompensated(id: string): Promise<StateEntry> {
    return this.setStatus(id, 'compensated', (e, at) => (e.compensatedAt = at));
  }

  /**
   * The saga step: record `change`, apply it unless this run already did, mark it applied (or failed).
   * Returns whether `apply` ran, and its result.
   */
  async step<T>(change: PlannedChange, apply: () => Promise<T>): Promise<{ applied: boolean; entry: StateEntry; result?: T }> {
    const { id, entry, alreadyApplied } = await this.record(change);
    if (alreadyApplied) return { applied: false, entry };
    let result: T;
    try {
      result = await apply();
    } catch (error) {
      await this.markFailed(id, error).catch(() => undefined);
      throw error;
    }
    return { applied: true, entry: await this.markApplied(id), result };
  }

  private async setStatus(id: string, status: EntryStatus, stamp: (e: StateEntry, at: string) => void): Promise<StateEntry> {
    let updated: StateEntry | undefined;
    await this.update((journal) => {
      const index = journal.findIndex((e) => e.id === id);
      if (index < 0) throw new KubeObjectError(this.ref, `has no entry ${id}`);
      const entry = { ...journal[index]!, status };
      stamp(entry, this.now().toISOString());
      updated = entry;
      return journal.map((e, i) => (i === index ? entry : e));
    });
    return updated!;
  }

  /** Applies `mutate` to the journal with a resourceVersion-guarded patch; creates the ConfigMap if missing. */
  private async update(mutate: (journal: StateEntry[]) => StateEntry[] | undefined): Promise<void> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const existing = await this.read();
      if (!existing) {
        const next = mutate([]);
        if (!next) return;
        try {
          await this.client.call('create', this.ref, () =>
            this.client.core.createNamespacedConfigMap({
              namespace: this.ref.namespace,
              body: {
                metadata: { name: this.ref.name, namespace: this.ref.namespace, labels: { 'app.kubernetes.io/managed-by': 'progressive-delivery' } },
                data: { [JOURNAL_KEY]: this.serialize(next) },
              },
            }),
          );
          return;
        } catch (error) {
          if (isAlreadyExists(error)) continue;
          throw error;
        }
      }
      let unread: V1ConfigMap | undefined = existing;
      await guardedPatch<V1ConfigMap>({
        ref: this.ref,
        // The first attempt plans on the copy just read; only a conflict reads again.
        read: async () => {
          const first = unread;
          unread = undefined;
          return first ?? (await this.read()) ?? existing;
        },
        resourceVersionOf: (cm) => cm.metadata?.resourceVersion,
        plan: (cm) => {
          const next = mutate(this.journalOf(cm));
          if (!next) return [];
          const op: JsonPatchOp = cm.data
            ? { op: 'add', path: pointer('data', JOURNAL_KEY), value: this.serialize(next) }
            : { op: 'add', path: pointer('data'), value: { [JOURNAL_KEY]: this.serialize(next) } };
          return [op];
        },
        send: (ops) =>
          this.client.call('patch', this.ref, () =>
            this.client.core.patchNamespacedConfigMap({ name: this.ref.name, namespace: this.ref.namespace, body: ops }, JSON_PATCH),
          ),
      });
      return;
    }
  }

  private async read(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.client.call('get', this.ref, () => this.client.core.readNamespacedConfigMap({ name: this.ref.name, namespace: this.ref.namespace }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private journalOf(cm: V1ConfigMap): StateEntry[] {
    const text = cm.data?.[JOURNAL_KEY];
    if (!text) return [];
    const parsed: unknown = parseYaml(text);
    if (!Array.isArray(parsed)) throw new KubeObjectError(this.ref, `data.${JOURNAL_KEY} is not a list of entries`);
    return parsed as StateEntry[];
  }

  /** Newest last; beyond maxEntries the oldest settled entries are dropped (never a planned one). */
  private serialize(journal: StateEntry[]): string {
    const kept = [...journal];
    for (let i = 0; kept.length > this.maxEntries && i < kept.length; ) {
      if (kept[i]!.status !== 'planned') kept.splice(i, 1);
      else i++;
    }
    return stringifyYaml(kept);
  }
}
