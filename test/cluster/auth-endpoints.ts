/**
 * The create-only endpoints of authentication and authorization, answered from the request's
 * user and never stored:
 *   - TokenRequest, POST .../serviceaccounts/{name}/token (pkg/registry/core/serviceaccount/storage/token.go,
 *     validation in pkg/apis/authentication/validation ValidateTokenRequest);
 *   - authentication.k8s.io/v1 SelfSubjectReview (`kubectl auth whoami`) and TokenReview
 *     (pkg/registry/authentication/selfsubjectreview, tokenreview);
 *   - authorization.k8s.io/v1 SelfSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview
 *     (`kubectl auth can-i --list`), SubjectAccessReview and LocalSubjectAccessReview
 *     (pkg/registry/authorization/*, validation in pkg/apis/authorization/validation).
 * Every create answers 201 Created, as the generic create handler does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, errors, type StatusCause } from './status.js';
import { findByKind } from './resources.js';
import type { Store } from './store.js';
import type { Authenticator, UserInfo } from './authn.js';
import type { TokenIssuer, BoundObject } from './tokens.js';
import type { Attributes, Rbac } from './rbac.js';
import type { RequestInfo } from './request-info.js';
import { PROTOBUF_CONTENT_TYPE } from './protobuf.js';
import { decodeAuthProtobuf } from './auth-protobuf.js';

const SERVICE_ACCOUNT = findByKind('v1', 'ServiceAccount')!;
const POD = findByKind('v1', 'Pod')!;
const SECRET = findByKind('v1', 'Secret')!;

/** Default of TokenRequestSpec.expirationSeconds (pkg/apis/authentication/v1/defaults.go). */
const DEFAULT_EXPIRATION_SECONDS = 3600;
/** ValidateTokenRequest: at least 10 minutes, at most 2^32 seconds. */
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

export interface AuthEndpointsDeps {
  store: Store;
  tokens: TokenIssuer;
  authenticator: Authenticator;
  rbac: Rbac;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request body: JSON, YAML or (as kubectl's typed clients send it) protobuf. */
async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (type === PROTOBUF_CONTENT_TYPE) return decodeAuthProtobuf(bytes);
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw errors.badRequest('the body of the request was empty');
  try {
    const body = type === 'application/yaml' ? parseYaml(text) : JSON.parse(text);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    return body;
  } catch (err) {
    throw errors.badRequest(`the object provided is unrecognized (must be of type JSON): ${(err as Error).message}`);
  }
}

function checkKind(body: any, apiVersion: string, kind: string): void {
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
    throw errors.badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersion})`);
  }
  if (body.kind !== undefined && body.kind !== kind) {
    throw errors.badRequest(
      `${kind} in version "${apiVersion.split('/')[1]}" cannot be handled as a ${kind}: kind "${body.kind}" does not match`,
    );
  }
}

const invalidValue = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value ?? 'null')}: ${detail}`,
  field,
});

function userInfoJson(user: UserInfo): object {
  return {
    username: user.username,
    ...(user.uid ? { uid: user.uid } : {}),
    groups: user.groups,
    ...(user.extra ? { extra: user.extra } : {}),
  };
}

/** authorizationutil.ResourceAttributesFrom / NonResourceAttributesFrom. */
function attributesOf(spec: any): Attributes {
  if (spec.resourceAttributes) {
    const r = spec.resourceAttributes;
    return {
      isResourceRequest: true,
      path: '',
      verb: r.verb ?? '',
      apiGroup: r.group ?? '',
      apiVersion: r.version ?? '',
      namespace: r.namespace ?? '',
      resource: r.resource ?? '',
      subresource: r.subresource ?? '',
      name: r.name ?? '',
    };
  }
  const n = spec.nonResourceAttributes;
  return {
    isResourceRequest: false,
    path: n.path ?? '',
    verb: n.verb ?? '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
}

/** ValidateSelfSubjectAccessReviewSpec: exactly one of resourceAttributes and nonResourceAttributes. */
function attributeCauses(spec: any): StatusCause[] {
  if (spec?.resourceAttributes && spec?.nonResourceAttributes) {
    return [
      invalidValue('spec.nonResourceAttributes', spec.nonResourceAttributes, 'cannot be specified in combination with resourceAttributes'),
    ];
  }
  if (!spec?.resourceAttributes && !spec?.nonResourceAttributes) {
    return [invalidValue('spec.resourceAttributes', null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified')];
  }
  return [];
}

export class AuthEndpoints {
  constructor(private readonly deps: AuthEndpointsDeps) {}

  /** Answers the request if it is for one of these endpoints (true), else leaves it to the resource routes. */
  async serve(user: UserInfo, info: RequestInfo, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (!info.isResourceRequest) return false;
    const group = info.apiGroup;
    const isToken = group === '' && info.apiVersion === 'v1' && info.resource === 'serviceaccounts' && info.subresource === 'token';
    const isReview =
      info.apiVersion === 'v1' &&
      info.subresource === '' &&
      info.name === '' &&
      ((group === 'authentication.k8s.io' && ['selfsubjectreviews', 'tokenreviews'].includes(info.resource)) ||
        (group === 'authorization.k8s.io' &&
          ['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'subjectaccessreviews', 'localsubjectaccessreviews'].includes(
            info.resource,
          )));
    if (!isToken && !isReview) return false;
    if (req.method !== 'POST') throw errors.methodNotAllowed(req.method ?? '');
    const body = await readBody(req);
    if (isToken) {
      send(res, 201, this.tokenRequest(info.namespace, info.name, body));
      return true;
    }
    const answer = {
      selfsubjectreviews: () => this.selfSubjectReview(user, body),
      tokenreviews: () => this.tokenReview(body),
      selfsubjectaccessreviews: () => this.selfSubjectAccessReview(user, body),
      selfsubjectrulesreviews: () => this.selfSubjectRulesReview(user, body),
      subjectaccessreviews: () => this.subjectAccessReview(body, 'SubjectAccessReview', undefined),
      localsubjectaccessreviews: () => this.subjectAccessReview(body, 'LocalSubjectAccessReview', info.namespace),
    }[info.resource]!;
    send(res, 201, answer());
    return true;
  }

  /** TokenREST.Create: a token for the ServiceAccount, optionally bound to a Pod or Secret. */
  tokenRequest(namespace: string, name: string, body: any): object {
    checkKind(body, 'authentication.k8s.io/v1', 'TokenRequest');
    const spec = { ...(body.spec ?? {}) };
    spec.expirationSeconds ??= DEFAULT_EXPIRATION_SECONDS;
    const seconds = spec.expirationSeconds;
    const causes: StatusCause[] = [];
    if (typeof seconds !== 'number' || !Number.isInteger(seconds)) {
      causes.push(invalidValue('spec.expirationSeconds', seconds, 'must be an integer'));
    } else if (seconds < MIN_EXPIRATION_SECONDS) {
      causes.push(invalidValue('spec.expirationSeconds', seconds, 'may not specify a duration less than 10 minutes'));
    } else if (seconds > MAX_EXPIRATION_SECONDS) {
      causes.push(invalidValue('spec.expirationSeconds', seconds, 'may not specify a duration larger than 2^32 seconds'));
    }
    if (causes.length) throw errors.invalid('TokenRequest', 'authentication.k8s.io', String(body.metadata?.name ?? ''), causes);
    const sa = this.deps.store.peek(SERVICE_ACCOUNT, namespace, name);
    if (!sa) throw errors.notFound('serviceaccounts', '', name);
    let bound: BoundObject | undefined;
    const ref = spec.boundObjectRef;
    if (ref) {
      const refGroup = String(ref.apiVersion ?? '').includes('/') ? String(ref.apiVersion).split('/')[0] : '';
      if (refGroup !== '' || (ref.kind !== 'Pod' && ref.kind !== 'Secret')) {
        throw errors.badRequest(`cannot bind token to object of type ${ref.apiVersion ?? ''}, Kind=${ref.kind ?? ''}`);
      }
      const type = ref.kind === 'Pod' ? POD : SECRET;
      const obj = this.deps.store.peek(type, namespace, String(ref.name ?? ''));
      if (!obj) throw errors.notFound(type.plural, '', String(ref.name ?? ''));
      if (ref.kind === 'Pod' && obj.spec?.serviceAccountName !== name) {
        throw errors.badRequest(
          `cannot bind token for serviceaccount ${JSON.stringify(name)} to pod running with serviceaccount ${JSON.stringify(obj.spec?.serviceAccountName ?? '')}`,
        );
      }
      if (ref.uid && ref.uid !== obj.metadata.uid) {
        throw new ApiError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${ref.kind} ${JSON.stringify(ref.name)}: the UID in the bound object reference (${ref.uid}) does not match the UID in record (${obj.metadata.uid}). The object might have been deleted and then recreated`,
          { name: ref.name, kind: ref.kind },
        );
      }
      bound = { kind: ref.kind, name: obj.metadata.name, uid: obj.metadata.uid };
    }
    if (!Array.isArray(spec.audiences) || spec.audiences.length === 0) spec.audiences = this.deps.tokens.audiences;
    const { token, expirationTimestamp } = this.deps.tokens.issue(sa, seconds, spec.audiences, bound);
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { ...(body.metadata ?? {}), namespace, creationTimestamp: null },
      spec: { audiences: spec.audiences, expirationSeconds: seconds, boundObjectRef: ref ?? null },
      status: { token, expirationTimestamp },
    };
  }

  private selfSubjectReview(user: UserInfo, body: any): object {
    checkKind(body, 'authentication.k8s.io/v1', 'SelfSubjectReview');
    return {
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
      status: { userInfo: userInfoJson(user) },
    };
  }

  private tokenReview(body: any): object {
    checkKind(body, 'authentication.k8s.io/v1', 'TokenReview');
    const token = String(body.spec?.token ?? '');
    if (token === '')
      throw errors.invalid('TokenReview', 'authentication.k8s.io', '', [
        { reason: 'FieldValueRequired', message: 'Required value: token must be specified', field: 'spec.token' },
      ]);
    const user = this.deps.authenticator.fromToken(token);
    const status = user
      ? { authenticated: true, user: userInfoJson(user), audiences: this.deps.tokens.audiences }
      : { user: {}, error: '[invalid bearer token, token lookup failed]' };
    return { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: body.spec, status };
  }

  private review(kind: string, body: any, spec: any, user: UserInfo): object {
    const { allowed, reason } = this.deps.rbac.authorize(user, attributesOf(spec));
    return {
      kind,
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { ...(body.metadata ?? {}), creationTimestamp: null },
      spec,
      status: { allowed, ...(reason ? { reason } : {}) },
    };
  }

  private selfSubjectAccessReview(user: UserInfo, body: any): object {
    checkKind(body, 'authorization.k8s.io/v1', 'SelfSubjectAccessReview');
    const causes = attributeCauses(body.spec);
    if (causes.length) throw errors.invalid('SelfSubjectAccessReview', 'authorization.k8s.io', '', causes);
    return this.review('SelfSubjectAccessReview', body, body.spec, user);
  }

  private subjectAccessReview(body: any, kind: string, namespace: string | undefined): object {
    checkKind(body, 'authorization.k8s.io/v1', kind);
    const spec = body.spec ?? {};
    const causes = attributeCauses(spec);
    if (!spec.user && !(spec.groups?.length > 0))
      causes.push(invalidValue('spec.user', spec.user ?? '', 'at least one of user or group must be specified'));
    if (namespace !== undefined && spec.nonResourceAttributes)
      causes.push(invalidValue('spec.nonResourceAttributes', spec.nonResourceAttributes, 'disallowed on this kind of request'));
    if (causes.length) throw errors.invalid(kind, 'authorization.k8s.io', '', causes);
    if (namespace !== undefined && (spec.resourceAttributes?.namespace ?? '') !== namespace) {
      throw errors.badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
    }
    const user: UserInfo = {
      username: spec.user ?? '',
      ...(spec.uid ? { uid: spec.uid } : {}),
      groups: spec.groups ?? [],
      ...(spec.extra ? { extra: spec.extra } : {}),
    };
    return this.review(kind, body, spec, user);
  }

  /** selfsubjectrulesreview/rest.go: every rule of the user in the namespace; errors in evaluationError. */
  private selfSubjectRulesReview(user: UserInfo, body: any): object {
    checkKind(body, 'authorization.k8s.io/v1', 'SelfSubjectRulesReview');
    const namespace = body.spec?.namespace ?? '';
    if (namespace === '') throw errors.badRequest('no namespace on request');
    const { rules, errors: problems } = this.deps.rbac.rulesFor(user, namespace);
    const resourceRules = rules
      .filter((r) => (r.resources ?? []).length > 0)
      .map((r) => ({
        verbs: r.verbs,
        ...(r.apiGroups ? { apiGroups: r.apiGroups } : {}),
        resources: r.resources,
        ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
      }));
    const nonResourceRules = rules
      .filter((r) => (r.nonResourceURLs ?? []).length > 0)
      .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
    return {
      kind: 'SelfSubjectRulesReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: body.spec,
      status: {
        resourceRules,
        nonResourceRules,
        incomplete: false,
        ...(problems.length ? { evaluationError: problems.length === 1 ? problems[0] : `[${problems.join(', ')}]` } : {}),
      },
    };
  }
}
