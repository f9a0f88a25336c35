/**
 * Where a service's canary stands, kept on the cluster in the ConfigMap `pd-canary-<service>`
 * (`kubectl get configmap pd-canary-checkout -o yaml`): which image, which step, and whether it is
 * progressing, paused, promoted or aborted. The journal (pd-state-<service>) says what was
 * changed; this says where the walk is, so a later run can resume a paused canary (`action:
 * promote`), continue one whose run was killed, or refuse to start a second one over it.
 * Written only by the run that holds the service's lock.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { KubeClient } from '../kube/client.js';
import { isConflict, isNotFound, KubeObjectError } from '../kube/errors.js';
import type { ObjectRef } from '../kube/object-ref.js';

export type CanaryState = 'progressing' | 'paused' | 'promoted' | 'aborted' | 'rolled-back';

export interface CanaryRecord {
  /** The run that last moved the canary. */
  runId: string;
  /** The run that started it. */
  startedBy: string;
  /** The release it belongs to (every run that moves it journals under it); older records: `startedBy`. */
  release?: string;
  /** The routing and workloads it was started with: promote, abort and status use these, and refuse a config that differs. */
  routing?: unknown;
  workloads?: unknown;
  image: string;
  /** Container whose image is set, as resolved at the start. */
  container?: string;
  /** The stable image before the canary (what an abort leaves running). */
  stableImage?: string;
  /** Hash of the config's steps: a promote must walk the same steps the canary was started with. */
  stepsHash: string;
  /** The step being taken (progressing) or held at (paused); steps.length once promoted. */
  stepIndex: number;
  state: CanaryState;
  /** Canary weight last set. */
  weight: number;
  /** Why it is paused or was aborted. */
  reason?: string;
  startedAt: string;
  updatedAt: string;
}

const KEY = 'canary.yaml';

/** The release a canary record belongs to. */
export function canaryReleaseOf(record: Pick<CanaryRecord, 'release' | 'startedBy'>): string {
  return record.release ?? record.startedBy;
}

export function canaryRecordName(service: string): string {
  return `pd-canary-${service}`;
}

export class CanaryRecordStore {
  readonly ref: ObjectRef;
  private resourceVersion: string | undefined;

  constructor(
    private readonly client: KubeClient,
    namespace: string,
    service: string,
    private readonly now: () => number = Date.now,
  ) {
    this.ref = { kind: 'ConfigMap', namespace, name: canaryRecordName(service) };
  }

  async read(): Promise<CanaryRecord | undefined> {
    const cm = await this.get();
    this.resourceVersion = cm?.metadata?.resourceVersion;
    const text = cm?.data?.[KEY];
    if (!text) return undefined;
    const parsed: unknown = parseYaml(text);
    if (!parsed || typeof parsed !== 'object' || typeof (parsed as CanaryRecord).stepIndex !== 'number') {
      throw new KubeObjectError(this.ref, `data.${KEY} is not a canary record; delete the ConfigMap if no canary is running`);
    }
    return parsed as CanaryRecord;
  }

  /**
   * Writes the record (with the resourceVersion last read or written, so a write over someone
   * else's is refused with 409 rather than lost). Returns what was written.
   */
  async write(record: Omit<CanaryRecord, 'updatedAt'>): Promise<CanaryRecord> {
    const full: CanaryRecord = { ...record, updatedAt: new Date(this.now()).toISOString() };
    const body: V1ConfigMap = {
      metadata: {
        name: this.ref.name,
        namespace: this.ref.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'progressive-delivery' },
        ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}),
      },
      data: { [KEY]: stringifyYaml(full) },
    };
    try {
      const written = this.resourceVersion
        ? await this.client.call('update', this.ref, () =>
            this.client.core.replaceNamespacedConfigMap({ name: this.ref.name, namespace: this.ref.namespace, body }),
          )
        : await this.client.call('create', this.ref, () =>
            this.client.core.createNamespacedConfigMap({ namespace: this.ref.namespace, body }),
          );
      this.resourceVersion = written.metadata?.resourceVersion;
      return full;
    } catch (error) {
      if (isConflict(error)) {
        throw new KubeObjectError(
          this.ref,
          'was changed by someone else while this run held the lock of the service; stopping rather than overwrite it',
        );
      }
      throw error;
    }
  }

  private async get(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.client.call('get', this.ref, () =>
        this.client.core.readNamespacedConfigMap({ name: this.ref.name, namespace: this.ref.namespace }),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
