/**
 * Optimistic concurrency for one object (guardedPatch): read, plan, send a JSON patch whose first
 * operation is `test /metadata/resourceVersion`. The server refuses the patch if anyone wrote in
 * between (409 Conflict, or 422 for the failed test): then read again, plan again, send again, a
 * bounded number of times. Only the planned paths change, so another writer's edit elsewhere survives.
 */
import { sleepMs } from '../retry.js';
import { KubeApiError, isConflict, isInvalid } from './errors.js';
import { pointer, type JsonPatchOp } from './json-patch.js';
import type { ObjectRef } from './object-ref.js';

export interface GuardedPatch<T> {
  ref: ObjectRef;
  /** Reads the object as it is now (through KubeClient.call). */
  read: () => Promise<T>;
  resourceVersionOf: (object: T) => string | undefined;
  /**
   * What to change, decided on what is there now; re-run after every conflict so the change is
   * re-checked against the other writer's result. Return [] when nothing needs changing.
   * Throwing refuses the change.
   */
  plan: (current: T) => JsonPatchOp[];
  /** Sends a JSON patch (through KubeClient.call); the first operation tests the resourceVersion. */
  send: (ops: JsonPatchOp[]) => Promise<T>;
  /** Read-plan-send rounds before giving up. Default 8. */
  attempts?: number;
}

export interface GuardedPatchResult<T> {
  object: T;
  /** Whether a patch was sent and accepted (false: the object already was as planned). */
  changed: boolean;
  /** Writes lost to another writer and redone. */
  conflicts: number;
}

/** Reads, plans and sends until the patch is taken or not needed; throws after `attempts` lost races, or on an invalid patch (422). */
export async function guardedPatch<T>(patch: GuardedPatch<T>): Promise<GuardedPatchResult<T>> {
  const attempts = patch.attempts ?? 8;
  let conflicts = 0;
  let lastRefusal: { error: KubeApiError; resourceVersion: string } | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const current = await patch.read();
    const resourceVersion = patch.resourceVersionOf(current);
    if (!resourceVersion)
      throw new Error(`guardedPatch: ${patch.ref.kind} ${patch.ref.namespace}/${patch.ref.name} has no resourceVersion`);
    // A 422 on an unchanged object is not a lost race: the patch itself is invalid.
    if (lastRefusal && lastRefusal.resourceVersion === resourceVersion) throw lastRefusal.error;
    const ops = patch.plan(current);
    if (ops.length === 0) return { object: current, changed: false, conflicts };
    try {
      const object = await patch.send([{ op: 'test', path: pointer('metadata', 'resourceVersion'), value: resourceVersion }, ...ops]);
      return { object, changed: true, conflicts };
    } catch (error) {
      if (isConflict(error) || isInvalid(error)) {
        conflicts++;
        lastRefusal = isInvalid(error) ? { error: error as KubeApiError, resourceVersion } : undefined;
        // Full-jitter pause so that writers racing on one object do not collide again in lockstep.
        await sleepMs(Math.random() * Math.min(1000, 20 * 2 ** conflicts));
        continue;
      }
      throw error;
    }
  }
  throw new KubeApiError(
    'patch',
    patch.ref,
    409,
    'Conflict',
    `gave up after ${attempts} attempts: another writer changed the object each time between our read and our write`,
  );
}
