/**
 * Watch streams: newline-delimited JSON events (ADDED, MODIFIED, DELETED,
 * BOOKMARK, ERROR) as the API server sends them for `?watch=true`.
 */
import type { ServerResponse } from 'node:http';
import { errors } from './status.js';
import { apiVersionOf } from './resources.js';
import type { KubeObject, Store, StoreEvent } from './store.js';
import { withVersion, type Target } from './api.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';

export interface WatchOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  resourceVersion?: string | null;
  timeoutSeconds?: number | undefined;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  bookmarkIntervalMs?: number;
}

type WireEvent = { type: string; object: unknown };

export interface WatchHubOptions {
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK (default 60 s, as the watch cache sends them about every minute). */
  bookmarkIntervalMs?: number | undefined;
  /**
   * When the server ends a watch that gave no timeoutSeconds. The kube-apiserver picks
   * minRequestTimeout (1800 s) x (1 + rand) per watch (apiserver endpoints/handlers/get.go).
   */
  watchTimeoutMs?: number | undefined;
}

export class WatchHub {
  private readonly active = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly opts: WatchHubOptions = {},
  ) {}

  get count(): number {
    return this.active.size;
  }

  /** Ends every open watch (server stop). */
  closeAll(): void {
    for (const close of [...this.active]) close();
  }

  serve(target: Target, opts: WatchOptions, res: ServerResponse): void {
    const t = target.type;
    const labelMatch = parseLabelSelector(opts.labelSelector);
    const fieldMatch = parseFieldSelector(opts.fieldSelector);
    const inScope = (obj: KubeObject) => !t.namespaced || !target.namespace || obj.metadata.namespace === target.namespace;
    const matches = (obj: KubeObject) => inScope(obj) && labelMatch(obj.metadata.labels) && fieldMatch(obj);
    const keyOf = (obj: KubeObject) => `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const matched = new Set<string>();

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();

    const send = (event: WireEvent) => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(event)}\n`);
    };
    const bookmark = (extra?: Record<string, string>) => {
      const metadata: Record<string, unknown> = { resourceVersion: String(this.store.resourceVersion) };
      if (extra) metadata.annotations = extra;
      send({ type: 'BOOKMARK', object: { kind: t.kind, apiVersion: apiVersionOf(t.group, target.version), metadata } });
    };

    const onEvent = (event: StoreEvent, knownPrevious: boolean) => {
      if (event.type_ !== t) return;
      const obj = event.object;
      const key = keyOf(obj);
      const now = matches(obj);
      const was = matched.has(key);
      let type: string | undefined;
      if (event.type === 'DELETED') {
        if (now || was) type = 'DELETED';
        matched.delete(key);
      } else if (now) {
        type = event.type === 'ADDED' || (knownPrevious && !was) ? 'ADDED' : 'MODIFIED';
        matched.add(key);
      } else if (was) {
        type = 'DELETED';
        matched.delete(key);
      }
      if (type) send({ type, object: withVersion(t, target.version, obj) });
    };

    const rv = opts.resourceVersion ?? '';
    if (rv === '' || rv === '0' || opts.sendInitialEvents) {
      const current = this.store
        .list(t, t.namespaced ? target.namespace : undefined)
        .filter(matches)
        .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
      for (const obj of current) {
        matched.add(keyOf(obj));
        send({ type: 'ADDED', object: withVersion(t, target.version, obj) });
      }
      if (opts.sendInitialEvents && opts.allowWatchBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      const since = Number(rv);
      if (!Number.isFinite(since) || since < this.store.oldestResumableVersion) {
        const status = errors.gone(`too old resource version: ${rv} (${this.store.oldestResumableVersion})`).toStatus();
        send({ type: 'ERROR', object: status });
        res.end();
        return;
      }
      for (const obj of this.store.list(t, t.namespaced ? target.namespace : undefined)) {
        if (matches(obj) && Number(obj.metadata.resourceVersion) <= since) matched.add(keyOf(obj));
      }
      for (const event of this.store.eventsSince(since)) onEvent(event, false);
    }

    const unsubscribe = this.store.subscribe((e) => onEvent(e, true));
    const timers: NodeJS.Timeout[] = [];
    const close = () => {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      this.active.delete(close);
      if (!res.writableEnded) res.end();
    };
    this.active.add(close);
    res.on('close', close);
    const timeoutMs =
      opts.timeoutSeconds !== undefined && opts.timeoutSeconds > 0
        ? opts.timeoutSeconds * 1000
        : (this.opts.watchTimeoutMs ?? 1_800_000 * (1 + Math.random()));
    const timeout = setTimeout(close, timeoutMs);
    timeout.unref();
    timers.push(timeout);
    if (opts.allowWatchBookmarks) {
      const interval = setInterval(() => bookmark(), opts.bookmarkIntervalMs ?? this.opts.bookmarkIntervalMs ?? 60_000);
      interval.unref();
      timers.push(interval);
    }
  }
}
