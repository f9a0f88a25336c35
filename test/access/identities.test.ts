/**
 * The identities real clusters give, against the test cluster's authentication and RBAC:
 * ServiceAccount tokens from TokenRequest that really expire (through an exec plugin that
 * renews them, and as a static token that does not), client certificates signed by the
 * cluster's CA (as data and as file paths), a watch RBAC refuses, and the shipped Roles on
 * disk being what the permission lists give.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ALL_ROLE, MIGRATE_ROLE, roleYaml, SHIPPED_ROLES } from '../../src/core/delivery/roles.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { waitForDeploymentRollout } from '../../src/core/kube/deployment.js';
import { KubeApiError } from '../../src/core/kube/errors.js';
import { checkPermissions, MissingPermissionsError } from '../../src/core/kube/preflight.js';
import { inNamespace, JOURNAL } from '../../src/core/kube/permissions.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { runBlueGreen } from '../../src/core/blue-green/flow.js';
import { InputError } from '../../src/core/config/input-error.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { Secrets } from '../../src/core/secrets.js';
import { blueGreenSpec } from '../../src/core/specs/blue-green.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { failure, readSettings } from './support.js';

let cluster: TestCluster;
let dir: string;
beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 200 });
  dir = await mkdtemp(join(tmpdir(), 'identities-'));
  await cluster.apply([
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, data: { a: '1' } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: 'shop' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'reader', namespace: 'shop' },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'reader', namespace: 'shop' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
      subjects: [
        { kind: 'ServiceAccount', name: 'deployer', namespace: 'shop' },
        { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' },
      ],
    },
  ]);
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ServiceAccount tokens that expire', () => {
  test('an exec plugin yielding TokenRequest tokens: once the token expires, the 401 renews it and the run goes on', async () => {
    const tokenPath = join(dir, 'sa-token');
    const count = join(dir, 'sa-count');
    await writeFile(tokenPath, cluster.createToken('shop', 'deployer', { expirationSeconds: 600 }));
    const script = join(dir, 'sa-plugin.mjs');
    // Like `aws eks get-token`: prints the current token; it claims no expiry, so only a 401 makes us ask again.
    await writeFile(
      script,
      `import fs from 'node:fs';
fs.appendFileSync(${JSON.stringify(count)}, 'x');
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: fs.readFileSync(${JSON.stringify(tokenPath)}, 'utf8') } }));`,
    );
    const client = KubeClient.fromKubeconfig({
      kubeconfig: cluster.kubeconfigFor({
        exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: [script] },
      }),
    });
    expect((await readSettings(client)).data).toEqual({ a: '1' });
    cluster.advanceTime(12 * 60_000); // past exp and go-jose's minute of leeway
    await writeFile(tokenPath, cluster.createToken('shop', 'deployer', { expirationSeconds: 600 }));
    cluster.resetRequests();
    expect((await readSettings(client)).data).toEqual({ a: '1' });
    expect(cluster.requests.map((r) => r.status)).toEqual([401, 200]);
    expect(await readFile(count, 'utf8')).toBe('xx');
  });

  test('an expired static ServiceAccount token: "the token was refused (401)", once', async () => {
    const token = cluster.createToken('shop', 'deployer', { expirationSeconds: 600 });
    const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfigFor({ token }), retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    expect((await readSettings(client)).data).toEqual({ a: '1' });
    cluster.advanceTime(12 * 60_000);
    cluster.resetRequests();
    const error = await failure(readSettings(client));
    expect(error.message).toBe(
      'get ConfigMap shop/settings: 401 Unauthorized: the token was refused (401) for user "test" (context "test"): it is expired, revoked or for another cluster; give a fresh kubeconfig',
    );
    expect(error.message).not.toContain(token);
    expect(cluster.requests).toHaveLength(1);
  });
});

describe('client certificates', () => {
  test('signed by the cluster CA, as data and as file paths: the certificate user gets its Role', async () => {
    const { cert, key } = cluster.issueClientCertificate('alice', ['devs']);
    const asData = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfigFor({ clientCertificate: cert, clientKey: key }) });
    expect((await readSettings(asData)).data).toEqual({ a: '1' });

    await writeFile(join(dir, 'alice.crt'), cert);
    await writeFile(join(dir, 'alice.key'), key);
    const doc = parseYaml(cluster.kubeconfigFor({ clientCertificate: cert, clientKey: key }));
    doc.users[0].user = { 'client-certificate': join(dir, 'alice.crt'), 'client-key': join(dir, 'alice.key') };
    const asFiles = KubeClient.fromKubeconfig({ kubeconfig: stringifyYaml(doc) });
    expect((await readSettings(asFiles)).data).toEqual({ a: '1' });
    // What alice may not do is refused with the real 403, naming her.
    const denied = await failure(
      asFiles.call('list', { kind: 'Secret', namespace: 'shop', name: '*' }, () =>
        asFiles.core.listNamespacedSecret({ namespace: 'shop' }),
      ),
    );
    expect(denied.message).toContain('User "alice" cannot list resource "secrets" in API group "" in the namespace "shop"');
  });
});

describe('RBAC on watches and the preflight', () => {
  test('a watch RBAC refuses (403) fails the wait at once, naming the permission, instead of polling with gets', async () => {
    await cluster.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } },
      },
    });
    const client = KubeClient.fromKubeconfig({
      kubeconfig: cluster.kubeconfigFor({ token: cluster.createToken('shop', 'deployer', { expirationSeconds: 600 }) }),
    });
    cluster.resetRequests();
    const started = Date.now();
    const error = await failure(waitForDeploymentRollout(client, { namespace: 'shop', name: 'web' }, { timeoutMs: 20_000 }));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error.message).toBe(
      'watch Deployment shop/web: 403 Forbidden: user "test" (context "test") may not watch deployments (/apis/apps/v1/namespaces/shop/deployments); add the verb watch on deployments to its Role',
    );
    expect(cluster.requests.filter((r) => r.query.includes('watch=true'))).toHaveLength(1);
  });

  test('the preflight names each missing permission and the rule to add', async () => {
    const client = KubeClient.fromKubeconfig({
      kubeconfig: cluster.kubeconfigFor({ token: cluster.createToken('shop', 'deployer', { expirationSeconds: 600 }) }),
    });
    const result = await checkPermissions(client, inNamespace('shop', 'pd-state-web', JOURNAL));
    expect(result.requests).toBe(3);
    expect(result.missing.map((p) => p.verb)).toEqual(['create', 'patch']);
    expect(new MissingPermissionsError(result.missing, 'user "ci"').message).toBe(
      [
        'user "ci" lacks 2 permissions this run needs; nothing was changed:',
        '  - create configmaps in namespace shop: create the journal on the first run',
        '  - patch configmaps "pd-state-web" in namespace shop: record each change before it is made',
        'Add to the rules of its Role in namespace shop (or use the Roles in deploy/rbac/):',
        '  - apiGroups: [""]',
        '    resources: ["configmaps"]',
        '    verbs: ["create", "patch"]',
      ].join('\n'),
    );
  });
});

test('bad kubeconfig input stops a flow with an InputError naming it, before anything is written', async () => {
  const script = join(dir, 'garbage.mjs');
  await writeFile(script, "process.stdout.write('Please log in: https://login.example.com/device')");
  const garbage = cluster.kubeconfigFor({
    exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [script] },
  });
  const cases: [Record<string, string>, RegExp][] = [
    [
      { kubeconfig: garbage },
      /^kubeconfig: the exec credential plugin of user "test" in the kubeconfig input \(.*garbage\.mjs\) printed 47 bytes that are not JSON/,
    ],
    [{ kubeconfig: cluster.kubeconfig, context: 'prod' }, /^context: "prod" is not a context of the kubeconfig input; it has test$/],
    [
      { kubeconfig: cluster.kubeconfig.replace('current-context: test', 'current-context: ""') },
      /^kubeconfig: the kubeconfig input has no current context/,
    ],
  ];
  for (const [raw, message] of cases) {
    const since = cluster.requests.length;
    const saved = new Map<string, string>();
    const context = {
      reporter: new MemoryReporter(),
      secrets: new Secrets(),
      runId: 'bad-input',
      signal: new AbortController().signal,
      state: { get: (k: string) => saved.get(k) ?? '', set: (k: string, v: string) => void saved.set(k, v) },
      run: {
        serverUrl: 'https://github.com',
        repository: 'acme/shop',
        runId: '1',
        runAttempt: '1',
        actor: 'octocat',
        sha: '',
        ref: '',
        runUrl: '',
      },
    };
    const inputs = parseInputs(blueGreenSpec, {
      namespace: 'shop',
      service: 'web',
      router: 'service',
      blue: 'blue',
      green: 'green',
      image: 'web:2',
      ...raw,
    });
    const error = await failure(runBlueGreen(inputs, context, { env: {} }));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(message);
    expect(cluster.requests.slice(since).filter((r) => r.method !== 'GET' && !r.path.endsWith('accessreviews'))).toEqual([]);
  }
});

test('deploy/rbac/ holds exactly the Roles src/core/delivery/roles.ts gives (npx tsx scripts/rbac-roles.ts)', () => {
  for (const role of [...SHIPPED_ROLES, MIGRATE_ROLE, ALL_ROLE]) {
    expect(readFileSync(join(import.meta.dirname, '../../deploy/rbac', `${role.name}.yaml`), 'utf8'), role.name).toBe(roleYaml(role));
  }
});
