/**
 * Structural schemas of the kinds the test cluster serves, and what the API server does with
 * them on every write: unknown fields are pruned (custom resources: apiextensions-apiserver
 * pkg/apiserver/schema/pruning/algorithm.go; built-in kinds: the JSON decoder drops fields the Go
 * type lacks), defaults are applied (schema/defaulting/algorithm.go), values are validated
 * (kube-openapi validate: `spec.x in body should be less than or equal to N`), and
 * `fieldValidation` decides what an unknown field means (apiserver/pkg/endpoints/handlers/rest.go
 * `fieldValidation`: absent means Warn; Strict answers 400 `strict decoding error: unknown field
 * "spec.foo"`; Warn adds a `Warning: 299 - "unknown field \"spec.foo\""` header; Ignore drops it).
 *
 * The schemas follow the published CRDs (Gateway API v1.2 HTTPRoute, Istio 1.2x VirtualService and
 * DestinationRule, Argo Rollouts v1.7 Rollout) and k8s.io/api types for the fields our actions and
 * tests write. Subtrees we never write are `ANY` (kept as they are), where the real schemas go
 * deeper: see README "Still simulated differently".
 */
import { ApiError, errors, type StatusCause } from './status.js';
import type { ResourceType } from './resources.js';
import type { KubeObject } from './store.js';

export type Schema =
  | {
      type: 'object';
      properties?: Record<string, Schema>;
      additionalProperties?: Schema;
      required?: string[];
      preserveUnknown?: boolean;
      default?: unknown;
    }
  | { type: 'array'; items: Schema; maxItems?: number; default?: unknown }
  | { type: 'integer'; minimum?: number; maximum?: number; default?: unknown }
  | { type: 'string'; enum?: string[]; default?: unknown }
  | { type: 'boolean'; default?: unknown }
  | { type: 'any' };

const ANY: Schema = { type: 'any' };
const STRING: Schema = { type: 'string' };
const INT: Schema = { type: 'integer' };
const BOOL: Schema = { type: 'boolean' };
const STRING_MAP: Schema = { type: 'object', additionalProperties: STRING };
const obj = (properties: Record<string, Schema>, extra: { required?: string[]; default?: unknown } = {}): Schema => ({
  type: 'object',
  properties,
  ...extra,
});
const arr = (items: Schema, extra: { maxItems?: number } = {}): Schema => ({ type: 'array', items, ...extra });
/** Known field names whose contents are kept as they are. */
const fields = (...names: string[]): Record<string, Schema> => Object.fromEntries(names.map((n) => [n, ANY]));

/** metav1.ObjectMeta: also what custom resources' metadata is pruned to. */
const OBJECT_META = obj({
  ...fields(
    'name',
    'generateName',
    'namespace',
    'selfLink',
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'ownerReferences',
    'finalizers',
    'managedFields',
  ),
  labels: STRING_MAP,
  annotations: STRING_MAP,
});

// ---- built-in kinds (k8s.io/api core/v1, apps/v1, coordination/v1 types.go) ----

const CONTAINER = obj({
  ...fields(
    'name',
    'image',
    'command',
    'args',
    'workingDir',
    'ports',
    'envFrom',
    'env',
    'resources',
    'resizePolicy',
    'restartPolicy',
    'volumeMounts',
    'volumeDevices',
    'livenessProbe',
    'readinessProbe',
    'startupProbe',
    'lifecycle',
    'terminationMessagePath',
    'terminationMessagePolicy',
    'imagePullPolicy',
    'securityContext',
    'stdin',
    'stdinOnce',
    'tty',
  ),
});

const POD_SPEC = obj({
  ...fields(
    'volumes',
    'restartPolicy',
    'terminationGracePeriodSeconds',
    'activeDeadlineSeconds',
    'dnsPolicy',
    'nodeSelector',
    'serviceAccountName',
    'serviceAccount',
    'automountServiceAccountToken',
    'nodeName',
    'hostNetwork',
    'hostPID',
    'hostIPC',
    'shareProcessNamespace',
    'securityContext',
    'imagePullSecrets',
    'hostname',
    'subdomain',
    'affinity',
    'schedulerName',
    'tolerations',
    'hostAliases',
    'priorityClassName',
    'priority',
    'dnsConfig',
    'readinessGates',
    'runtimeClassName',
    'enableServiceLinks',
    'preemptionPolicy',
    'overhead',
    'topologySpreadConstraints',
    'setHostnameAsFQDN',
    'os',
    'hostUsers',
    'schedulingGates',
    'resourceClaims',
    'ephemeralContainers',
  ),
  containers: arr(CONTAINER),
  initContainers: arr(CONTAINER),
});

const POD_TEMPLATE = obj({ metadata: OBJECT_META, spec: POD_SPEC });

function topLevel(properties: Record<string, Schema>): Schema {
  return obj({ apiVersion: STRING, kind: STRING, metadata: OBJECT_META, ...properties });
}

const BUILTIN: Record<string, Schema> = {
  Namespace: topLevel({ spec: obj(fields('finalizers')), status: ANY }),
  Service: topLevel({
    spec: obj({
      ...fields(
        'clusterIP',
        'clusterIPs',
        'type',
        'externalIPs',
        'sessionAffinity',
        'loadBalancerIP',
        'loadBalancerSourceRanges',
        'externalName',
        'externalTrafficPolicy',
        'healthCheckNodePort',
        'publishNotReadyAddresses',
        'sessionAffinityConfig',
        'ipFamilies',
        'ipFamilyPolicy',
        'allocateLoadBalancerNodePorts',
        'loadBalancerClass',
        'internalTrafficPolicy',
        'trafficDistribution',
      ),
      selector: STRING_MAP,
      ports: arr(obj(fields('name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort'))),
    }),
    status: ANY,
  }),
  Pod: topLevel({ spec: POD_SPEC, status: ANY }),
  ConfigMap: topLevel(fields('data', 'binaryData', 'immutable')),
  Secret: topLevel(fields('data', 'stringData', 'type', 'immutable')),
  ResourceQuota: topLevel({ spec: obj(fields('hard', 'scopes', 'scopeSelector')), status: ANY }),
  Deployment: topLevel({
    spec: obj({
      ...fields('replicas', 'selector', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'),
      strategy: obj({ type: STRING, rollingUpdate: obj(fields('maxUnavailable', 'maxSurge')) }),
      template: POD_TEMPLATE,
    }),
    status: ANY,
  }),
  ReplicaSet: topLevel({ spec: obj({ ...fields('replicas', 'minReadySeconds', 'selector'), template: POD_TEMPLATE }), status: ANY }),
  Lease: topLevel({
    spec: obj(
      fields('holderIdentity', 'leaseDurationSeconds', 'acquireTime', 'renewTime', 'leaseTransitions', 'strategy', 'preferredHolder'),
    ),
  }),
};

// ---- custom resources (their CRDs' openAPIV3Schema) ----

/** Gateway API v1.2 config/crd/standard/gateway.networking.k8s.io_httproutes.yaml. */
const HTTP_ROUTE = topLevel({
  spec: obj({
    parentRefs: arr(
      obj(
        {
          group: { type: 'string', default: 'gateway.networking.k8s.io' },
          kind: { type: 'string', default: 'Gateway' },
          namespace: STRING,
          name: STRING,
          sectionName: STRING,
          port: { type: 'integer', minimum: 1, maximum: 65535 },
        },
        { required: ['name'] },
      ),
      { maxItems: 32 },
    ),
    hostnames: arr(STRING, { maxItems: 16 }),
    rules: arr(
      obj({
        name: STRING,
        matches: ANY,
        filters: ANY,
        backendRefs: arr(
          obj(
            {
              group: { type: 'string', default: '' },
              kind: { type: 'string', default: 'Service' },
              name: STRING,
              namespace: STRING,
              port: { type: 'integer', minimum: 1, maximum: 65535 },
              weight: { type: 'integer', minimum: 0, maximum: 1000000, default: 1 },
              filters: ANY,
            },
            { required: ['name'] },
          ),
          { maxItems: 16 },
        ),
        timeouts: ANY,
        sessionPersistence: ANY,
        retry: ANY,
      }),
      { maxItems: 16 },
    ),
  }),
  status: obj({ parents: ANY }),
});

/** Istio manifests/charts/base/files/crd-all.gen.yaml: a typed spec, `status` preserving unknown fields. */
const VIRTUAL_SERVICE = topLevel({
  spec: obj({
    hosts: arr(STRING),
    gateways: arr(STRING),
    exportTo: arr(STRING),
    http: arr(
      obj({
        ...fields(
          'match',
          'redirect',
          'directResponse',
          'delegate',
          'rewrite',
          'timeout',
          'retries',
          'fault',
          'mirror',
          'mirrors',
          'mirrorPercentage',
          'mirrorPercent',
          'corsPolicy',
          'headers',
        ),
        name: STRING,
        route: arr(
          obj(
            {
              destination: obj(
                { host: STRING, subset: STRING, port: obj({ number: { type: 'integer', minimum: 0, maximum: 4294967295 } }) },
                { required: ['host'] },
              ),
              weight: { type: 'integer', minimum: -2147483648, maximum: 2147483647 },
              headers: ANY,
            },
            { required: ['destination'] },
          ),
        ),
      }),
    ),
    tls: ANY,
    tcp: ANY,
  }),
  status: { type: 'object', preserveUnknown: true },
});

const DESTINATION_RULE = topLevel({
  spec: obj(
    {
      host: STRING,
      trafficPolicy: ANY,
      subsets: arr(obj({ name: STRING, labels: STRING_MAP, trafficPolicy: ANY }, { required: ['name'] })),
      exportTo: arr(STRING),
      workloadSelector: ANY,
    },
    { required: ['host'] },
  ),
  status: { type: 'object', preserveUnknown: true },
});

const INT_OR_STRING = ANY;

/**
 * Argo Rollouts manifests/crds/rollout-crd.yaml (hack/gen-crd-spec): the pod template is typed
 * (its metadata only labels and annotations), list types removed (every list atomic).
 */
const ROLLOUT = topLevel({
  spec: obj({
    ...fields('selector', 'workloadRef', 'analysis', 'rollbackWindow', 'restartAt'),
    replicas: INT,
    minReadySeconds: INT,
    revisionHistoryLimit: INT,
    progressDeadlineSeconds: INT,
    progressDeadlineAbort: BOOL,
    paused: BOOL,
    template: obj({ metadata: obj({ labels: STRING_MAP, annotations: STRING_MAP }), spec: POD_SPEC }),
    strategy: obj({
      blueGreen: ANY,
      canary: obj({
        ...fields(
          'analysis',
          'antiAffinity',
          'canaryMetadata',
          'stableMetadata',
          'trafficRouting',
          'pingPong',
          'minPodsPerReplicaSet',
          'replicaProgressThreshold',
        ),
        canaryService: STRING,
        stableService: STRING,
        maxSurge: INT_OR_STRING,
        maxUnavailable: INT_OR_STRING,
        scaleDownDelaySeconds: INT,
        scaleDownDelayRevisionLimit: INT,
        abortScaleDownDelaySeconds: INT,
        dynamicStableScale: BOOL,
        steps: arr(
          obj({
            ...fields('analysis', 'experiment', 'setCanaryScale', 'setHeaderRoute', 'setMirrorRoute', 'plugin'),
            setWeight: INT,
            pause: obj({ duration: INT_OR_STRING }),
          }),
        ),
      }),
    }),
  }),
  status: ANY,
});

const CUSTOM: Record<string, Schema> = {
  HTTPRoute: HTTP_ROUTE,
  VirtualService: VIRTUAL_SERVICE,
  DestinationRule: DESTINATION_RULE,
  Rollout: ROLLOUT,
};

export function schemaOf(t: ResourceType): Schema | undefined {
  return t.builtin ? BUILTIN[t.kind] : CUSTOM[t.kind];
}

// ---- pruning ----

const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Removes fields the schema does not know (in place) and returns their paths (`spec.foo`, `spec.rules[0].bar`). */
export function prune(value: unknown, schema: Schema, path = ''): string[] {
  const unknown: string[] = [];
  if (schema.type === 'object' && isObject(value)) {
    if (schema.preserveUnknown) return unknown;
    for (const key of Object.keys(value)) {
      const child = schema.properties?.[key] ?? schema.additionalProperties;
      const childPath = path ? `${path}.${key}` : key;
      if (!child) {
        unknown.push(childPath);
        delete value[key];
        continue;
      }
      unknown.push(...prune(value[key], child, childPath));
    }
  } else if (schema.type === 'array' && Array.isArray(value)) {
    for (const [i, item] of value.entries()) unknown.push(...prune(item, schema.items, `${path}[${i}]`));
  }
  return unknown;
}

// ---- defaulting ----

/** Fills absent fields that have a default (schema/defaulting/algorithm.go: after pruning, before validation). */
export function applySchemaDefaults(value: unknown, schema: Schema): void {
  if (schema.type === 'object' && isObject(value)) {
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      if (value[key] === undefined && 'default' in child && child.default !== undefined) value[key] = structuredClone(child.default);
      if (value[key] !== undefined) applySchemaDefaults(value[key], child);
    }
  } else if (schema.type === 'array' && Array.isArray(value)) {
    for (const item of value) applySchemaDefaults(item, schema.items);
  }
}

// ---- validation ----

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** kube-openapi validate messages, as the apiextensions-apiserver reports them in 422 causes. */
export function validateSchema(value: unknown, schema: Schema, path = ''): StatusCause[] {
  const causes: StatusCause[] = [];
  const bad = (detail: string): StatusCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(value)}: ${path} in body ${detail}`,
    field: path,
  });
  if (value === undefined || schema.type === 'any') return causes;
  switch (schema.type) {
    case 'object':
      if (!isObject(value)) {
        causes.push({
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: "${typeName(value)}": ${path} in body must be of type object: "${typeName(value)}"`,
          field: path,
        });
        return causes;
      }
      for (const r of schema.required ?? []) {
        if (value[r] === undefined)
          causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: path ? `${path}.${r}` : r });
      }
      for (const [key, v] of Object.entries(value)) {
        const child = schema.properties?.[key] ?? schema.additionalProperties;
        if (child) causes.push(...validateSchema(v, child, path ? `${path}.${key}` : key));
      }
      return causes;
    case 'array':
      if (!Array.isArray(value)) {
        causes.push({
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: "${typeName(value)}": ${path} in body must be of type array: "${typeName(value)}"`,
          field: path,
        });
        return causes;
      }
      if (schema.maxItems !== undefined && value.length > schema.maxItems) {
        causes.push({
          reason: 'FieldValueTooMany',
          message: `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
          field: path,
        });
      }
      for (const [i, item] of value.entries()) causes.push(...validateSchema(item, schema.items, `${path}[${i}]`));
      return causes;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        causes.push({
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: "${typeName(value)}": ${path} in body must be of type integer: "${typeName(value)}"`,
          field: path,
        });
        return causes;
      }
      if (schema.minimum !== undefined && value < schema.minimum) causes.push(bad(`should be greater than or equal to ${schema.minimum}`));
      if (schema.maximum !== undefined && value > schema.maximum) causes.push(bad(`should be less than or equal to ${schema.maximum}`));
      return causes;
    case 'string':
      if (typeof value !== 'string') {
        causes.push({
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: "${typeName(value)}": ${path} in body must be of type string: "${typeName(value)}"`,
          field: path,
        });
      } else if (schema.enum && !schema.enum.includes(value)) {
        causes.push({
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`,
          field: path,
        });
      }
      return causes;
    case 'boolean':
      if (typeof value !== 'boolean') {
        causes.push({
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: "${typeName(value)}": ${path} in body must be of type boolean: "${typeName(value)}"`,
          field: path,
        });
      }
      return causes;
  }
}

// ---- the write path ----

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** The `fieldValidation` directive (absent: Warn); anything else is refused as the real server refuses it. */
export function fieldValidationOf(value: string | undefined): FieldValidation {
  if (value === undefined || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw errors.badRequest(`fieldValidation parameter unsupported: ${JSON.stringify(value)}; must be one of "Ignore", "Warn" or "Strict"`);
}

/**
 * Prune, default and validate the object about to be stored (in place). Unknown fields: Strict
 * refuses with 400, Warn appends one warning per field to `warnings`, Ignore drops them silently.
 * `validate` is false for status writes, where only the status part came from the client.
 */
export function admitFields(
  t: ResourceType,
  obj: KubeObject,
  ctx: { fieldValidation?: string | undefined; warnings?: string[]; patch?: boolean } | undefined,
  version = t.versions[0]!,
): void {
  const schema = schemaOf(t);
  if (!schema) return;
  const directive = ctx ? fieldValidationOf(ctx.fieldValidation) : 'Ignore';
  // Custom resources: the pruned paths sorted (apiextensions-apiserver sorts them); built-ins: in document order.
  const unknown = t.builtin ? prune(obj, schema) : prune(obj, schema).sort();
  if (unknown.length > 0 && directive === 'Strict') {
    const strict = `strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`;
    // Create and update decode the body (handlers/create.go transformDecodeError); a patch reports the bare error.
    throw new ApiError(
      400,
      'BadRequest',
      ctx?.patch ? strict : `${t.kind} in version "${version}" cannot be handled as a ${t.kind}: ${strict}`,
    );
  }
  if (directive === 'Warn') for (const f of unknown) ctx?.warnings?.push(`unknown field "${f}"`);
  if (t.builtin) return;
  applySchemaDefaults(obj, schema);
  const causes = validateSchema(obj, schema);
  if (causes.length > 0) throw errors.invalid(t.kind, t.group, obj.metadata?.name ?? '', causes);
}

/** The `Warning` header value: `299 - "unknown field \"spec.foo\""`, one per warning (RFC 7234 warn-code 299). */
export function warningHeaders(ctx: { warnings?: string[] }): Record<string, string> {
  if (!ctx.warnings?.length) return {};
  return { Warning: ctx.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}
