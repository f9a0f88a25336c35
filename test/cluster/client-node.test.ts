/**
 * The same behaviours through @kubernetes/client-node 2.x.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  ADD,
  UPDATE,
  DELETE,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from './server.js';
import { deployment, waitFor } from './helpers.js';

let cluster: TestCluster;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;
const ns = 'default';

beforeAll(async () => {
  cluster = await startTestCluster({ podReadyDelayMs: 20 });
  kc = new KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
});

afterAll(async () => {
  await cluster?.stop();
});

beforeEach(() => {
  cluster.faults.clear();
});

/** The error a client-node call rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<{ code: number; body: any; headers: Record<string, string> }> {
  try {
    await p;
  } catch (err: any) {
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return { code: err.code, body, headers: err.headers ?? {} };
  }
  throw new Error('expected the call to fail');
}

const patchAs = (type: string) => setHeaderOptions('Content-Type', type);

describe('client-node against the test cluster', () => {
  it('creates, reads, replaces and deletes a ConfigMap', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'settings', labels: { app: 'a' } }, data: { mode: 'blue' } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);

    const read = await core.readNamespacedConfigMap({ name: 'settings', namespace: ns });
    expect(read.data).toEqual({ mode: 'blue' });

    read.data = { mode: 'green' };
    const replaced = await core.replaceNamespacedConfigMap({ name: 'settings', namespace: ns, body: read });
    expect(replaced.data).toEqual({ mode: 'green' });
    expect(Number(replaced.metadata!.resourceVersion)).toBeGreaterThan(Number(read.metadata!.resourceVersion));

    const dup = await failure(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'settings' } } }));
    expect(dup.code).toBe(409);
    expect(dup.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'AlreadyExists',
      message: 'configmaps "settings" already exists',
    });

    await core.deleteNamespacedConfigMap({ name: 'settings', namespace: ns });
    const gone = await failure(core.readNamespacedConfigMap({ name: 'settings', namespace: ns }));
    expect(gone.code).toBe(404);
    expect(gone.body).toMatchObject({
      reason: 'NotFound',
      message: 'configmaps "settings" not found',
      details: { name: 'settings', kind: 'configmaps' },
    });
  });

  it('answers 409 Conflict to a write with a stale resourceVersion', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'conflict' }, data: { v: '0' } } });
    const first = await core.readNamespacedConfigMap({ name: 'conflict', namespace: ns });
    const stale = structuredClone(first);
    first.data = { v: '1' };
    await core.replaceNamespacedConfigMap({ name: 'conflict', namespace: ns, body: first });
    stale.data = { v: '2' };
    const put = await failure(core.replaceNamespacedConfigMap({ name: 'conflict', namespace: ns, body: stale }));
    expect(put.code).toBe(409);
    expect(put.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on configmaps "conflict": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'conflict', kind: 'configmaps' },
    });
    expect(cluster.get('v1', 'ConfigMap', ns, 'conflict').data).toEqual({ v: '1' });

    // A patch that carries a stale resourceVersion is refused the same way.
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('conflict', 'app:1', 1) });
    const patch = await failure(
      apps.patchNamespacedDeployment(
        { name: 'conflict', namespace: ns, body: { metadata: { resourceVersion: '1' }, spec: { replicas: 4 } } },
        patchAs(PatchStrategy.MergePatch),
      ),
    );
    expect(patch.code).toBe(409);
    expect(patch.body.message).toBe(
      'Operation cannot be fulfilled on deployments.apps "conflict": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('bumps generation on spec changes only; status writes go through /status', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('gen', 'app:1', 1) });
    const d0 = await apps.readNamespacedDeployment({ name: 'gen', namespace: ns });
    expect(d0.metadata?.generation).toBe(1);

    const labelled = await apps.patchNamespacedDeployment(
      { name: 'gen', namespace: ns, body: { metadata: { labels: { extra: 'yes' } } } },
      patchAs(PatchStrategy.MergePatch),
    );
    expect(labelled.metadata?.generation).toBe(1);

    // A status change sent to the main resource is ignored.
    const ignored = await apps.patchNamespacedDeployment(
      { name: 'gen', namespace: ns, body: { status: { replicas: 42 } } },
      patchAs(PatchStrategy.MergePatch),
    );
    expect(ignored.status?.replicas).not.toBe(42);

    const scaled = await apps.patchNamespacedDeployment(
      { name: 'gen', namespace: ns, body: [{ op: 'replace', path: '/spec/replicas', value: 2 }] },
      patchAs(PatchStrategy.JsonPatch),
    );
    expect(scaled.metadata?.generation).toBe(2);

    // A spec change sent to /status is ignored; the status change is kept.
    const statusWrite = await apps.patchNamespacedDeploymentStatus(
      { name: 'gen', namespace: ns, body: { spec: { replicas: 7 }, status: { observedGeneration: 99 } } },
      patchAs(PatchStrategy.MergePatch),
    );
    expect(statusWrite.spec?.replicas).toBe(2);
    expect(statusWrite.status?.observedGeneration).toBe(99);
    expect(statusWrite.metadata?.generation).toBe(2);

    // The controller catches up and reports the rollout.
    const done = await waitFor(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'gen', namespace: ns });
        return d.status?.observedGeneration === 2 && d.status.availableReplicas === 2 ? d : undefined;
      },
      5000,
      'deployment available',
    );
    const progressing = done.status?.conditions?.find((c) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(done.status?.conditions?.find((c) => c.type === 'Available')).toMatchObject({
      status: 'True',
      reason: 'MinimumReplicasAvailable',
    });
  });

  it('rejects a failed JSON patch test with 422 and leaves the object alone', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'guarded' }, data: { owner: 'a' } } });
    const err = await failure(
      core.patchNamespacedConfigMap(
        {
          name: 'guarded',
          namespace: ns,
          body: [
            { op: 'test', path: '/data/owner', value: 'b' },
            { op: 'replace', path: '/data/owner', value: 'c' },
          ],
        },
        patchAs(PatchStrategy.JsonPatch),
      ),
    );
    expect(err.code).toBe(422);
    expect(err.body).toMatchObject({ kind: 'Status', reason: 'Invalid' });
    expect(JSON.stringify(err.body)).toContain('testing value /data/owner failed');
    expect(cluster.get('v1', 'ConfigMap', ns, 'guarded').data).toEqual({ owner: 'a' });

    const ok = await core.patchNamespacedConfigMap(
      {
        name: 'guarded',
        namespace: ns,
        body: [
          { op: 'test', path: '/data/owner', value: 'a' },
          { op: 'replace', path: '/data/owner', value: 'c' },
        ],
      },
      patchAs(PatchStrategy.JsonPatch),
    );
    expect(ok.data).toEqual({ owner: 'c' });
  });

  it('rejects invalid objects with 422 and details.causes', async () => {
    const bad = deployment('mismatch', 'app:1');
    bad.spec.selector.matchLabels = { app: 'other' };
    bad.spec.replicas = -1;
    const err = await failure(apps.createNamespacedDeployment({ namespace: ns, body: bad }));
    expect(err.code).toBe(422);
    expect(err.body.reason).toBe('Invalid');
    expect(err.body.message).toMatch(/^Deployment\.apps "mismatch" is invalid: /);
    const fields = err.body.details.causes.map((c: any) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.replicas', 'spec.template.metadata.labels']));
    expect(err.body.details).toMatchObject({ name: 'mismatch', group: 'apps', kind: 'Deployment' });
  });

  it('filters lists with label and field selectors, across namespaces too', async () => {
    await cluster.apply([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sel-a', namespace: 'team-a', labels: { tier: 'web', track: 'stable' } } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sel-b', namespace: 'team-a', labels: { tier: 'web', track: 'canary' } } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sel-c', namespace: 'team-b', labels: { tier: 'db' } } },
    ]);
    const names = async (labelSelector: string) =>
      (await core.listConfigMapForAllNamespaces({ labelSelector })).items.map((i) => i.metadata!.name).sort();
    expect(await names('tier=web')).toEqual(['sel-a', 'sel-b']);
    expect(await names('tier==web,track!=canary')).toEqual(['sel-a']);
    expect(await names('tier in (db, cache)')).toEqual(['sel-c']);
    expect(await names('tier,track notin (stable)')).toEqual(['sel-b', 'sel-c']);
    expect(await names('track')).toEqual(['sel-a', 'sel-b']);
    expect(await names('tier,!track')).toEqual(['sel-c']);
    const inA = await core.listNamespacedConfigMap({ namespace: 'team-a', fieldSelector: 'metadata.name=sel-b' });
    expect(inA.items.map((i) => i.metadata!.name)).toEqual(['sel-b']);
    const bad = await failure(core.listNamespacedConfigMap({ namespace: 'team-a', labelSelector: 'a in b' }));
    expect(bad.code).toBe(400);
  });

  it('streams ADDED, MODIFIED and DELETED events to a Watch', async () => {
    const events: { type: string; name: string; value?: string }[] = [];
    const watch = new Watch(kc);
    let ended: unknown = 'open';
    const controller = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { labelSelector: 'watched=yes' },
      (type, obj: V1ConfigMap) => events.push({ type, name: obj.metadata!.name!, value: obj.data?.v }),
      (err) => (ended = err),
    );
    const body = (v: string) => ({ metadata: { name: 'w1', labels: { watched: 'yes' } }, data: { v } });
    await core.createNamespacedConfigMap({ namespace: ns, body: body('1') });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'not-watched' } } });
    await core.replaceNamespacedConfigMap({ name: 'w1', namespace: ns, body: body('2') });
    await core.deleteNamespacedConfigMap({ name: 'w1', namespace: ns });
    await waitFor(() => events.length >= 3, 3000, 'watch events');
    expect(events).toEqual([
      { type: 'ADDED', name: 'w1', value: '1' },
      { type: 'MODIFIED', name: 'w1', value: '2' },
      { type: 'DELETED', name: 'w1', value: '2' },
    ]);
    controller.abort();
    await waitFor(() => ended !== 'open', 3000, 'watch end');
  });

  it('resumes a watch from a resourceVersion and honours a name field selector', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'resume' }, data: { v: '1' } } });
    await core.replaceNamespacedConfigMap({ name: 'resume', namespace: ns, body: { metadata: { name: 'resume' }, data: { v: '2' } } });
    const events: string[] = [];
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: created.metadata!.resourceVersion, fieldSelector: 'metadata.name=resume' },
      (type, obj: V1ConfigMap) => events.push(`${type}:${obj.data?.v}`),
      () => {},
    );
    await waitFor(() => events.length >= 1, 3000, 'replayed event');
    expect(events).toEqual(['MODIFIED:2']);
    controller.abort();
  });

  it('feeds a client-node informer (list, then watch from the list resourceVersion)', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'inf-1', labels: { inf: 'y' } } } });
    const informer = makeInformer(
      kc,
      `/api/v1/namespaces/${ns}/configmaps`,
      () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'inf=y' }),
      'inf=y',
    );
    const seen: string[] = [];
    informer.on(ADD, (o: V1ConfigMap) => seen.push(`add:${o.metadata!.name}`));
    informer.on(UPDATE, (o: V1ConfigMap) => seen.push(`update:${o.metadata!.name}`));
    informer.on(DELETE, (o: V1ConfigMap) => seen.push(`delete:${o.metadata!.name}`));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'inf-2', labels: { inf: 'y' } } } });
    await core.patchNamespacedConfigMap({ name: 'inf-1', namespace: ns, body: { data: { a: 'b' } } }, patchAs(PatchStrategy.MergePatch));
    await core.deleteNamespacedConfigMap({ name: 'inf-2', namespace: ns });
    await waitFor(() => seen.length >= 4, 3000, 'informer events');
    await informer.stop();
    expect(seen).toEqual(['add:inf-1', 'add:inf-2', 'update:inf-1', 'delete:inf-2']);
    expect(informer.list().map((o) => o.metadata!.name)).toEqual(['inf-1']);
  });

  it('works with custom resources and refuses strategic merge patches on them', async () => {
    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'shop' },
      spec: { hosts: ['shop'], http: [{ route: [{ destination: { host: 'shop-stable' }, weight: 100 }] }] },
    };
    await custom.createNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      namespace: ns,
      plural: 'virtualservices',
      body: vs,
    });
    const viaBeta: any = await custom.getNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1beta1',
      namespace: ns,
      plural: 'virtualservices',
      name: 'shop',
    });
    expect(viaBeta.apiVersion).toBe('networking.istio.io/v1beta1');
    expect(viaBeta.spec.hosts).toEqual(['shop']);

    const refused = await failure(
      custom.patchNamespacedCustomObject(
        {
          group: 'networking.istio.io',
          version: 'v1',
          namespace: ns,
          plural: 'virtualservices',
          name: 'shop',
          body: { spec: { hosts: ['x'] } },
        },
        patchAs(PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(refused.code).toBe(415);
    expect(refused.body.reason).toBe('UnsupportedMediaType');

    const patched: any = await custom.patchNamespacedCustomObject(
      {
        group: 'networking.istio.io',
        version: 'v1',
        namespace: ns,
        plural: 'virtualservices',
        name: 'shop',
        body: [{ op: 'replace', path: '/spec/http/0/route/0/weight', value: 90 }],
      },
      patchAs(PatchStrategy.JsonPatch),
    );
    expect(patched.spec.http[0].route[0].weight).toBe(90);
    expect(patched.metadata.generation).toBe(2);
  });

  it('reports injected faults: 429 with Retry-After, 503, delay and a dropped connection', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'faulty' } } });
    const read = () => core.readNamespacedConfigMap({ name: 'faulty', namespace: ns });

    const throttle = cluster.faults.add({
      method: 'GET',
      path: '/api/v1/namespaces/default/configmaps/faulty',
      status: 429,
      retryAfterSeconds: 2,
      times: 1,
    });
    const throttled = await failure(read());
    expect(throttled.code).toBe(429);
    expect(throttled.headers['retry-after']).toBe('2');
    expect(throttled.body).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 2 } });
    expect(cluster.faults.hits(throttle)).toBe(1);
    expect((await read()).metadata?.name).toBe('faulty'); // times: 1 is used up

    const unavailable = cluster.faults.add({ path: /configmaps\/faulty$/, status: 503 });
    expect((await failure(read())).code).toBe(503);
    expect((await failure(read())).body.reason).toBe('ServiceUnavailable');
    cluster.faults.remove(unavailable);

    cluster.faults.add({ path: '/api/v1/namespaces/default/configmaps/faulty', delayMs: 300, times: 1 });
    const started = Date.now();
    expect((await read()).metadata?.name).toBe('faulty');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    cluster.faults.add({ path: '/api/v1/namespaces/default/configmaps/faulty', drop: true, times: 1 });
    await expect(read()).rejects.toThrow();
    expect((await read()).metadata?.name).toBe('faulty');

    const last = cluster.requests.filter((r) => r.path === '/api/v1/namespaces/default/configmaps/faulty').map((r) => r.status);
    expect(last).toEqual([200, 429, 200, 503, 503, 200, 0, 200].slice(-last.length));
  });

  it('moves Deployment status through a rollout, as a watch sees it', async () => {
    const reasons: string[] = [];
    const controller = await new Watch(kc).watch(
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      { fieldSelector: 'metadata.name=moving' },
      (_type, d: any) => {
        const reason = d.status?.conditions?.find((c: any) => c.type === 'Progressing')?.reason;
        if (reason && reasons.at(-1) !== reason) reasons.push(reason);
      },
      () => {},
    );
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('moving', 'app:1', 2) });
    await waitFor(() => reasons.at(-1) === 'NewReplicaSetAvailable', 5000, 'first rollout');
    await apps.patchNamespacedDeployment(
      { name: 'moving', namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2' }] } } } } },
      patchAs(PatchStrategy.StrategicMergePatch),
    );
    const milestones = () => reasons.filter((r) => r !== 'ReplicaSetUpdated');
    await waitFor(() => milestones().length >= 4, 5000, 'second rollout');
    controller.abort();
    // ReplicaSetUpdated may show up in between, as progress is made.
    expect(milestones()).toEqual(['NewReplicaSetCreated', 'NewReplicaSetAvailable', 'NewReplicaSetCreated', 'NewReplicaSetAvailable']);
    expect(new Set(reasons)).toEqual(
      new Set([...reasons].filter((r) => ['NewReplicaSetCreated', 'ReplicaSetUpdated', 'NewReplicaSetAvailable'].includes(r))),
    );
    const d = await apps.readNamespacedDeployment({ name: 'moving', namespace: ns });
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(d.status).toMatchObject({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    const rs = await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=moving' });
    expect(rs.items.map((r) => [r.metadata?.annotations?.['deployment.kubernetes.io/revision'], r.spec?.replicas]).sort()).toEqual([
      ['1', 0],
      ['2', 2],
    ]);
    const newRS = rs.items.find((r) => r.spec?.replicas === 2)!;
    expect(newRS.metadata?.name).toBe(`moving-${newRS.metadata?.labels?.['pod-template-hash']}`);
    expect(newRS.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'moving', controller: true });
    const pods = await core.listNamespacedPod({
      namespace: ns,
      labelSelector: `pod-template-hash=${newRS.metadata?.labels?.['pod-template-hash']}`,
    });
    expect(pods.items).toHaveLength(2);
    expect(pods.items.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))).toBe(true);
  });

  it('respects spec.paused and resumes the rollout afterwards', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('pausable', 'app:1', 1) });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'pausable', namespace: ns })).status?.availableReplicas === 1,
      5000,
      'available',
    );
    await apps.patchNamespacedDeployment(
      { name: 'pausable', namespace: ns, body: { spec: { paused: true } } },
      patchAs(PatchStrategy.MergePatch),
    );
    await apps.patchNamespacedDeployment(
      { name: 'pausable', namespace: ns, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'app:2' }] },
      patchAs(PatchStrategy.JsonPatch),
    );
    const paused = await waitFor(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'pausable', namespace: ns });
        return d.status?.observedGeneration === d.metadata?.generation ? d : undefined;
      },
      5000,
      'observed',
    );
    expect(paused.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'Unknown',
      reason: 'DeploymentPaused',
    });
    expect((await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=pausable' })).items).toHaveLength(1);
    await apps.patchNamespacedDeployment(
      { name: 'pausable', namespace: ns, body: { spec: { paused: false } } },
      patchAs(PatchStrategy.MergePatch),
    );
    await waitFor(
      async () => (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=pausable' })).items.length === 2,
      5000,
      'new RS',
    );
  });

  it('scales through the scale subresource and orphans on propagationPolicy=Orphan', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('orphan', 'app:1', 1) });
    const scale = await apps.replaceNamespacedDeploymentScale({
      name: 'orphan',
      namespace: ns,
      body: { metadata: { name: 'orphan' }, spec: { replicas: 3 } },
    });
    expect(scale.spec?.replicas).toBe(3);
    expect(scale.status?.selector).toBe('app=orphan');
    await waitFor(
      async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=orphan' })).items.length === 3,
      5000,
      '3 pods',
    );
    await apps.deleteNamespacedDeployment({ name: 'orphan', namespace: ns, propagationPolicy: 'Orphan' });
    const rs = await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=orphan' });
    expect(rs.items).toHaveLength(1);
    expect(rs.items[0]!.metadata?.ownerReferences).toBeUndefined();
    expect((await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=orphan' })).items).toHaveLength(3);
  });

  it('serves Leases with optimistic concurrency', async () => {
    const coordination = kc.makeApiClient(CoordinationV1Api);
    const lease = await coordination.createNamespacedLease({
      namespace: ns,
      body: { metadata: { name: 'deploy-lock' }, spec: { holderIdentity: 'job-1', leaseDurationSeconds: 15 } },
    });
    lease.spec!.holderIdentity = 'job-2';
    await coordination.replaceNamespacedLease({ name: 'deploy-lock', namespace: ns, body: lease });
    lease.spec!.holderIdentity = 'job-3';
    const err = await failure(coordination.replaceNamespacedLease({ name: 'deploy-lock', namespace: ns, body: lease }));
    expect(err.code).toBe(409);
    expect(err.body.message).toContain('Operation cannot be fulfilled on leases.coordination.k8s.io "deploy-lock"');
    expect((await coordination.readNamespacedLease({ name: 'deploy-lock', namespace: ns })).spec?.holderIdentity).toBe('job-2');
  });

  it('answers 401 to a wrong token', async () => {
    const other = new KubeConfig();
    other.loadFromString(cluster.kubeconfig.replace(cluster.token, 'not-the-token'));
    const err = await failure(other.makeApiClient(CoreV1Api).listNamespace());
    expect(err.code).toBe(401);
    // client-node does not decode 401 bodies; the Status object itself is checked in http.test.ts.
    expect(cluster.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/namespaces', status: 401 });
  });
});
