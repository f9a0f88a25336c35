import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sleep } from '../cluster/helpers.js';
import { CANARY_IMAGE, WORKLOADS, TEMPLATES, deploymentOf, meshObjects, runCanaryFlow, startHarness, type Harness } from './harness.js';

/**
 * A canary paused at 20% by one run, then a route inserted in front of its (unnamed) route, then
 * promoted or aborted by another run: that run must move the route the canary started on (its
 * identity is in the journal), never the one now first. Istio evaluates HTTP routes in order,
 * first match wins (istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute).
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

type Http = { name?: string; match?: unknown; route: { destination: { host: string; subset: string }; weight: number }[] };
const split = (stable: number, extra: Partial<Http> = {}): Http => ({
  ...extra,
  route: [
    { destination: { host: 'checkout', subset: 'stable' }, weight: stable },
    { destination: { host: 'checkout', subset: 'canary' }, weight: 100 - stable },
  ],
});
const vs = (namespace: string, http: Http[]) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'checkout', namespace },
  spec: { hosts: ['checkout'], http },
});
const DEBUG = { match: [{ headers: { 'x-debug': { exact: '1' } } }] };
const liveWeights = (namespace: string) =>
  (h.cluster.get('networking.istio.io/v1', 'VirtualService', namespace, 'checkout').spec.http as Http[]).map((r) =>
    r.route.map((d) => d.weight),
  );

const CONFIG = {
  routing: { istio: { virtualService: 'checkout' } },
  workloads: WORKLOADS,
  templates: TEMPLATES,
  steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }],
};

async function pausedAt20(namespace: string): Promise<void> {
  await h.cluster.apply([...meshObjects(namespace), vs(namespace, [split(100)])]);
  for (let i = 0; i < 200 && deploymentOf(h.cluster, namespace, 'checkout').ready < 4; i++) await sleep(10);
  const start = await runCanaryFlow(
    h,
    { namespace, service: 'checkout', image: CANARY_IMAGE, config: CONFIG },
    { runId: `start-${namespace}` },
  );
  expect(start.error).toBeUndefined();
  expect(start.outputs.result).toBe('paused');
  expect(liveWeights(namespace)).toEqual([[80, 20]]);
  // Someone puts a copy of the route with a header match in front of it.
  await h.cluster.apply(vs(namespace, [split(60, DEBUG), split(80)]));
}

describe('a route inserted in front of a paused canary', () => {
  test('promote (another run) walks and promotes on the route the canary started on', async () => {
    await pausedAt20('ins-canary-1');
    const promote = await runCanaryFlow(
      h,
      { namespace: 'ins-canary-1', service: 'checkout', action: 'promote', config: CONFIG },
      { runId: 'promote-ins-1' },
    );
    expect(promote.error).toBeUndefined();
    expect(promote.outputs.result).toBe('promoted');
    expect(liveWeights('ins-canary-1')).toEqual([
      [60, 40],
      [100, 0],
    ]);
  });

  test("abort (another run) puts the canary's own route back to 100/0", async () => {
    await pausedAt20('ins-canary-2');
    const abort = await runCanaryFlow(
      h,
      { namespace: 'ins-canary-2', service: 'checkout', action: 'abort', config: CONFIG },
      { runId: 'abort-ins-2' },
    );
    expect(abort.outputs.result).toBe('aborted');
    expect(liveWeights('ins-canary-2')).toEqual([
      [60, 40],
      [100, 0],
    ]);
  });
});
