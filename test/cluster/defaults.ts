/**
 * Defaulting the real API server applies on every write (a subset: the fields
 * controllers, kubectl and our actions read back).
 */
import type { ResourceType } from './resources.js';
import type { KubeObject } from './store.js';

function defaultContainers(containers: any[] | undefined): void {
  for (const c of containers ?? []) {
    if (!c || typeof c !== 'object') continue;
    if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
      const tagged = /:[^/]+$/.test(c.image) && !c.image.endsWith(':latest');
      c.imagePullPolicy = tagged || c.image.includes('@') ? 'IfNotPresent' : 'Always';
    }
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  }
}

function defaultPodSpec(spec: any): void {
  if (!spec || typeof spec !== 'object') return;
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
}

/**
 * A defaulted copy of a pod template, as a built-in PodTemplate gets on write
 * (corev1defaults.SetObjectDefaults_PodTemplate, what Argo Rollouts applies to a
 * Rollout's template before comparing it with a ReplicaSet's).
 */
export function defaultPodTemplate(template: any): any {
  const copy = structuredClone(template ?? {});
  defaultPodSpec(copy.spec);
  return copy;
}

let nextClusterIp = 10;

export function applyDefaults(t: ResourceType, obj: KubeObject): void {
  const spec = obj.spec;
  switch (t.kind) {
    case 'Deployment':
      if (!spec) return;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= { type: 'RollingUpdate' };
      spec.strategy.type ??= 'RollingUpdate';
      if (spec.strategy.type === 'RollingUpdate') {
        spec.strategy.rollingUpdate ??= {};
        spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
        spec.strategy.rollingUpdate.maxSurge ??= '25%';
      }
      defaultPodSpec(spec.template?.spec);
      break;
    case 'ReplicaSet':
      if (!spec) return;
      spec.replicas ??= 1;
      defaultPodSpec(spec.template?.spec);
      break;
    case 'Rollout':
      // A custom resource: the API server applies only its CRD schema's defaults, and Argo's
      // Rollout CRD declares none for the pod template (the controller defaults a copy when it
      // compares templates: PodTemplateEqualIgnoreHash). See defaultPodTemplate.
      break;
    case 'Pod':
      defaultPodSpec(spec);
      break;
    case 'Service':
      if (!spec) return;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.type !== 'ExternalName' && spec.clusterIP === undefined) {
        const n = nextClusterIp++;
        spec.clusterIP = `10.96.${(n >> 8) & 255}.${n & 255}`;
        spec.clusterIPs = [spec.clusterIP];
      }
      for (const p of spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      break;
    case 'Namespace':
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      obj.spec ??= { finalizers: ['kubernetes'] };
      obj.status ??= { phase: 'Active' };
      break;
    case 'Secret':
      if (!obj.type) obj.type = 'Opaque';
      break;
    default:
      break;
  }
}
