/**
 * actions/migrate reads the cluster for `require-rollout` (migrate/rollout-proof.ts): the shipped
 * Role deploy/rbac/pd-migrate.yaml is exactly enough for it. As a ServiceAccount whose token comes
 * from the TokenRequest API and bound to exactly that Role, the proof reads the Deployment and its
 * pods; with either rule removed, the proof fails naming what it could not read and the 403.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/core/kube/kubeconfig.js';
import { proveRollout } from '../../src/core/migrate/rollout-proof.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
const shipped = parseYaml(readFileSync(join(import.meta.dirname, '../../deploy/rbac/pd-migrate.yaml'), 'utf8')) as { rules: Rule[] };
const IMAGE = 'registry.example.com/shop/checkout:2.0.0';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 5 });
  await cluster.apply([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'checkout', namespace: 'shop' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'checkout' } },
        template: { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'app', image: IMAGE }] } },
      },
    },
  ]);
  const deadline = Date.now() + 15_000;
  while (cluster.get('apps/v1', 'Deployment', 'shop', 'checkout')?.status?.availableReplicas !== 2) {
    if (Date.now() > deadline) throw new Error('checkout did not roll out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});
afterAll(async () => {
  await cluster?.stop();
});

/** The proof, run as a ServiceAccount `name` bound to a Role holding `rules`. */
async function proofUnder(name: string, rules: Rule[]) {
  await cluster.apply([
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'shop' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: 'shop' }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: 'shop' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'shop' }],
    },
  ]);
  const token = cluster.createToken('shop', name, { expirationSeconds: 600 });
  const kubeConfig = loadKubeConfig({ kubeconfig: cluster.kubeconfigFor({ token }, { namespace: 'shop' }) });
  return proveRollout(kubeConfig, { deployments: [{ namespace: 'shop', name: 'checkout' }], expectedImage: IMAGE });
}

describe('actions/migrate under the shipped pd-migrate Role', () => {
  it('proves the rollout with exactly the shipped rules', async () => {
    const proof = await proofUnder('migrator', shipped.rules);
    expect(proof.problems).toEqual([]);
    expect(proof.ok).toBe(true);
    expect(proof.deployments).toEqual([expect.objectContaining({ deployment: 'shop/checkout', replicas: 2, podsOnExpectedImage: 2 })]);
  });

  it('fails the proof, naming what it could not read, when a rule is removed', async () => {
    expect(shipped.rules.map((r) => `${r.verbs.join(',')} ${r.resources.join(',')}`).sort()).toEqual(['get deployments', 'list pods']);
    const expected: Record<string, string> = {
      deployments: 'Deployment shop/checkout cannot be read: access denied (HTTP 403)',
      pods: 'the pods of Deployment shop/checkout cannot be listed: access denied (HTTP 403)',
    };
    for (const [index, removed] of shipped.rules.entries()) {
      const proof = await proofUnder(
        `without-${removed.resources[0]}`,
        shipped.rules.filter((_, i) => i !== index),
      );
      expect(proof.ok).toBe(false);
      expect(proof.problems).toHaveLength(1);
      expect(proof.problems[0]).toContain(expected[removed.resources[0]!]);
    }
  });
});
