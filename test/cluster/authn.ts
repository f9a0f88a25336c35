/**
 * Authentication: who a request comes from. As the kube-apiserver's union of authenticators
 * (pkg/kubeapiserver/authenticator/config.go) tries them in order, first success wins:
 *   1. a client certificate signed by the cluster's client CA (--client-ca-file): CN is the user,
 *      each O a group (apiserver/pkg/authentication/request/x509/x509.go);
 *   2. the static admin token (--token-auth-file): user `kubernetes-admin` in `system:masters`,
 *      whom the authorizer lets do anything (authorizerfactory.NewPrivilegedGroups);
 *   3. a ServiceAccount token (pkg/serviceaccount/jwt.go, claims.go): user
 *      `system:serviceaccount:NS:NAME` in `system:serviceaccounts` and `system:serviceaccounts:NS`,
 *      valid while it has not expired and its ServiceAccount (same uid) still exists.
 * Every authenticated user also gets `system:authenticated` (authenticatedGroupAdder).
 * A request without credentials gets 401 here (as with --anonymous-auth=false); a bad or expired
 * credential gets 401 on every cluster.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { findByKind } from './resources.js';
import type { Store } from './store.js';
import type { TokenIssuer } from './tokens.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const ADMIN_USER = 'kubernetes-admin';
/** The group the authorizer lets do anything (k8s.io/apiserver/pkg/authentication/user SystemPrivilegedGroup). */
export const PRIVILEGED_GROUP = 'system:masters';
export const AUTHENTICATED_GROUP = 'system:authenticated';

const SERVICE_ACCOUNT = findByKind('v1', 'ServiceAccount')!;
const POD = findByKind('v1', 'Pod')!;
const SECRET = findByKind('v1', 'Secret')!;

/** serviceaccount.MakeUsername / MakeGroupNames (apiserver/pkg/authentication/serviceaccount/util.go). */
export function serviceAccountUser(namespace: string, name: string, uid?: string, extra?: Record<string, string[]>): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    ...(uid ? { uid } : {}),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, AUTHENTICATED_GROUP],
    ...(extra ? { extra } : {}),
  };
}

function withAuthenticated(user: UserInfo): UserInfo {
  return user.groups.includes(AUTHENTICATED_GROUP) ? user : { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

export class Authenticator {
  constructor(private readonly opts: { adminToken: string; tokens: TokenIssuer; store: Store }) {}

  /** The user of a request, or undefined (401). */
  authenticate(req: IncomingMessage): UserInfo | undefined {
    const fromCert = this.fromClientCertificate(req.socket as TLSSocket);
    if (fromCert) return fromCert;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    // An empty bearer token is no credential (bearertoken.go); we answer 401 as without anonymous auth.
    return m ? this.fromToken(m[1]!.trim()) : undefined;
  }

  /** The user of a bearer token (also TokenReview's answer), or undefined. */
  fromToken(token: string): UserInfo | undefined {
    if (token === '') return undefined;
    if (token === this.opts.adminToken) return { username: ADMIN_USER, groups: [PRIVILEGED_GROUP, AUTHENTICATED_GROUP] };
    const checked = this.opts.tokens.verify(token);
    if ('error' in checked) return undefined;
    const { claims } = checked;
    const k8s = claims['kubernetes.io'];
    // claims.go: the ServiceAccount (and a bound Pod or Secret) must still exist with the uid in the token.
    const sa = this.opts.store.peek(SERVICE_ACCOUNT, k8s.namespace, k8s.serviceaccount.name);
    if (!sa || sa.metadata.uid !== k8s.serviceaccount.uid) return undefined;
    for (const [type, ref] of [
      [POD, k8s.pod],
      [SECRET, k8s.secret],
    ] as const) {
      if (!ref) continue;
      const bound = this.opts.store.peek(type, k8s.namespace, ref.name);
      if (!bound || bound.metadata.uid !== ref.uid) return undefined;
    }
    // 1.32 (ServiceAccountTokenJTI) puts the token's id in the user's extra as the credential id.
    const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] };
    if (k8s.pod) {
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
    }
    return serviceAccountUser(k8s.namespace, k8s.serviceaccount.name, k8s.serviceaccount.uid, extra);
  }

  /** A verified client certificate's user; Node has checked the chain against the client CA (`ca`, requestCert). */
  private fromClientCertificate(socket: TLSSocket): UserInfo | undefined {
    if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
    const cert = socket.getPeerCertificate();
    const cn = cert?.subject?.CN;
    if (!cn) return undefined;
    const o = cert.subject.O as unknown as string | string[] | undefined;
    const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
    return withAuthenticated({ username: Array.isArray(cn) ? cn[0]! : cn, groups });
  }
}
