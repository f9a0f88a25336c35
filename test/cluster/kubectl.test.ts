/**
 * Conformance: the real kubectl (v1.32) against the test cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { deployment, startKubectlHarness, waitFor, type KubectlHarness } from './helpers.js';

let h: KubectlHarness;

beforeAll(async () => {
  h = await startKubectlHarness({ podReadyDelayMs: 20, progressDeadlineMs: 1000 });
});

afterAll(async () => {
  await h?.close();
});

async function writeManifest(name: string, objects: object[]): Promise<string> {
  const path = join(h.dir, name);
  await writeFile(path, objects.map((o) => stringify(o)).join('---\n'));
  return path;
}

const virtualService = {
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'VirtualService',
  metadata: { name: 'web' },
  spec: { hosts: ['web'], http: [{ name: 'primary', route: [{ destination: { host: 'web', subset: 'stable' }, weight: 100 }] }] },
};

describe('kubectl against the test cluster', () => {
  it('lists namespaces as JSON, including "default"', async () => {
    const r = await h.kubectl(['get', 'namespaces', '-o', 'json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list.kind).toBe('List');
    expect(list.items.map((i: any) => i.metadata.name)).toContain('default');
    expect(list.items.find((i: any) => i.metadata.name === 'default').status.phase).toBe('Active');
  });

  it('applies manifests: created, then configured, then unchanged', async () => {
    const v1 = await writeManifest('app-v1.yaml', [deployment('web', 'nginx:1.25'), virtualService]);
    let r = await h.kubectl(['apply', '-f', v1]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployment.apps/web created');
    expect(r.stdout).toContain('virtualservice.networking.istio.io/web created');

    r = await h.kubectl(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployment "web" successfully rolled out');

    const v2 = await writeManifest('app-v2.yaml', [deployment('web', 'nginx:1.26'), virtualService]);
    r = await h.kubectl(['apply', '-f', v2]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployment.apps/web configured');
    expect(r.stdout).toContain('virtualservice.networking.istio.io/web unchanged');

    r = await h.kubectl(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(r.code, r.stderr).toBe(0);
    const d = h.cluster.get('apps/v1', 'Deployment', 'default', 'web');
    expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.26');
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    expect(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('nginx:1.26');
  });

  it('prints objects as YAML and as a table', async () => {
    let r = await h.kubectl(['get', 'deploy', 'web', '-o', 'yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^apiVersion: apps\/v1\nkind: Deployment\n/);
    r = await h.kubectl(['get', 'vs']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+AGE\nweb\s+\d+s\n$/);
    r = await h.kubectl(['get', 'deploy', '-l', 'app=web']);
    expect(r.stdout).toMatch(/web\s+2\/2\s+2\s+2/);
    r = await h.kubectl(['get', 'deploy', '-l', 'app!=web']);
    expect(r.stderr).toContain('No resources found in default namespace.');
  });

  it('patches with --type=json, merge and strategic', async () => {
    let r = await h.kubectl(['patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":3}]']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployment.apps/web patched');
    expect(h.cluster.get('apps/v1', 'Deployment', 'default', 'web').spec.replicas).toBe(3);

    r = await h.kubectl(['patch', 'deploy', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"tier":"frontend"}}}']);
    expect(r.code, r.stderr).toBe(0);
    expect(h.cluster.get('apps/v1', 'Deployment', 'default', 'web').metadata.labels).toEqual({ app: 'web', tier: 'frontend' });

    // Strategic merge: the container list is merged by name, so the image and ports stay.
    r = await h.kubectl([
      'patch',
      'deploy',
      'web',
      '--type=strategic',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"MODE","value":"x"}]}]}}}}',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const c = h.cluster.get('apps/v1', 'Deployment', 'default', 'web').spec.template.spec.containers;
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({ name: 'app', image: 'nginx:1.26', env: [{ name: 'MODE', value: 'x' }], ports: [{ containerPort: 8080 }] });

    r = await h.kubectl(['patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":99}]']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('testing value /spec/replicas failed');
  });

  it('refuses a strategic merge patch on a VirtualService but takes a merge patch', async () => {
    let r = await h.kubectl(['patch', 'vs', 'web', '--type=strategic', '-p', '{"spec":{"hosts":["other"]}}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('application/strategic-merge-patch+json is not supported');
    r = await h.kubectl(['patch', 'virtualservice', 'web', '--type=merge', '-p', '{"spec":{"hosts":["other"]}}']);
    expect(r.code, r.stderr).toBe(0);
    const vs = h.cluster.get('networking.istio.io/v1', 'VirtualService', 'default', 'web');
    expect(vs.spec.hosts).toEqual(['other']);
    expect(vs.metadata.generation).toBe(2);
  });

  it('rollout status fails with a fail-rollout image after the progress deadline', async () => {
    await h.kubectl(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    let r = await h.kubectl(['set', 'image', 'deployment/web', 'app=registry.local/app:fail-rollout']);
    expect(r.code, r.stderr).toBe(0);
    const started = Date.now();
    r = await h.kubectl(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: deployment "web" exceeded its progress deadline');
    expect(Date.now() - started).toBeLessThan(10_000);
    const d = h.cluster.get('apps/v1', 'Deployment', 'default', 'web');
    const progressing = d.status.conditions.find((c: any) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    // The old pods keep serving: the deployment stays available.
    expect(d.status.conditions.find((c: any) => c.type === 'Available').status).toBe('True');
    expect(d.status.availableReplicas).toBe(3);
  });

  it('rollout undo goes back to the previous template, and --to-revision to a chosen one', async () => {
    let r = await h.kubectl(['rollout', 'undo', 'deployment/web']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployment.apps/web rolled back');
    r = await h.kubectl(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(r.code, r.stderr).toBe(0);
    let d = h.cluster.get('apps/v1', 'Deployment', 'default', 'web');
    expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.26');

    r = await h.kubectl(['rollout', 'history', 'deployment/web']);
    expect(r.code, r.stderr).toBe(0);
    const revisions = r.stdout
      .split('\n')
      .filter((l) => /^\d+\s/.test(l))
      .map((l) => Number(l.split(/\s+/)[0]));
    expect(revisions.length).toBeGreaterThanOrEqual(3);

    r = await h.kubectl(['rollout', 'undo', 'deployment/web', '--to-revision=1']);
    expect(r.code, r.stderr).toBe(0);
    r = await h.kubectl(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(r.code, r.stderr).toBe(0);
    d = h.cluster.get('apps/v1', 'Deployment', 'default', 'web');
    expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.25');
    // The revision-1 ReplicaSet was reused (no new one) and became the newest revision.
    const rs = JSON.parse((await h.kubectl(['get', 'rs', '-l', 'app=web', '-o', 'json'])).stdout).items;
    const active = rs.filter((x: any) => x.spec.replicas > 0);
    expect(active).toHaveLength(1);
    expect(active[0].spec.template.spec.containers[0].image).toBe('nginx:1.25');
    expect(active[0].metadata.annotations['deployment.kubernetes.io/revision']).toBe(
      d.metadata.annotations['deployment.kubernetes.io/revision'],
    );

    r = await h.kubectl(['rollout', 'undo', 'deployment/web', '--to-revision=999']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unable to find specified revision 999 in history');
  });

  it('scales through the scale subresource', async () => {
    const r = await h.kubectl(['scale', 'deployment/web', '--replicas=1']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => h.cluster.get('apps/v1', 'Deployment', 'default', 'web').status.replicas === 1, 5000, 'scale down');
    const pods = JSON.parse((await h.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'json'])).stdout).items;
    expect(pods).toHaveLength(1);
    expect(pods[0].status.phase).toBe('Running');
  });

  it('deletes a deployment and garbage-collects its ReplicaSets and Pods', async () => {
    let r = await h.kubectl(['delete', 'deployment', 'web']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployment.apps "web" deleted');
    r = await h.kubectl(['get', 'rs,pods', '-l', 'app=web', '-o', 'json']);
    expect(JSON.parse(r.stdout).items).toEqual([]);
    r = await h.kubectl(['get', 'deployment', 'web']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error from server (NotFound): deployments.apps "web" not found');
  });

  it("rejects an invalid object with the server's 422 message", async () => {
    const bad = deployment('Bad_Name', 'nginx');
    const path = await writeManifest('bad.yaml', [bad]);
    const r = await h.kubectl(['apply', '-f', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The Deployment "Bad_Name" is invalid');
    expect(r.stderr).toContain('metadata.name: Invalid value: "Bad_Name"');
  });

  it('creates ConfigMaps, Secrets and Namespaces imperatively (protobuf bodies)', async () => {
    let r = await h.kubectl(['create', 'namespace', 'imperative']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('namespace/imperative created');
    r = await h.kubectl(['-n', 'imperative', 'create', 'configmap', 'cfg', '--from-literal=mode=blue']);
    expect(r.code, r.stderr).toBe(0);
    r = await h.kubectl(['-n', 'imperative', 'create', 'secret', 'generic', 'pw', '--from-literal=password=s3cret']);
    expect(r.code, r.stderr).toBe(0);
    expect(h.cluster.get('v1', 'ConfigMap', 'imperative', 'cfg').data).toEqual({ mode: 'blue' });
    const secret = h.cluster.get('v1', 'Secret', 'imperative', 'pw');
    expect(secret.type).toBe('Opaque');
    expect(Buffer.from(secret.data.password, 'base64').toString()).toBe('s3cret');
    r = await h.kubectl(['delete', 'namespace', 'imperative']);
    expect(r.code, r.stderr).toBe(0);
    expect(h.cluster.get('v1', 'ConfigMap', 'imperative', 'cfg')).toBeUndefined();
  });

  it('fails with Unauthorized for a wrong token', async () => {
    const r = await h.kubectl(['--token', 'wrong', 'get', 'pods']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unauthorized');
  });
});
