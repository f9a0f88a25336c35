/**
 * Which API groups and versions a cluster serves. A test cluster can be started without some
 * (`omitApis: ['networking.istio.io/v1', 'gateway.networking.k8s.io']`), to behave as a cluster
 * without that CRD, or whose CRD does not serve that version (CRD spec.versions[].served: false):
 * the group or version is absent from every discovery document (legacy, aggregated, OpenAPI) and
 * its resource paths answer 404, as the kube-apiserver's apiextensions handler does for a
 * version it does not serve. The other versions of the same resource keep serving the same objects.
 */
import { RESOURCE_TYPES, apiVersionOf, groups, type ResourceType } from './resources.js';

export class ServedApis {
  private readonly omitted: Set<string>;
  /** The served types, each with only its served versions (the first served one preferred). */
  readonly types: ResourceType[];

  constructor(omit: string[] = []) {
    const known = groups();
    for (const entry of omit) {
      const [group, version, ...rest] = entry.split('/');
      const g = known.find((x) => x.name === group);
      if (!g || rest.length > 0 || (version !== undefined && !g.versions.includes(version))) {
        const all = known.flatMap((x) => [x.name, ...x.versions.map((v) => apiVersionOf(x.name, v))]);
        throw new Error(`omitApis: "${entry}" is not an API group or group/version the test cluster serves; use one of ${all.join(', ')}`);
      }
    }
    this.omitted = new Set(omit);
    this.types = RESOURCE_TYPES.map((t) => ({ ...t, versions: t.versions.filter((v) => this.serves(t.group, v)) })).filter(
      (t) => t.versions.length > 0,
    );
  }

  serves(group: string, version: string): boolean {
    return !this.omitted.has(group) && !this.omitted.has(`${group}/${version}`);
  }
}
