/**
 * The journal: every change to live traffic and workloads of one service, recorded `planned`
 * before it is made and `applied` after (with what it takes to undo it), on the cluster in one
 * ConfigMap. Rollback reads it to undo a release newest first; a re-run of the same run id skips
 * what it already applied; a resumed canary and a post step find their router in it (RouterSpec,
 * from routers/factory.ts, so the journal sits in kube with the routers it records).
 *
 * The one exception to "one name": the ConfigMap is still `pd-state-<service>`, not
 * `pd-journal-<service>`. Journals live in users' clusters across releases (a rollback reads what
 * an older version of these actions recorded), Roles narrowed with resourceNames name it
 * (deploy/rbac, the README's Cluster access), and a run that wrote one name while the next read the
 * other would find no journal and undo nothing. So the code says journal and the object keeps its name.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isNotFound, KubeObjectError } from './errors.js';
import { guardedPatch } from './guarded-patch.js';
import { JSON_PATCH, pointer, type JsonPatchOp } from './json-patch.js';
import type { ObjectRef } from './object-ref.js';
import type { RouterSpec } from './routers/factory.js';
import type { Weights } from './weights.js';

/** What a change did, with what it takes to undo it (`previous`). */
export type Change =
  /** `pods`: the replica counts behind the weights, for routers that move pods (replica ratio). */
  | {
      kind: 'traffic';
      router: RouterSpec;
      previous: Weights;
      next: Weights;
      pods?: { previous: Record<string, number>; next?: Record<string, number> };
    }
  | { kind: 'image'; container: string; previous: { image: string; revision?: number }; next: { image: string } }
  | { kind: 'scale'; previous: { replicas: number }; next: { replicas: number } }
  | { kind: 'undo'; previous: { revision?: number }; next: { revision: number; images: Record<string, string> } }
  | {
      kind: 'argo';
      action: 'promote' | 'promote-full' | 'abort' | 'retry';
      previous: { stepIndex?: number; weight: number };
      next: { stepIndex?: number; weight: number };
    }
  | { kind: 'migration'; previous: Record<string, unknown>; next: Record<string, unknown> };

export type EntryStatus = 'planned' | 'applied' | 'failed' | 'compensated';

export interface JournalEntry {
  /** `<runId>/<step>`: the idempotency key. */
  id: string;
  runId: string;
  /**
   * The release the run belongs to: one intended change of the service, made by one or more runs
   * (a canary's start, promote and abort). Rollback undoes a release as a whole. Entries written
   * before releases existed have none: their run is their release (`releaseOf`).
   */
  release?: string;
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
  /**
   * Ids of the entries folded into this one by compaction (consecutive traffic changes of one
   * object in one release): this entry's `previous` is the first one's, its `next` the last one's.
   */
  folds?: string[];
}

export type PlannedChange = Pick<JournalEntry, 'runId' | 'release' | 'step' | 'strategy' | 'object' | 'change'>;

/** The release an entry belongs to: its own, or (entries from before releases) its run. */
export function releaseOf(entry: Pick<JournalEntry, 'release' | 'runId'>): string {
  return entry.release ?? entry.runId;
}

/** A real API server refuses a ConfigMap over 1 MiB (data and metadata); the journal stays below that with room to spare. */
export const JOURNAL_MAX_BYTES = 900 * 1024;

export interface JournalOptions {
  namespace: string;
  service: string;
  /** Entries kept before compaction (see `compact`). Default 50. */
  maxEntries?: number;
  now?: () => Date;
}

const JOURNAL_KEY = 'journal.yaml';

/** `pd-state-<service>`: the journal's ConfigMap, under the name it has always had (see the module comment). */
export function journalConfigMapName(service: string): string {
  return `pd-state-${service}`;
}

/**
 * The journal of one service, in the ConfigMap `pd-state-<service>`
 * (`kubectl get configmap pd-state-<service> -o yaml`). Every write is a JSON patch guarded by the
 * resourceVersion read.
 */
export class Journal {
  readonly ref: ObjectRef;
  private readonly maxEntries: number;
  private readonly now: () => Date;

  constructor(
    private readonly client: KubeClient,
    options: JournalOptions,
  ) {
    this.ref = { kind: 'ConfigMap', namespace: options.namespace, name: journalConfigMapName(options.service) };
    this.maxEntries = options.maxEntries ?? 50;
    this.now = options.now ?? (() => new Date());
  }

  async entries(): Promise<JournalEntry[]> {
    const cm = await this.read();
    return cm ? this.journalOf(cm) : [];
  }

  /** Changes recorded but not known to be applied (a run that died mid-change): check them live. */
  async pending(): Promise<JournalEntry[]> {
    return (await this.entries()).filter((e) => e.status === 'planned');
  }

  /** The newest applied change not yet compensated. */
  async lastChange(): Promise<JournalEntry | undefined> {
    return (await this.entries()).filter((e) => e.status === 'applied').at(-1);
  }

  /** What rollback undoes: applied (and planned) changes not compensated, newest first; of one run if given. */
  async compensations(runId?: string): Promise<JournalEntry[]> {
    return (await this.entries())
      .filter((e) => (e.status === 'applied' || e.status === 'planned') && (runId === undefined || e.runId === runId))
      .reverse();
  }

  /**
   * Records a change as planned, before it is made. If this run already recorded this step, returns
   * that entry instead (`alreadyApplied` tells whether to skip it).
   */
  async record(change: PlannedChange): Promise<{ id: string; entry: JournalEntry; alreadyApplied: boolean }> {
    const id = `${change.runId}/${change.step}`;
    let result: { id: string; entry: JournalEntry; alreadyApplied: boolean } | undefined;
    await this.update((journal) => {
      const existing = journal.find((e) => e.id === id || e.folds?.includes(id));
      if (existing && existing.status !== 'compensated') {
        result = { id, entry: existing, alreadyApplied: existing.status === 'applied' };
        return undefined;
      }
      if (existing) {
        // Applied and then undone (a rollback, a switch back): the change is no longer on the
        // cluster, so a re-run of the same run (GitHub's "re-run jobs") may make it again.
        const replanned: JournalEntry = { id, ...change, status: 'planned', plannedAt: this.now().toISOString() };
        result = { id, entry: replanned, alreadyApplied: false };
        return [...journal.filter((e) => e !== existing), replanned];
      }
      const entry: JournalEntry = { id, ...change, status: 'planned', plannedAt: this.now().toISOString() };
      result = { id, entry, alreadyApplied: false };
      return [...journal, entry];
    });
    return result!;
  }

  markApplied(id: string): Promise<JournalEntry> {
    return this.setStatus(id, 'applied', (e, at) => (e.appliedAt = at));
  }

  markFailed(id: string, error: unknown): Promise<JournalEntry> {
    return this.setStatus(id, 'failed', (e, at) => {
      e.failedAt = at;
      e.error = error instanceof Error ? error.message : String(error);
    });
  }

  markCompensated(id: string): Promise<JournalEntry> {
    return this.setStatus(id, 'compensated', (e, at) => (e.compensatedAt = at));
  }

  /**
   * The saga step: record `change`, apply it unless this run already did, mark it applied (or failed).
   * Returns whether `apply` ran, and its result.
   */
  async step<T>(change: PlannedChange, apply: () => Promise<T>): Promise<{ applied: boolean; entry: JournalEntry; result?: T }> {
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

  private async setStatus(id: string, status: EntryStatus, stamp: (e: JournalEntry, at: string) => void): Promise<JournalEntry> {
    let updated: JournalEntry | undefined;
    await this.update((journal) => {
      const index = journal.findIndex((e) => e.id === id || e.folds?.includes(id));
      if (index < 0) throw new KubeObjectError(this.ref, `has no entry ${id}`);
      const entry = { ...journal[index]!, status };
      stamp(entry, this.now().toISOString());
      updated = entry;
      return journal.map((e, i) => (i === index ? entry : e));
    });
    return updated!;
  }

  /** Applies `mutate` to the journal with a resourceVersion-guarded patch; creates the ConfigMap if missing. */
  private async update(mutate: (journal: JournalEntry[]) => JournalEntry[] | undefined): Promise<void> {
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
                metadata: {
                  name: this.ref.name,
                  namespace: this.ref.namespace,
                  labels: { 'app.kubernetes.io/managed-by': 'progressive-delivery' },
                },
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
    // Every attempt found the ConfigMap missing, then lost the race to create it: nothing was recorded.
    throw new KubeObjectError(
      this.ref,
      'could not be created: each of 5 attempts found it missing and then already created by someone else; nothing was recorded',
    );
  }

  private async read(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.client.call('get', this.ref, () =>
        this.client.core.readNamespacedConfigMap({ name: this.ref.name, namespace: this.ref.namespace }),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private journalOf(cm: V1ConfigMap): JournalEntry[] {
    const text = cm.data?.[JOURNAL_KEY];
    if (!text) return [];
    const parsed: unknown = parseYaml(text);
    if (!Array.isArray(parsed)) throw new KubeObjectError(this.ref, `data.${JOURNAL_KEY} is not a list of entries`);
    return parsed as JournalEntry[];
  }

  /** Newest last, compacted beyond maxEntries; refused (nothing written) when it still cannot fit a ConfigMap. */
  private serialize(journal: JournalEntry[]): string {
    const text = stringifyYaml(compact(journal, this.maxEntries));
    const bytes = Buffer.byteLength(text);
    if (bytes > JOURNAL_MAX_BYTES) {
      throw new KubeObjectError(
        this.ref,
        `would hold ${bytes} bytes of journal, over the ${JOURNAL_MAX_BYTES} bytes kept below the API server's 1 MiB ConfigMap limit, even compacted; not making the change (its undo could not be recorded). Undo or finish the open releases (the rollback action), then run again`,
      );
    }
    return text;
  }
}

/**
 * Keeps the journal short without losing what an undo needs. Beyond `maxEntries`:
 *  1. consecutive settled traffic changes of one object within one release fold into one entry
 *     (the first one's `previous`, the last one's `next`, every id kept in `folds` so a resumed run
 *     still finds its steps): undoing a release restores the first `previous` anyway;
 *  2. then whole releases are dropped, oldest first, but only those fully undone or superseded by a
 *     newer release; the newest release, and any release with a change still `planned`, stay whole.
 */
export function compact(journal: readonly JournalEntry[], maxEntries: number): JournalEntry[] {
  if (journal.length <= maxEntries) return [...journal];
  const folded: JournalEntry[] = [];
  for (const entry of journal) {
    const last = folded.at(-1);
    if (last && foldable(last, entry)) {
      const previous = last.change as Extract<Change, { kind: 'traffic' }>;
      const next = entry.change as Extract<Change, { kind: 'traffic' }>;
      folded[folded.length - 1] = {
        ...entry,
        change: {
          ...next,
          previous: previous.previous,
          ...(previous.pods || next.pods ? { pods: { previous: previous.pods?.previous ?? {}, next: next.pods?.next } } : {}),
        },
        folds: [...(last.folds ?? []), last.id, ...(entry.folds ?? [])],
        plannedAt: last.plannedAt,
      };
    } else {
      folded.push(entry);
    }
  }
  const newest = folded.findLast((e) => e.status !== 'failed') ?? folded.at(-1);
  const keep = new Set([newest && releaseOf(newest), ...folded.filter((e) => e.status === 'planned').map(releaseOf)]);
  const order = [...new Set(folded.map(releaseOf))];
  let kept = folded;
  for (const release of order) {
    if (kept.length <= maxEntries) break;
    if (keep.has(release)) continue;
    kept = kept.filter((e) => releaseOf(e) !== release);
  }
  return kept;
}

/** Two journal neighbours that undo as one: settled traffic changes of one object, one release, same status. */
function foldable(a: JournalEntry, b: JournalEntry): boolean {
  return (
    a.change.kind === 'traffic' &&
    b.change.kind === 'traffic' &&
    a.status === b.status &&
    (a.status === 'applied' || a.status === 'compensated') &&
    releaseOf(a) === releaseOf(b) &&
    a.object.kind === b.object.kind &&
    a.object.namespace === b.object.namespace &&
    a.object.name === b.object.name &&
    JSON.stringify(a.change.router) === JSON.stringify(b.change.router)
  );
}
