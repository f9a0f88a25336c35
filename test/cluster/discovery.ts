/**
 * Discovery documents: /version, legacy discovery (/api, /api/v1, /apis,
 * /apis/<group>, /apis/<group>/<version>) and aggregated discovery
 * (apidiscovery.k8s.io/v2 APIGroupDiscoveryList), which kubectl 1.32 asks for first.
 */
import { apiVersionOf, groups, RESOURCE_TYPES, verbsFor, type ResourceType } from './resources.js';

export const AGGREGATED_DISCOVERY_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function versionInfo(): object {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-testcluster',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.23.4',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

const SERVER_ADDRESS = [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }];

export function legacyApiVersions(): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: SERVER_ADDRESS };
}

function groupDoc(g: { name: string; versions: string[] }): object {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

// Every document below describes the given types (ServedApis.types: all but omitted groups/versions).

export function apiGroupList(types: ResourceType[] = RESOURCE_TYPES): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups(types).map(groupDoc) };
}

export function apiGroup(name: string, types: ResourceType[] = RESOURCE_TYPES): object | undefined {
  const g = groups(types).find((x) => x.name === name);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g) } : undefined;
}

function typesIn(group: string, version: string, types: ResourceType[]): ResourceType[] {
  return types.filter((t) => t.group === group && t.versions.includes(version));
}

/** What a subresource answers and allows: scale is an autoscaling/v1 Scale, token a TokenRequest (create only). */
function subresourceFacts(
  t: ResourceType,
  version: string,
  sub: string,
): { group: string; version: string; kind: string; verbs: string[] } {
  if (sub === 'scale') return { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
  if (sub === 'token') return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
  return { group: t.group, version, kind: t.kind, verbs: ['get', 'patch', 'update'] };
}

export function apiResourceList(group: string, version: string, served: ResourceType[] = RESOURCE_TYPES): object | undefined {
  const types = typesIn(group, version, served);
  if (types.length === 0) return undefined;
  const resources: object[] = [];
  for (const t of types) {
    const r: Record<string, unknown> = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: verbsFor(t),
    };
    if (t.shortNames.length) r.shortNames = t.shortNames;
    if (t.categories.length) r.categories = t.categories;
    resources.push(r);
    for (const sub of t.subresources) {
      const f = subresourceFacts(t, version, sub);
      const s: Record<string, unknown> = {
        name: `${t.plural}/${sub}`,
        singularName: '',
        namespaced: t.namespaced,
        kind: f.kind,
        verbs: f.verbs,
      };
      if (f.group !== t.group || f.version !== version) Object.assign(s, { group: f.group, version: f.version });
      resources.push(s);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(group, version), resources };
}

function aggregatedResources(group: string, version: string, types: ResourceType[]): object[] {
  return typesIn(group, version, types).map((t) => {
    const r: Record<string, unknown> = {
      resource: t.plural,
      responseKind: { group: t.group, version, kind: t.kind },
      scope: t.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: t.singular,
      verbs: verbsFor(t),
    };
    if (t.shortNames.length) r.shortNames = t.shortNames;
    if (t.categories.length) r.categories = t.categories;
    if (t.subresources.length) {
      r.subresources = t.subresources.map((sub) => {
        const f = subresourceFacts(t, version, sub);
        return { subresource: sub, responseKind: { group: f.group, version: f.version, kind: f.kind }, verbs: f.verbs };
      });
    }
    return r;
  });
}

/** Aggregated discovery for /api (core) or /apis (all named groups). */
export function aggregatedDiscovery(core: boolean, types: ResourceType[] = RESOURCE_TYPES): object {
  const items = core
    ? [
        {
          metadata: { creationTimestamp: null },
          versions: [{ version: 'v1', resources: aggregatedResources('', 'v1', types), freshness: 'Current' }],
        },
      ]
    : groups(types).map((g) => ({
        metadata: { name: g.name, creationTimestamp: null },
        versions: g.versions.map((v) => ({ version: v, resources: aggregatedResources(g.name, v, types), freshness: 'Current' })),
      }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

export function wantsAggregated(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const p = part.replace(/\s+/g, '');
    return p.includes('as=APIGroupDiscoveryList') && p.includes('g=apidiscovery.k8s.io') && p.includes('v=v2') && !p.includes('v=v2beta1');
  });
}
