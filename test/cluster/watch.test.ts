/**
 * Watch expiry and list paging as the kube-apiserver does them:
 *  - BOOKMARKs about every minute (the watch cache's bookmark timer; settable here),
 *  - a watch without timeoutSeconds is ended by the server after minRequestTimeout x (1 + rand)
 *    (30-60 minutes; apiserver pkg/endpoints/handlers/get.go; settable here),
 *  - resuming from a compacted resourceVersion gives ERROR 410 "too old resource version"
 *    (etcd compaction every 5 minutes; settable here, and `compact()` forces it),
 *  - `limit` / `continue` pages (API concepts, "Retrieving large results sets in chunks"),
 *    and a continue token past compaction is refused with 410 Expired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './server.js';
import { request, startKubectlHarness, type KubectlHarness } from './helpers.js';

let cluster: TestCluster;
let fast: TestCluster;

beforeAll(async () => {
  [cluster, fast] = await Promise.all([
    startTestCluster({ podReadyDelayMs: 10 }),
    startTestCluster({ podReadyDelayMs: 10, bookmarkIntervalMs: 150, watchTimeoutMs: 400, watchHistoryMs: 200 }),
  ]);
});

afterAll(async () => {
  await Promise.all([cluster?.stop(), fast?.stop()]);
});

const configMap = (name: string, namespace = 'default', data: Record<string, string> = { a: '1' }) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});
const events = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const rvOf = (c: TestCluster, name: string) => c.get('v1', 'ConfigMap', 'default', name).metadata.resourceVersion as string;

describe('watch expiry', () => {
  it('sends bookmarks about every minute by default, and at the set interval when asked', async () => {
    await Promise.all([cluster.apply(configMap('marks')), fast.apply(configMap('marks'))]);
    const path = (c: TestCluster) =>
      `/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${rvOf(c, 'marks')}`;
    const [slow, quick] = await Promise.all([request(cluster, 'GET', path(cluster)), request(fast, 'GET', path(fast))]);
    expect(events(slow.text).filter((e) => e.type === 'BOOKMARK')).toEqual([]);
    expect(events(quick.text).filter((e) => e.type === 'BOOKMARK').length).toBeGreaterThanOrEqual(4);
  });

  it('ends a watch that gave no timeoutSeconds when the server timeout comes', async () => {
    await fast.apply(configMap('ending'));
    const started = Date.now();
    const res = await request(fast, 'GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rvOf(fast, 'ending')}`);
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it('answers ERROR 410 to a watch resuming from a compacted resourceVersion', async () => {
    await cluster.apply(configMap('old'));
    const before = rvOf(cluster, 'old');
    await cluster.apply(configMap('old', 'default', { a: '2' }));
    // Within the window: the missed MODIFIED is replayed.
    const replay = await request(
      cluster,
      'GET',
      `/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dold&resourceVersion=${before}`,
    );
    expect(events(replay.text)[0]).toMatchObject({ type: 'MODIFIED', object: { data: { a: '2' } } });

    cluster.compact();
    const gone = await request(cluster, 'GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${before}`);
    const [error] = events(gone.text);
    expect(error).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(error.object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);

    // The history window ages events out by itself.
    await fast.apply(configMap('aged'));
    const aged = rvOf(fast, 'aged');
    await fast.apply(configMap('aged', 'default', { a: '2' }));
    await new Promise((r) => setTimeout(r, 300));
    await fast.apply(configMap('other'));
    const late = await request(fast, 'GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${aged}`);
    expect(events(late.text)[0]).toMatchObject({ type: 'ERROR', object: { code: 410 } });
  });
});

describe('list paging', () => {
  let h: KubectlHarness;
  beforeAll(async () => {
    h = await startKubectlHarness({ podReadyDelayMs: 10 });
    await h.cluster.apply(['e', 'a', 'd', 'b', 'c'].map((n) => configMap(`page-${n}`, 'paging')));
  });
  afterAll(async () => {
    await h?.close();
  });

  it('pages with limit and continue, in key order, with remainingItemCount', async () => {
    const first = (await request(h.cluster, 'GET', '/api/v1/namespaces/paging/configmaps?limit=2')).json();
    expect(first.items.map((i: any) => i.metadata.name)).toEqual(['page-a', 'page-b']);
    expect(first.metadata).toMatchObject({ continue: expect.any(String), remainingItemCount: 3 });
    const second = (
      await request(
        h.cluster,
        'GET',
        `/api/v1/namespaces/paging/configmaps?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`,
      )
    ).json();
    expect(second.items.map((i: any) => i.metadata.name)).toEqual(['page-c', 'page-d']);
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    const third = (
      await request(
        h.cluster,
        'GET',
        `/api/v1/namespaces/paging/configmaps?limit=2&continue=${encodeURIComponent(second.metadata.continue)}`,
      )
    ).json();
    expect(third.items.map((i: any) => i.metadata.name)).toEqual(['page-e']);
    expect(third.metadata.continue).toBeUndefined();

    // kubectl pages with --chunk-size.
    h.cluster.resetRequests();
    const r = await h.kubectl(['get', 'configmaps', '-n', 'paging', '--chunk-size=2', '-o', 'name']);
    expect(r.stdout.trim().split('\n')).toEqual([
      'configmap/page-a',
      'configmap/page-b',
      'configmap/page-c',
      'configmap/page-d',
      'configmap/page-e',
    ]);
    expect(h.cluster.requests.filter((x) => x.path === '/api/v1/namespaces/paging/configmaps').length).toBe(3);

    // A continue token older than the compacted history is refused.
    await h.cluster.apply(configMap('page-f', 'paging'));
    h.cluster.compact();
    const expired = await request(
      h.cluster,
      'GET',
      `/api/v1/namespaces/paging/configmaps?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`,
    );
    expect(expired.status).toBe(410);
    expect(expired.json()).toMatchObject({ reason: 'Expired', code: 410 });
  });
});
