/**
 * Access control of the test cluster, in the order of the kube-apiserver's handler chain
 * (staging/src/k8s.io/apiserver/pkg/server/config.go DefaultBuildHandlerChain): authentication
 * (authn.ts, 401), impersonation (impersonation.ts), request info (request-info.ts), authorization (rbac.ts, 403), then the
 * authentication / authorization endpoints (auth-endpoints.ts) before the resource routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors } from './status.js';
import { findByKind } from './resources.js';
import type { KubeObject, Store } from './store.js';
import { Authenticator, type UserInfo } from './authn.js';
import { TokenIssuer } from './tokens.js';
import { bootstrapPolicy, forbidden, Rbac } from './rbac.js';
import { requestInfo, type RequestInfo } from './request-info.js';
import { AuthEndpoints } from './auth-endpoints.js';
import { impersonatedUser } from './impersonation.js';
import { createClientCa, issueClientCertificate, type CertificateAuthority } from './certs.js';

const SERVICE_ACCOUNT = findByKind('v1', 'ServiceAccount')!;

export class AccessControl {
  readonly tokens = new TokenIssuer();
  readonly clientCa: CertificateAuthority = createClientCa();
  readonly authenticator: Authenticator;
  readonly rbac: Rbac;
  readonly endpoints: AuthEndpoints;

  constructor(
    private readonly store: Store,
    adminToken: string,
  ) {
    this.authenticator = new Authenticator({ adminToken, tokens: this.tokens, store });
    this.rbac = new Rbac(store);
    this.endpoints = new AuthEndpoints({ store, tokens: this.tokens, authenticator: this.authenticator, rbac: this.rbac });
    for (const obj of bootstrapPolicy()) store.create(findByKind(obj.apiVersion, obj.kind)!, obj);
  }

  /** The request's user (or whom it may impersonate), or 401 (403 for a refused impersonation). */
  authenticate(req: IncomingMessage): UserInfo {
    const user = this.authenticator.authenticate(req);
    if (!user) throw errors.unauthorized();
    return impersonatedUser(user, req.headers, this.rbac);
  }

  /** The request's attributes if the user may make it, else the 403 Status. */
  authorize(user: UserInfo, method: string, path: string, query: URLSearchParams): RequestInfo {
    let info: RequestInfo;
    try {
      info = requestInfo(method, path, query);
    } catch (err) {
      throw errors.internal((err as Error).message);
    }
    const { allowed, reason } = this.rbac.authorize(user, info);
    if (!allowed) throw forbidden(user, info, reason);
    return info;
  }

  /** Answers TokenRequest and the reviews; false for everything else. */
  serve(user: UserInfo, info: RequestInfo, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    return this.endpoints.serve(user, info, req, res);
  }

  /** A token for a ServiceAccount through the TokenRequest code path (test setup). */
  createToken(
    namespace: string,
    name: string,
    opts: { expirationSeconds?: number; audiences?: string[] } = {},
  ): { token: string; expirationTimestamp: string } {
    const answer = this.endpoints.tokenRequest(namespace, name, { spec: { ...opts } }) as {
      status: { token: string; expirationTimestamp: string };
    };
    return answer.status;
  }

  issueClientCertificate(user: string, groups: string[] = []): { cert: string; key: string } {
    return issueClientCertificate(this.clientCa, user, groups);
  }

  serviceAccount(namespace: string, name: string): KubeObject | undefined {
    return this.store.peek(SERVICE_ACCOUNT, namespace, name);
  }
}
