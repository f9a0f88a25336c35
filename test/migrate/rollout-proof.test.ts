import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhase } from '../../src/core/migrate/phase.js';
import { labelSelectorText, proveRollout } from '../../src/core/migrate/rollout-proof.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { columnsOf, createSchema, phaseRun, psqlFile, resetDatabase } from './harness.js';

let db: TestPostgres;
let cluster: TestCluster;
let kubeConfig: KubeConfig;

beforeAll(async () => {
  [db, cluster] = await Promise.all([startPostgres(), startTestCluster({ podReadyDelayMs: 10 })]);
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(cluster.kubeconfig);
});
afterAll(async () => {
  await Promise.all([db?.stop(), cluster?.stop()]);
});

const OLD = 'registry.example.com/shop/checkout:1.0.0';
const NEW = 'registry.example.com/shop/checkout:2.0.0';
const BROKEN = 'registry.example.com/shop/checkout:2.0.0-fail-rollout';

function deployment(name: string, image: string, replicas = 3): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'app', image },
            { name: 'proxy', image: 'registry.example.com/mesh/proxy:1.20' },
          ],
        },
      },
    },
  };
}

/** Applies the Deployment and waits until its controller has acted on it (rolled out, or stuck). */
async function roll(name: string, image: string, until: 'complete' | 'stuck'): Promise<void> {
  await cluster.apply(deployment(name, image));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const d = cluster.get('apps/v1', 'Deployment', 'shop', name);
    const s = d?.status ?? {};
    const seen = s.observedGeneration >= d?.metadata?.generation;
    if (until === 'complete' && seen && s.updatedReplicas === 3 && s.availableReplicas === 3 && s.replicas === 3) return;
    if (until === 'stuck' && seen && s.updatedReplicas > 0) return;
    if (Date.now() > deadline) throw new Error(`Deployment ${name} did not get ${until}: ${JSON.stringify(s)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('contract needs proof that every replica runs the new version', () => {
  it('refuses while the old version runs, or the new one is not available everywhere, and runs once it is', async () => {
    await resetDatabase(db.url);
    await createSchema(db.url);
    await roll('checkout', OLD, 'complete');
    expect((await runPhase(phaseRun(db.url, { phase: 'expand', command: psqlFile('expand.sql') }).options)).result).toBe('succeeded');
    expect((await runPhase(phaseRun(db.url, { phase: 'migrate', command: psqlFile('migrate.sql') }).options)).result).toBe('succeeded');

    const contract = (expectedImage: string) =>
      phaseRun(db.url, {
        phase: 'contract',
        command: psqlFile('contract.sql'),
        confirm: 'contract',
        requireRollout: { deployments: [{ namespace: 'shop', name: 'checkout' }], expectedImage, kubeConfig },
      });

    // The old version still runs everywhere.
    const onOld = await runPhase(contract(NEW).options);
    expect(onOld.result).toBe('refused');
    expect(onOld.message).toMatch(/^contract refused: the new version does not run everywhere yet: /);
    expect(onOld.message).toContain(
      `Deployment shop/checkout is not set to ${NEW}: its pod template runs ${OLD}, registry.example.com/mesh/proxy:1.20`,
    );
    expect(onOld.message).toMatch(
      /Deployment shop\/checkout: 3 pod\(s\) still run another version: checkout-[a-z0-9-]+ \(registry.example.com\/shop\/checkout:1.0.0, /,
    );
    expect(onOld.message).toContain(`Deployment shop/checkout: 0 pod(s) run ${NEW}, 3 wanted`);
    expect(await columnsOf(db.url, 'users')).toContain('name');

    // The new version is set but its pods never turn ready: old pods still serve.
    await roll('checkout', BROKEN, 'stuck');
    const stuck = await runPhase(contract(BROKEN).options);
    expect(stuck.result).toBe('refused');
    expect(stuck.message).toMatch(
      /Deployment shop\/checkout has not finished rolling out: wants 3 replica\(s\), has \d+, \d+ updated, \d+ available/,
    );
    expect(stuck.message).toContain('still run another version');
    expect(await columnsOf(db.url, 'users')).toContain('name');

    // Every replica runs the new version: contract runs.
    await roll('checkout', NEW, 'complete');
    const run = contract(NEW);
    const done = await runPhase(run.options);
    expect(done.result).toBe('succeeded');
    expect(run.reporter.messages('info')).toContain(`Every replica runs ${NEW}`);
    expect(await columnsOf(db.url, 'users')).not.toContain('name');
  });

  it('names a Deployment that does not exist', async () => {
    const proof = await proveRollout(kubeConfig, { deployments: [{ namespace: 'shop', name: 'nowhere' }], expectedImage: NEW });
    expect(proof).toMatchObject({ ok: false, problems: ['Deployment shop/nowhere cannot be read: not found'] });
  });

  it('reports the evidence for each Deployment it proves', async () => {
    await roll('cart', NEW, 'complete');
    const proof = await proveRollout(kubeConfig, { deployments: [{ namespace: 'shop', name: 'cart' }], expectedImage: NEW });
    expect(proof).toEqual({
      ok: true,
      problems: [],
      deployments: [
        { deployment: 'shop/cart', replicas: 3, updatedReplicas: 3, availableReplicas: 3, podsOnExpectedImage: 3, podsOnOtherImages: {} },
      ],
    });
  });

  it('refuses when the kubeconfig is not allowed to read', async () => {
    const denied = new KubeConfig();
    denied.loadFromString(cluster.kubeconfig.replace(cluster.token, 'not-the-token'));
    const proof = await proveRollout(denied, { deployments: [{ namespace: 'shop', name: 'cart' }], expectedImage: NEW });
    expect(proof.ok).toBe(false);
    expect(proof.problems[0]).toMatch(/^Deployment shop\/cart cannot be read: access denied \(HTTP 401\)/);
  });
});

describe('labelSelectorText', () => {
  it('writes matchLabels and matchExpressions as the API expects them', () => {
    expect(
      labelSelectorText({
        matchLabels: { app: 'checkout', tier: 'web' },
        matchExpressions: [
          { key: 'track', operator: 'In', values: ['stable', 'canary'] },
          { key: 'legacy', operator: 'DoesNotExist' },
          { key: 'zone', operator: 'NotIn', values: ['a'] },
          { key: 'owner', operator: 'Exists' },
        ],
      }),
    ).toBe('app=checkout,tier=web,track in (stable,canary),!legacy,zone notin (a),owner');
  });

  it('refuses an empty selector, which would select every pod', () => {
    expect(() => labelSelectorText({})).toThrow('empty selector');
  });
});
