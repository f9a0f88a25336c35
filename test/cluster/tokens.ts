/**
 * ServiceAccount tokens as the kube-apiserver mints them through the TokenRequest API
 * (pkg/registry/core/serviceaccount/storage/token.go) and checks them
 * (pkg/serviceaccount/jwt.go, pkg/serviceaccount/claims.go): JWTs signed by the cluster
 * (ES256 here; --service-account-signing-key-file may be RSA or ECDSA), bound to the
 * ServiceAccount's uid, with the claims of a real bound token, valid until `exp`
 * plus go-jose's one-minute leeway.
 *
 * The issuer has its own clock so tests can let tokens expire without waiting:
 * `advance(ms)` moves it forward (TestCluster.advanceTime).
 */
import { createPublicKey, generateKeyPairSync, randomUUID, sign, verify, createHash, type KeyObject } from 'node:crypto';
import { nowTimestamp, type KubeObject } from './store.js';

/** The API server's issuer and audience, as kind and kubeadm clusters set --service-account-issuer. */
export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

/** go-jose's jwt.DefaultLeeway, which Claims.Validate (pkg/serviceaccount/claims.go) uses for exp and nbf. */
const LEEWAY_SECONDS = 60;

export interface BoundObject {
  kind: 'Pod' | 'Secret';
  name: string;
  uid: string;
}

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
  };
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export class TokenIssuer {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly kid: string;
  private offsetMs = 0;

  constructor(
    readonly issuer = API_AUDIENCE,
    readonly audiences: string[] = [API_AUDIENCE],
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
    // The key id as pkg/serviceaccount/jwt.go keyIDFromPublicKey derives it: base64url(sha256(DER of the public key)).
    this.kid = b64url(
      createHash('sha256')
        .update(publicKey.export({ type: 'spki', format: 'der' }))
        .digest(),
    );
  }

  /** The issuer's clock (ms since the epoch). */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Move the clock forward: tokens whose time has come expire. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`advanceTime: give a number of milliseconds >= 0, not ${ms}`);
    this.offsetMs += ms;
  }

  /** A token for a stored ServiceAccount (pkg/serviceaccount/claims.go Claims). */
  issue(
    serviceAccount: KubeObject,
    expirationSeconds: number,
    audiences: string[],
    bound?: BoundObject,
  ): { token: string; expirationTimestamp: string } {
    const iat = Math.floor(this.now() / 1000);
    const { namespace, name, uid } = serviceAccount.metadata;
    const claims: ServiceAccountClaims = {
      aud: audiences,
      exp: iat + expirationSeconds,
      iat,
      iss: this.issuer,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace: namespace!,
        ...(bound?.kind === 'Pod' ? { pod: { name: bound.name, uid: bound.uid } } : {}),
        ...(bound?.kind === 'Secret' ? { secret: { name: bound.name, uid: bound.uid } } : {}),
        serviceaccount: { name, uid },
      },
      nbf: iat,
      sub: `system:serviceaccount:${namespace}:${name}`,
    };
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: this.kid }));
    const payload = b64url(JSON.stringify(claims));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return { token: `${header}.${payload}.${b64url(signature)}`, expirationTimestamp: nowTimestamp(new Date(claims.exp * 1000)) };
  }

  /**
   * The claims of a token this issuer signed that is valid now for the API server's audiences, or
   * why not (the reason is logged by a real server, never sent: the client only sees 401).
   */
  verify(token: string): { claims: ServiceAccountClaims } | { error: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { error: 'not a JWT' };
    const [header, payload, signature] = parts as [string, string, string];
    let claims: ServiceAccountClaims;
    try {
      const h = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
      if (h.alg !== 'ES256') return { error: 'unexpected signing algorithm' };
      const ok = verify(
        'sha256',
        Buffer.from(`${header}.${payload}`),
        { key: this.publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(signature, 'base64url'),
      );
      if (!ok) return { error: 'invalid signature' };
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { error: 'malformed token' };
    }
    if (claims.iss !== this.issuer) return { error: 'wrong issuer' };
    const now = Math.floor(this.now() / 1000);
    if (now > claims.exp + LEEWAY_SECONDS) return { error: 'service account token has expired' };
    if (now < claims.nbf - LEEWAY_SECONDS) return { error: 'service account token is not valid yet' };
    if (!claims.aud?.some((a) => this.audiences.includes(a)))
      return {
        error: `token audiences ${JSON.stringify(claims.aud)} is invalid for the target audiences ${JSON.stringify(this.audiences)}`,
      };
    return { claims };
  }
}
