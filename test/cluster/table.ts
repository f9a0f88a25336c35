/**
 * Server-side printing: the meta.k8s.io/v1 Table kubectl asks for in `kubectl get`.
 */
import type { ResourceType } from './resources.js';

type Column = { name: string; type: string; format?: string; get: (o: any) => unknown };

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && accept.split(',')[0]!.replace(/\s+/g, '').includes('as=Table');
}

export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', get: (o) => o.metadata?.name };
const age: Column = {
  name: 'Age',
  type: 'string',
  get: (o) => (o.metadata?.creationTimestamp ? humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp)) : '<unknown>'),
};

function podReady(o: any): string {
  const statuses: any[] = o.status?.containerStatuses ?? [];
  const total = o.spec?.containers?.length ?? 0;
  return `${statuses.filter((c) => c.ready).length}/${total}`;
}

function podStatus(o: any): string {
  const waiting = (o.status?.containerStatuses ?? []).find((c: any) => c.state?.waiting?.reason);
  return waiting?.state.waiting.reason ?? o.status?.phase ?? 'Pending';
}

const COLUMNS: Record<string, Column[]> = {
  Deployment: [
    name,
    { name: 'Ready', type: 'string', get: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}` },
    { name: 'Up-to-date', type: 'integer', get: (o) => o.status?.updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', get: (o) => o.status?.availableReplicas ?? 0 },
    age,
  ],
  ReplicaSet: [
    name,
    { name: 'Desired', type: 'integer', get: (o) => o.spec?.replicas ?? 0 },
    { name: 'Current', type: 'integer', get: (o) => o.status?.replicas ?? 0 },
    { name: 'Ready', type: 'integer', get: (o) => o.status?.readyReplicas ?? 0 },
    age,
  ],
  Pod: [
    name,
    { name: 'Ready', type: 'string', get: podReady },
    { name: 'Status', type: 'string', get: podStatus },
    { name: 'Restarts', type: 'string', get: () => '0' },
    age,
  ],
  Service: [
    name,
    { name: 'Type', type: 'string', get: (o) => o.spec?.type ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', get: (o) => o.spec?.clusterIP ?? '<none>' },
    { name: 'External-IP', type: 'string', get: () => '<none>' },
    {
      name: 'Port(s)',
      type: 'string',
      get: (o) => (o.spec?.ports ?? []).map((p: any) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') || '<none>',
    },
    age,
  ],
  ConfigMap: [
    name,
    { name: 'Data', type: 'integer', get: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length },
    age,
  ],
  Secret: [
    name,
    { name: 'Type', type: 'string', get: (o) => o.type ?? 'Opaque' },
    { name: 'Data', type: 'integer', get: (o) => Object.keys(o.data ?? {}).length },
    age,
  ],
  Namespace: [name, { name: 'Status', type: 'string', get: (o) => o.status?.phase ?? 'Active' }, age],
  Rollout: [
    name,
    { name: 'Desired', type: 'integer', get: (o) => o.spec?.replicas ?? 0 },
    { name: 'Current', type: 'integer', get: (o) => o.status?.replicas ?? 0 },
    { name: 'Up-to-date', type: 'integer', get: (o) => o.status?.updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', get: (o) => o.status?.availableReplicas ?? 0 },
    age,
  ],
};

function partialMetadata(o: any): object {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

/** A Table for a single object or a list. */
export function toTable(t: ResourceType, body: any): object {
  const columns = COLUMNS[t.kind] ?? [name, age];
  const items: any[] = Array.isArray(body?.items) ? body.items : [body];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: body?.metadata?.resourceVersion ?? '' },
    columnDefinitions: columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.name, priority: 0 })),
    rows: items.map((o) => ({ cells: columns.map((c) => c.get(o)), object: partialMetadata(o) })),
  };
}
