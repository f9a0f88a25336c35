/**
 * The service's lock, one run at a time per service (ServiceLock): a coordination.k8s.io/v1 Lease
 * `pd-lock-<service>` whose holderIdentity is the run id, renewed in the background while the run
 * works and released at the end. Every write carries the resourceVersion read, so two runs can never
 * both take it. A holder that stops renewing may be taken over once its lease duration has passed;
 * releaseLockIfHeldBy frees the lock for a post step, readLockHolder says who holds it.
 */
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { formatDuration } from '../config/primitives.js';
import type { Reporter } from '../reporter.js';
import { sleepMs } from '../retry.js';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isNotFound } from './errors.js';
import { guardedPatch } from './guarded-patch.js';
import { JSON_PATCH, pointer, type JsonPatchOp } from './json-patch.js';
import { describeRef, type ObjectRef } from './object-ref.js';

export interface ServiceLockOptions {
  namespace: string;
  service: string;
  /** Who holds it: the run id. */
  holder: string;
  /** How long a holder that stops renewing keeps the lock. Default 60 s. */
  leaseDurationSeconds?: number;
  /** How long to wait for another run's lock. Default 5 minutes. */
  timeoutMs?: number;
  /** Between two looks at a held lock. Default 2 s. */
  pollMs?: number;
  /** Take the lock even from a live holder (rollback of a cancelled run), and say so. */
  force?: boolean;
  reporter?: Reporter;
  /** Told when a renewal finds the lock taken by someone else. */
  onLost?: (holder: LockHolder) => void;
}

export interface LockHolder {
  holder: string;
  acquiredAt: Date | undefined;
  renewedAt: Date | undefined;
  leaseDurationSeconds: number;
  transitions: number;
}

/** Another run holds the lock and did not release it in time. */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  constructor(
    readonly ref: ObjectRef,
    readonly holder: LockHolder,
    waitedMs: number,
  ) {
    super(
      `${describeRef(ref)}: held by run ${holder.holder} since ${holder.acquiredAt?.toISOString() ?? 'an unknown time'} (last renewed ${holder.renewedAt?.toISOString() ?? 'never'}, lease ${holder.leaseDurationSeconds}s); gave up after waiting ${formatDuration(waitedMs)}`,
    );
  }
}

export function lockName(service: string): string {
  return `pd-lock-${service}`;
}

function lockRef(namespace: string, service: string): ObjectRef {
  return { kind: 'Lease', namespace, name: lockName(service) };
}

/** A MicroTime as the API server parses it: RFC 3339 with exactly six fractional digits. */
export function microTime(at: Date): string {
  return new V1MicroTime(at.getTime()).toISOString();
}

export function holderOf(lease: V1Lease): LockHolder | undefined {
  const spec = lease.spec ?? {};
  if (!spec.holderIdentity) return undefined;
  const time = (t: unknown) => (t ? new Date(String(t instanceof Date ? t.toISOString() : t)) : undefined);
  return {
    holder: spec.holderIdentity,
    acquiredAt: time(spec.acquireTime),
    renewedAt: time(spec.renewTime),
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    transitions: spec.leaseTransitions ?? 0,
  };
}

/** A holder that has not renewed within its lease duration is gone (its runner died). */
export function isExpired(holder: LockHolder, now = new Date()): boolean {
  const renewed = holder.renewedAt ?? holder.acquiredAt;
  return !renewed || renewed.getTime() + holder.leaseDurationSeconds * 1000 < now.getTime();
}

/** The lock as this run holds it: taken with `acquire`, renewed in the background, freed with `release`. */
export class ServiceLock {
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  lost = false;

  private constructor(
    private readonly client: KubeClient,
    private readonly options: ServiceLockOptions,
    readonly ref: ObjectRef,
  ) {}

  /**
   * Takes the lock: creates the Lease, or takes it when free, expired, already ours (a re-run), or
   * when `force` is set; otherwise waits up to `timeoutMs` and then throws LockTimeoutError naming
   * the holder. Starts the background renewal.
   */
  static async acquire(client: KubeClient, options: ServiceLockOptions): Promise<ServiceLock> {
    const lock = new ServiceLock(client, options, lockRef(options.namespace, options.service));
    await lock.take();
    lock.startRenewing();
    return lock;
  }

  private get duration(): number {
    return this.options.leaseDurationSeconds ?? 60;
  }

  private async take(): Promise<void> {
    const { client, options, ref } = this;
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? 300_000;
    let announced = '';
    for (;;) {
      const lease = await readLease(client, ref);
      if (!lease) {
        try {
          await this.create();
          return;
        } catch (error) {
          if (isAlreadyExists(error)) continue; // another run created it first: look again
          throw error;
        }
      }
      const holder = holderOf(lease);
      const now = new Date();
      const mine = holder?.holder === options.holder;
      const free = !holder || isExpired(holder, now);
      if (mine || free || options.force) {
        if (holder && !mine) {
          const why = isExpired(holder, now)
            ? `its lease expired (last renewed ${holder.renewedAt?.toISOString() ?? 'never'})`
            : 'force was set';
          options.reporter?.warn(`${describeRef(ref)}: taking the lock over from run ${holder.holder}: ${why}`);
        }
        if (await this.claim(lease, holder)) return;
        continue; // someone else won the race: look again
      }
      const waited = Date.now() - started;
      if (waited >= timeoutMs) throw new LockTimeoutError(ref, holder!, waited);
      if (announced !== holder!.holder) {
        announced = holder!.holder;
        options.reporter?.info(
          `${describeRef(ref)}: held by run ${holder!.holder} since ${holder!.acquiredAt?.toISOString()}; waiting up to ${formatDuration(timeoutMs)}`,
        );
      }
      await sleepMs(Math.min(options.pollMs ?? 2000, Math.max(0, timeoutMs - waited)));
    }
  }

  private async create(): Promise<void> {
    const now = new V1MicroTime(Date.now());
    await this.client.call('create', this.ref, () =>
      this.client.coordination.createNamespacedLease({
        namespace: this.ref.namespace,
        body: {
          metadata: {
            name: this.ref.name,
            namespace: this.ref.namespace,
            labels: { 'app.kubernetes.io/managed-by': 'progressive-delivery' },
          },
          spec: {
            holderIdentity: this.options.holder,
            leaseDurationSeconds: this.duration,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        },
      }),
    );
  }

  /** One guarded write of the holder fields; false when another writer changed the Lease first. */
  private async claim(lease: V1Lease, holder: LockHolder | undefined): Promise<boolean> {
    const now = microTime(new Date());
    const mine = holder?.holder === this.options.holder;
    const spec = lease.spec ?? {};
    const ops: JsonPatchOp[] = [
      { op: 'test', path: pointer('metadata', 'resourceVersion'), value: lease.metadata!.resourceVersion },
      { op: 'add', path: pointer('spec', 'holderIdentity'), value: this.options.holder },
      { op: 'add', path: pointer('spec', 'leaseDurationSeconds'), value: this.duration },
      { op: 'add', path: pointer('spec', 'renewTime'), value: now },
    ];
    if (!mine) {
      ops.push({ op: 'add', path: pointer('spec', 'acquireTime'), value: now });
      ops.push({
        op: 'add',
        path: pointer('spec', 'leaseTransitions'),
        value: (spec.leaseTransitions ?? 0) + (holder || spec.acquireTime ? 1 : 0),
      });
    }
    try {
      await patchLease(this.client, this.ref, ops);
      return true;
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 409 || status === 422) return false;
      throw error;
    }
  }

  private startRenewing(): void {
    const everyMs = Math.max(1000, (this.duration * 1000) / 3);
    this.timer = setInterval(() => {
      if (this.renewing) return;
      this.renewing = this.renew()
        .catch((error: unknown) =>
          this.options.reporter?.warn(`${describeRef(this.ref)}: renewal failed, will retry: ${(error as Error).message}`),
        )
        .finally(() => (this.renewing = undefined));
    }, everyMs);
    this.timer.unref();
  }

  /** Moves renewTime forward if we still hold the lock; marks it lost otherwise. */
  async renew(): Promise<void> {
    if (this.lost) return;
    await guardedPatch<V1Lease>({
      ref: this.ref,
      read: async () => {
        const lease = await readLease(this.client, this.ref);
        if (!lease) throw new Error(`${describeRef(this.ref)} was deleted`);
        return lease;
      },
      resourceVersionOf: (lease) => lease.metadata?.resourceVersion,
      plan: (lease) => {
        const holder = holderOf(lease);
        if (holder?.holder !== this.options.holder) {
          this.lost = true;
          this.stop();
          if (holder) this.options.onLost?.(holder);
          this.options.reporter?.warn(`${describeRef(this.ref)}: lost the lock to ${holder ? `run ${holder.holder}` : 'a release'}`);
          return [];
        }
        return [{ op: 'replace', path: pointer('spec', 'renewTime'), value: microTime(new Date()) }];
      },
      send: (ops) => patchLease(this.client, this.ref, ops),
    });
  }

  /** Stops renewing and frees the lock if we still hold it. Returns whether it was ours to free. */
  async release(): Promise<boolean> {
    this.stop();
    await this.renewing;
    if (this.lost) return false;
    return releaseLockIfHeldBy(this.client, {
      namespace: this.options.namespace,
      service: this.options.service,
      holder: this.options.holder,
    });
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** For a post step: frees the service lock only if `holder` (this run) still holds it. */
export async function releaseLockIfHeldBy(
  client: KubeClient,
  who: { namespace: string; service: string; holder: string },
): Promise<boolean> {
  const ref = lockRef(who.namespace, who.service);
  let released = false;
  await guardedPatch<V1Lease | undefined>({
    ref,
    read: () => readLease(client, ref),
    resourceVersionOf: (lease) => lease?.metadata?.resourceVersion ?? 'absent',
    plan: (lease) => {
      released = !!lease && lease.spec?.holderIdentity === who.holder;
      return released
        ? [
            { op: 'remove', path: pointer('spec', 'holderIdentity') },
            { op: 'add', path: pointer('spec', 'renewTime'), value: microTime(new Date()) },
          ]
        : [];
    },
    send: (ops) => patchLease(client, ref, ops),
  });
  return released;
}

/** Who holds the service lock now, if anyone. */
export async function readLockHolder(client: KubeClient, who: { namespace: string; service: string }): Promise<LockHolder | undefined> {
  const lease = await readLease(client, lockRef(who.namespace, who.service));
  return lease ? holderOf(lease) : undefined;
}

async function readLease(client: KubeClient, ref: ObjectRef): Promise<V1Lease | undefined> {
  try {
    return await client.call('get', ref, () => client.coordination.readNamespacedLease({ name: ref.name, namespace: ref.namespace }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function patchLease(client: KubeClient, ref: ObjectRef, ops: JsonPatchOp[]): Promise<V1Lease> {
  return client.call('patch', ref, () =>
    client.coordination.patchNamespacedLease({ name: ref.name, namespace: ref.namespace, body: ops }, JSON_PATCH),
  );
}
