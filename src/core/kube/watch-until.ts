/**
 * Waiting for an object to reach a state (watchUntil): read it once, then watch it, handing each
 * version to `decide` until it says done, throws, or the time runs out (WaitTimeoutError). The
 * Deployment and Rollout waits are written on it; reconnecting, a compacted resourceVersion
 * (410 Gone) and a refused watch (401, 403) are handled here once.
 */
import { formatDuration } from '../config/primitives.js';
import { sleepMs } from '../retry.js';
import type { KubeClient } from './client.js';
import { KubeApiError, KubeObjectError } from './errors.js';
import { describeIdentity } from './kubeconfig.js';
import { describeRef, type ObjectRef } from './object-ref.js';

/** What a waiter decides on one version of the object: done with a value, or not yet (and why). */
export type WaitDecision<R> = { done: true; value: R } | { done: false; progress: string };

export interface WatchUntilOptions<T, R> {
  client: KubeClient;
  ref: ObjectRef;
  /** The collection path to watch in the object's namespace, e.g. `/apis/apps/v1/namespaces/shop/deployments`. */
  collectionPath: string;
  /** Reads the object (through KubeClient.call): at the start and after a broken watch. */
  read: () => Promise<T>;
  resourceVersionOf: (object: T) => string | undefined;
  /** Decides on each version of the object; throwing fails the wait (e.g. ProgressDeadlineExceeded). */
  decide: (object: T) => WaitDecision<R>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Told each new progress message (e.g. "1 of 3 updated replicas are available"). */
  onProgress?: (message: string) => void;
}

/** The wait ran out of time; the message says what was still missing. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  constructor(
    readonly ref: ObjectRef,
    readonly lastProgress: string,
    timeoutMs: number,
  ) {
    super(`${describeRef(ref)}: not done after ${formatDuration(timeoutMs)}: ${lastProgress}`);
  }
}

/**
 * Waits until `decide` says done, reading once and then watching the object (client-node Watch,
 * fieldSelector on its name, from the resourceVersion read). A watch that closes is re-opened from
 * the last resourceVersion seen; one that fails is re-opened after a fresh read (and a backoff), one
 * that expires (410 Gone) from now, without a resourceVersion.
 * A watch refused with 403 fails the wait (reads may be allowed where watch is not: that is a
 * missing permission, not a broken connection); a 401 renews the credential once.
 */
export async function watchUntil<T, R>(options: WatchUntilOptions<T, R>): Promise<R> {
  const { client, ref } = options;
  const deadline = Date.now() + options.timeoutMs;
  let progress = 'not observed yet';
  let failures = 0;
  let renewed = false;
  const consider = (object: T): WaitDecision<R> => {
    const decision = options.decide(object);
    if (!decision.done && decision.progress !== progress) {
      progress = decision.progress;
      options.onProgress?.(progress);
    }
    return decision;
  };

  let resourceVersion: string | undefined;
  /** After a 410: watch without a resourceVersion (the server starts with the object as it is now). */
  let fromNow = false;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (resourceVersion === undefined && !fromNow) {
      const object = await options.read();
      const decision = consider(object);
      if (decision.done) return decision.value;
      resourceVersion = options.resourceVersionOf(object);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new WaitTimeoutError(ref, progress, options.timeoutMs);

    const outcome = await watchOnce<T, R>(client, options, resourceVersion, remaining, consider, !renewed);
    if (outcome.kind === 'done') return outcome.value;
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'renewed') {
      // A 401: the credential was renewed; one more watch with it (a second 401 fails).
      renewed = true;
      continue;
    }
    renewed = false;
    resourceVersion = outcome.resourceVersion;
    fromNow = false;
    if (outcome.kind === 'expired') {
      // 410 Gone: our resourceVersion was compacted. Re-reading would not help: an object that has not changed
      // since keeps that old resourceVersion, and a watch from it is refused again. Watch from now instead: the
      // server first sends the object as it is (ADDED), then its changes.
      resourceVersion = undefined;
      fromNow = true;
    } else if (outcome.kind === 'broken') {
      failures++;
      resourceVersion = undefined; // read again: events may have been missed
      await sleepMs(Math.min(2000, 100 * 2 ** Math.min(failures, 5)), options.signal);
    } else {
      failures = 0;
    }
  }
}

type WatchOutcome<R> =
  | { kind: 'done'; value: R }
  | { kind: 'failed'; error: unknown }
  | { kind: 'closed'; resourceVersion: string | undefined }
  | { kind: 'broken'; resourceVersion: undefined }
  | { kind: 'expired'; resourceVersion: undefined }
  | { kind: 'renewed' };

function watchRefused<T, R>(client: KubeClient, options: WatchUntilOptions<T, R>, status: number, reason: string): KubeApiError {
  const resource = options.collectionPath.split('/').pop();
  const detail =
    status === 403
      ? `${describeIdentity(client.kubeConfig)} may not watch ${resource} (${options.collectionPath}); add the verb watch on ${resource} to its Role`
      : '';
  return new KubeApiError('watch', options.ref, status, reason, detail);
}

function watchOnce<T, R>(
  client: KubeClient,
  options: WatchUntilOptions<T, R>,
  fromVersion: string | undefined,
  remainingMs: number,
  consider: (object: T) => WaitDecision<R>,
  mayRenew: boolean,
): Promise<WatchOutcome<R>> {
  return new Promise((resolve) => {
    let settled = false;
    let resourceVersion = fromVersion;
    let controller: AbortController | undefined;
    const finish = (outcome: WatchOutcome<R>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      controller?.abort();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'closed', resourceVersion }), remainingMs);
    timer.unref();
    const onAbort = () => finish({ kind: 'failed', error: options.signal!.reason });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted while the object was being read: no abort event comes any more.
    if (options.signal?.aborted) onAbort();

    const onEvent = (type: string, raw: unknown) => {
      if (settled) return;
      const object = raw as T & { metadata?: { name?: string; resourceVersion?: string }; code?: number };
      if (type === 'ERROR') {
        // 410 Gone: our resourceVersion is too old (compacted): watch again from now. Anything else: read again after a backoff.
        finish({ kind: object?.code === 410 ? 'expired' : 'broken', resourceVersion: undefined });
        return;
      }
      if (object?.metadata?.resourceVersion) resourceVersion = object.metadata.resourceVersion;
      if (type === 'BOOKMARK') return;
      if (object?.metadata?.name !== options.ref.name) return;
      if (type === 'DELETED') {
        finish({ kind: 'failed', error: new KubeObjectError(options.ref, 'was deleted while we waited for it') });
        return;
      }
      try {
        const decision = consider(object);
        if (decision.done) finish({ kind: 'done', value: decision.value });
      } catch (error) {
        finish({ kind: 'failed', error });
      }
    };
    const onDone = (error: unknown) => {
      const status = (error as { statusCode?: unknown } | null)?.statusCode;
      // Refused (401 after a renewal, 403): reported, never turned into polling with reads that may be allowed.
      if (status === 403) finish({ kind: 'failed', error: watchRefused(client, options, 403, 'Forbidden') });
      else if (status === 401) {
        finish(
          mayRenew && client.renewCredentials()
            ? { kind: 'renewed' }
            : { kind: 'failed', error: client.refused(watchRefused(client, options, 401, 'Unauthorized')) },
        );
      } else finish(error ? { kind: 'broken', resourceVersion: undefined } : { kind: 'closed', resourceVersion });
    };

    client
      .watch(
        options.collectionPath,
        { fieldSelector: `metadata.name=${options.ref.name}`, resourceVersion, allowWatchBookmarks: true },
        onEvent,
        onDone,
      )
      .then((c) => {
        controller = c;
        if (settled) c.abort();
      })
      .catch(() => finish({ kind: 'broken', resourceVersion: undefined }));
  });
}
