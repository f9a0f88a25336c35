/**
 * Protobuf bodies of the authentication and authorization requests: kubectl 1.32's typed
 * clients send TokenRequest (`kubectl create token`), SelfSubjectAccessReview and
 * SelfSubjectRulesReview (`kubectl auth can-i`) and SelfSubjectReview (`kubectl auth whoami`)
 * as `application/vnd.kubernetes.protobuf`. Field numbers from k8s.io/api
 * authentication/v1/generated.proto and authorization/v1/generated.proto.
 */
import { ApiError } from './status.js';
import { decodeEnvelope, fields, objectMeta, type Field } from './protobuf.js';

const str = (f: Field) => (f.value as Buffer).toString('utf8');
const msg = (f: Field) => fields(f.value as Buffer);

function strings(buf: Buffer, names: Record<number, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields(buf)) if (names[f.no] && f.wire === 2) out[names[f.no]!] = str(f);
  return out;
}

/** authorization/v1 ResourceAttributes (selectors, alpha in 1.32, are left out). */
const RESOURCE_ATTRIBUTES = { 1: 'namespace', 2: 'verb', 3: 'group', 4: 'version', 5: 'resource', 6: 'subresource', 7: 'name' };
const NON_RESOURCE_ATTRIBUTES = { 1: 'path', 2: 'verb' };

function accessReviewSpec(buf: Buffer): Record<string, any> {
  const spec: Record<string, any> = {};
  for (const f of fields(buf)) {
    if (f.no === 1) spec.resourceAttributes = strings(f.value as Buffer, RESOURCE_ATTRIBUTES);
    if (f.no === 2) spec.nonResourceAttributes = strings(f.value as Buffer, NON_RESOURCE_ATTRIBUTES);
    if (f.no === 3) spec.user = str(f);
    if (f.no === 4) (spec.groups ??= []).push(str(f));
    if (f.no === 5) {
      let key = '';
      const items: string[] = [];
      for (const e of msg(f)) {
        if (e.no === 1) key = str(e);
        if (e.no === 2) for (const i of msg(e)) if (i.no === 1) items.push(str(i));
      }
      (spec.extra ??= {})[key] = items;
    }
    if (f.no === 6) spec.uid = str(f);
  }
  return spec;
}

function tokenRequestSpec(buf: Buffer): Record<string, any> {
  const spec: Record<string, any> = {};
  for (const f of fields(buf)) {
    if (f.no === 1) (spec.audiences ??= []).push(str(f));
    if (f.no === 4) spec.expirationSeconds = Number(f.value as bigint);
    if (f.no === 3) {
      const r = strings(f.value as Buffer, { 1: 'kind', 2: 'apiVersion', 3: 'name', 4: 'uid' });
      spec.boundObjectRef = r;
    }
  }
  return spec;
}

const SPECS: Record<string, (buf: Buffer) => Record<string, any>> = {
  TokenRequest: tokenRequestSpec,
  TokenReview: (buf) => {
    const spec: Record<string, any> = {};
    for (const f of fields(buf)) {
      if (f.no === 1) spec.token = str(f);
      if (f.no === 2) (spec.audiences ??= []).push(str(f));
    }
    return spec;
  },
  SelfSubjectReview: () => ({}),
  SelfSubjectAccessReview: accessReviewSpec,
  SubjectAccessReview: accessReviewSpec,
  LocalSubjectAccessReview: accessReviewSpec,
  SelfSubjectRulesReview: (buf) => strings(buf, { 1: 'namespace' }),
};

/** Decode an authentication / authorization request body (metadata = 1, spec = 2 in each of them). */
export function decodeAuthProtobuf(body: Buffer): Record<string, any> {
  const { apiVersion, kind, raw } = decodeEnvelope(body);
  const spec = SPECS[kind];
  if (!spec)
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the test cluster does not decode protobuf bodies of ${kind || 'this kind'} here; send JSON`,
    );
  const obj: Record<string, any> = { apiVersion, kind };
  for (const f of fields(raw)) {
    if (f.no === 1) obj.metadata = objectMeta(f.value as Buffer);
    if (f.no === 2) obj.spec = spec(f.value as Buffer);
  }
  obj.spec ??= {};
  return obj;
}
