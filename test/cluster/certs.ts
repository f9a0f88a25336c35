/**
 * A self-signed TLS certificate for 127.0.0.1 / localhost, built in-process
 * (a minimal DER encoder + an ECDSA P-256 key), so no openssl is needed.
 * kubectl sends bearer tokens only over TLS, hence the cluster speaks HTTPS.
 * Also the client CA and the client certificates it signs (authn.ts reads them).
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>= 8;
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, c: Buffer) => tlv(0xa0 + n, c);

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    let v = p >> 7;
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v >>= 7;
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

function name(cn: string): Buffer {
  return seq(set(seq(oid('2.5.4.3'), utf8(cn))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

export interface TlsMaterial {
  key: string; // PEM (PKCS#8)
  cert: string; // PEM
}

let cached: TlsMaterial | undefined;

/** One self-signed certificate per process (valid for 127.0.0.1, ::1 and localhost). */
export function selfSignedCertificate(): TlsMaterial {
  if (cached) return cached;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const now = Date.now();
  const subject = name('test-cluster');
  const san = seq(
    tlv(0x87, Buffer.from([127, 0, 0, 1])),
    tlv(0x87, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
    tlv(0x82, Buffer.from('localhost', 'ascii')),
  );
  const extensions = seq(
    extension('2.5.29.19', true, seq(bool(true))), // basicConstraints CA:TRUE
    extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x02, 0x84]))), // keyUsage digitalSignature, keyCertSign
    extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage serverAuth
    extension('2.5.29.17', false, san),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([1]), randomBytes(15)])),
    ecdsaWithSha256,
    subject,
    seq(utcTime(new Date(now - 60 * 60 * 1000)), utcTime(new Date(now + 10 * 365 * 24 * 60 * 60 * 1000))),
    subject,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  cached = {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
  };
  return cached;
}

function pem(der: Buffer): string {
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** A distinguished name as Go's pkix.Name writes it: O (one RDN per organization), then CN. */
function subjectName(cn: string, organizations: string[] = []): Buffer {
  return seq(...organizations.map((o) => set(seq(oid('2.5.4.10'), utf8(o)))), set(seq(oid('2.5.4.3'), utf8(cn))));
}

export interface CertificateAuthority {
  cert: string; // PEM
  key: KeyObject;
  subject: Buffer; // DER of the subject name, the issuer of what it signs
}

/**
 * The client CA of a cluster (kube-apiserver --client-ca-file): it signs client certificates and
 * nothing else, so it carries no extKeyUsage (OpenSSL refuses a CA whose extKeyUsage lacks clientAuth).
 */
export function createClientCa(cn = 'test-cluster-client-ca'): CertificateAuthority {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const subject = subjectName(cn);
  const extensions = seq(
    extension('2.5.29.19', true, seq(bool(true))), // basicConstraints CA:TRUE
    extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x01, 0x06]))), // keyUsage keyCertSign, cRLSign
  );
  const der = signCertificate(privateKey, subject, subject, publicKey.export({ type: 'spki', format: 'der' }), extensions, 10 * 365);
  return { cert: pem(der), key: privateKey, subject };
}

function signCertificate(issuerKey: KeyObject, issuer: Buffer, subject: Buffer, spki: Buffer, extensions: Buffer, days: number): Buffer {
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const now = Date.now();
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([1]), randomBytes(15)])),
    ecdsaWithSha256,
    issuer,
    seq(utcTime(new Date(now - 60 * 60 * 1000)), utcTime(new Date(now + days * 24 * 60 * 60 * 1000))),
    subject,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, issuerKey);
  return seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

/**
 * A client certificate as `kubeadm kubeconfig user` or a CertificateSigningRequest with signer
 * kubernetes.io/kube-apiserver-client issues it: CN is the user name, each O a group
 * (staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go CommonNameUserConversion),
 * extKeyUsage clientAuth, valid for a year.
 */
export function issueClientCertificate(ca: CertificateAuthority, user: string, groups: string[] = []): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const extensions = seq(
    extension('2.5.29.19', true, seq()), // basicConstraints CA:FALSE
    extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))), // keyUsage digitalSignature
    extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.2'))), // extKeyUsage clientAuth
  );
  const der = signCertificate(
    ca.key,
    ca.subject,
    subjectName(user, groups),
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
    365,
  );
  return { cert: pem(der), key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
