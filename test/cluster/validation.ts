/**
 * Validation the real API server performs for the fields our actions touch,
 * producing 422 Invalid Status causes worded as the real server words them.
 */
import { errors, type StatusCause } from './status.js';
import type { ResourceType } from './resources.js';
import { deepEqual, type KubeObject } from './store.js';
import { labelSelectorObjectMatcher } from './selectors.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function required(field: string): StatusCause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}

function invalid(field: string, value: unknown, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field };
}

function checkName(t: ResourceType, name: unknown, causes: StatusCause[]): void {
  if (typeof name !== 'string' || name === '') {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
    return;
  }
  if (t.kind === 'Namespace' || t.kind === 'Service') {
    const re = t.kind === 'Service' ? DNS1035_LABEL : DNS1123_LABEL;
    if (!re.test(name) || name.length > 63) {
      const detail =
        t.kind === 'Service'
          ? "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
          : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
      causes.push(invalid('metadata.name', name, detail));
    }
    return;
  }
  if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    causes.push(
      invalid(
        'metadata.name',
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    );
  }
}

function checkLabels(labels: unknown, field: string, causes: StatusCause[]): void {
  if (labels === undefined || labels === null) return;
  if (typeof labels !== 'object') {
    causes.push(invalid(field, labels, 'must be a map of strings'));
    return;
  }
  for (const v of Object.values(labels as Record<string, unknown>)) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      causes.push(
        invalid(
          `${field}`,
          v,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
}

function checkContainers(containers: unknown, field: string, causes: StatusCause[]): void {
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push(required(field));
    return;
  }
  const names = new Set<string>();
  containers.forEach((c: any, i: number) => {
    const f = `${field}[${i}]`;
    if (!c?.name) causes.push(required(`${f}.name`));
    else if (names.has(c.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: "${c.name}"`, field: `${f}.name` });
    else names.add(c.name);
    if (!c?.image) causes.push(required(`${f}.image`));
  });
}

function checkPodTemplate(template: any, field: string, causes: StatusCause[]): void {
  if (!template || typeof template !== 'object') {
    causes.push(required(field));
    return;
  }
  checkLabels(template.metadata?.labels, `${field}.metadata.labels`, causes);
  checkContainers(template.spec?.containers, `${field}.spec.containers`, causes);
}

function checkReplicas(value: unknown, field: string, causes: StatusCause[]): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    causes.push(invalid(field, value, 'must be greater than or equal to 0'));
  }
}

function checkSelectorMatchesTemplate(spec: any, causes: StatusCause[]): void {
  const selector = spec?.selector;
  const hasSelector = selector && (Object.keys(selector.matchLabels ?? {}).length > 0 || (selector.matchExpressions ?? []).length > 0);
  if (!hasSelector) {
    causes.push(required('spec.selector'));
    return;
  }
  const labels = spec?.template?.metadata?.labels ?? {};
  if (!labelSelectorObjectMatcher(selector)(labels)) {
    causes.push(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
  }
}

/**
 * ValidateDeploymentStrategy / ValidateRollingUpdateDeployment in kubernetes/kubernetes
 * pkg/apis/apps/validation/validation.go.
 */
function checkStrategy(strategy: any, causes: StatusCause[]): void {
  const field = 'spec.strategy';
  if (!strategy) return;
  const type = strategy.type;
  if (type !== 'RollingUpdate' && type !== 'Recreate') {
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(type)}: supported values: "Recreate", "RollingUpdate"`,
      field: `${field}.type`,
    });
    return;
  }
  const ru = strategy.rollingUpdate;
  if (type === 'Recreate') {
    if (ru)
      causes.push({
        reason: 'FieldValueForbidden',
        message: "Forbidden: may not be specified when strategy `type` is 'Recreate'",
        field: `${field}.rollingUpdate`,
      });
    return;
  }
  if (!ru) return;
  const values: Record<string, number | undefined> = {};
  for (const name of ['maxUnavailable', 'maxSurge']) {
    const v = ru[name];
    const path = `${field}.rollingUpdate.${name}`;
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0) causes.push(invalid(path, v, 'must be greater than or equal to 0'));
      values[name] = v;
    } else if (typeof v === 'string') {
      const m = /^(\d+)%$/.exec(v);
      if (!m)
        causes.push(
          invalid(
            path,
            v,
            "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
          ),
        );
      else {
        values[name] = Number(m[1]);
        if (name === 'maxUnavailable' && Number(m[1]) > 100) causes.push(invalid(path, v, 'must not be greater than 100%'));
      }
    }
  }
  if (values.maxUnavailable === 0 && values.maxSurge === 0) {
    causes.push(invalid(`${field}.rollingUpdate.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
}

export function validateObject(t: ResourceType, obj: KubeObject, old?: KubeObject): void {
  const causes: StatusCause[] = [];
  const meta = obj.metadata ?? ({} as any);
  checkName(t, meta.name, causes);
  checkLabels(meta.labels, 'metadata.labels', causes);
  if (t.namespaced && !meta.namespace) causes.push(required('metadata.namespace'));
  const spec = obj.spec;
  switch (t.kind) {
    case 'Deployment':
    case 'ReplicaSet':
      checkReplicas(spec?.replicas, 'spec.replicas', causes);
      checkSelectorMatchesTemplate(spec, causes);
      checkPodTemplate(spec?.template, 'spec.template', causes);
      if (t.kind === 'Deployment') checkStrategy(spec?.strategy, causes);
      if (old && !deepEqual(old.spec?.selector, spec?.selector)) {
        causes.push(invalid('spec.selector', spec?.selector, 'field is immutable'));
      }
      break;
    case 'Rollout':
      checkReplicas(spec?.replicas, 'spec.replicas', causes);
      if (!spec?.workloadRef) {
        checkSelectorMatchesTemplate(spec, causes);
        checkPodTemplate(spec?.template, 'spec.template', causes);
      }
      break;
    case 'Pod':
      checkContainers(spec?.containers, 'spec.containers', causes);
      break;
    case 'Service':
      if (spec?.type !== 'ExternalName' && spec?.clusterIP !== 'None' && (!Array.isArray(spec?.ports) || spec.ports.length === 0)) {
        causes.push(required('spec.ports'));
      }
      (spec?.ports ?? []).forEach((p: any, i: number) => {
        if (typeof p?.port !== 'number' || p.port < 1 || p.port > 65535) {
          causes.push(invalid(`spec.ports[${i}].port`, p?.port, 'must be between 1 and 65535, inclusive'));
        }
      });
      break;
    case 'Lease':
      break;
    default:
      break;
  }
  if (causes.length > 0) throw errors.invalid(t.kind, t.group, String(meta.name ?? ''), causes);
}
