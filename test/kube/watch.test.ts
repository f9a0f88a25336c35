/**
 * watchUntil over a real watch's life: the server ends watches (after 30-60 minutes on a real
 * kube-apiserver; here after 150 ms) and compacts history (410 Gone for an old resourceVersion),
 * as client-go's reflector handles them: resume from the last resourceVersion after a close;
 * relist, then watch from the fresh resourceVersion, after a 410.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { setDeploymentImage, waitForDeploymentRollout } from '../../src/core/kube/deployment.js';
import { startHarness, type KubeHarness } from './harness.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness({ podReadyDelayMs: 250, watchTimeoutMs: 150 });
});
afterAll(async () => {
  await h?.close();
});

function deployment(name: string, image: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

const wait = { timeoutMs: 20_000 };
const objectPath = (name: string) => `/apis/apps/v1/namespaces/shop/deployments/${name}`;
const watchRequests = () => h.cluster.requests.filter((r) => r.query.includes('watch=true'));

describe('watchUntil', () => {
  test('resumes from the last resourceVersion when the server ends the watch, without reading again', async () => {
    await h.cluster.apply(deployment('resume', 'resume:1'));
    const d = { namespace: 'shop', name: 'resume' };
    await waitForDeploymentRollout(h.client, d, wait);
    await setDeploymentImage(h.client, { ...d, image: 'resume:2' });
    h.cluster.resetRequests();
    expect((await waitForDeploymentRollout(h.client, d, wait)).revision).toBe(2);
    const watches = watchRequests();
    expect(watches.length).toBeGreaterThanOrEqual(3); // the rollout takes ~4 pod-ready delays; each watch lives 150 ms
    for (const w of watches) expect(new URLSearchParams(w.query).get('resourceVersion')).toMatch(/^\d+$/);
    // Resumed versions never go back.
    const versions = watches.map((w) => Number(new URLSearchParams(w.query).get('resourceVersion')));
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(h.cluster.requests.filter((r) => r.method === 'GET' && r.path === objectPath('resume'))).toHaveLength(1);
  });

  test('after 410 Gone it watches from now (an unchanged object keeps its old resourceVersion, so re-reading would not help)', async () => {
    await h.cluster.apply(deployment('quiet', 'quiet:1'));
    const d = { namespace: 'shop', name: 'quiet' };
    await waitForDeploymentRollout(h.client, d, wait);
    // A rollout that is stuck and quiet: its pods never start, nothing changes (the deadline is 600 s).
    await setDeploymentImage(h.client, { ...d, image: 'quiet:fail-rollout' });
    await new Promise((r) => setTimeout(r, 600));
    h.cluster.resetRequests();
    const done = waitForDeploymentRollout(h.client, d, wait);
    for (let i = 0; i < 200 && watchRequests().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    // Other writes move the resourceVersion on; compaction then makes the Deployment's own version too old.
    await h.cluster.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'unrelated', namespace: 'shop' },
      data: { at: String(Date.now()) },
    });
    h.cluster.compact();
    await new Promise((r) => setTimeout(r, 800)); // several server-side watch ends (150 ms each)
    const log = h.cluster.requests.map((r) =>
      r.query.includes('watch=true') ? `watch rv=${new URLSearchParams(r.query).get('resourceVersion') ?? ''}` : `${r.method} ${r.path}`,
    );
    // One read at the start; after the 410, a watch from now (no resourceVersion), then resumes from what it sent.
    expect(log.filter((x) => x === `GET ${objectPath('quiet')}`)).toHaveLength(1);
    expect(log).toContain('watch rv=');

    // The rollout is repaired: the wait, still watching, sees it finish.
    await setDeploymentImage(h.client, { ...d, image: 'quiet:2' });
    expect((await done).revision).toBe(3);
  });
});
