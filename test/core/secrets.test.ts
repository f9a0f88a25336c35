import { describe, expect, it } from 'vitest';
import { Secrets, secretPieces } from '../../src/core/secrets.js';

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: Q0EtREFUQQ==
users:
- name: deployer
  user:
    token: eyJhbGciOiJSUzI1NiJ9.payload.signature
    client-key-data: S0VZLURBVEEtU0VDUkVU
contexts:
- name: prod
  context: { cluster: prod, user: deployer }
current-context: prod
`;

describe('secret pieces', () => {
  it('finds the token and key data inside a kubeconfig, but not its harmless lines', () => {
    const pieces = secretPieces(kubeconfig);
    expect(pieces).toContain('eyJhbGciOiJSUzI1NiJ9.payload.signature');
    expect(pieces).toContain('S0VZLURBVEEtU0VDUkVU');
    expect(pieces).not.toContain('prod');
    expect(pieces).not.toContain('https://10.0.0.1:6443');
  });
  it('finds the password of a database URL and the path of a webhook URL', () => {
    expect(secretPieces('postgresql://app:s3cr3t-pass@db:5432/shop')).toContain('s3cr3t-pass');
    expect(secretPieces('https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX')).toContain('/services/T000/B000/XXXXXXXXXXXX');
  });
});

describe('redaction', () => {
  it('replaces every piece, also URL-encoded, and leaves other text alone', () => {
    const secrets = new Secrets();
    secrets.add(kubeconfig);
    secrets.add('postgresql://app:p%40ss%2Fword!@db:5432/shop');
    const text = `401 with token eyJhbGciOiJSUzI1NiJ9.payload.signature for db password p%40ss%2Fword! and p@ss/word!`;
    const redacted = secrets.redact(text);
    expect(redacted).toBe('401 with token *** for db password *** and ***');
  });
  it('finds the password of a malformed URL whose password has raw @ and /', () => {
    const secrets = new Secrets();
    secrets.add('postgresql://app:p@ss/wo:rd@db:5432/shop');
    expect(secrets.redact('password p@ss/wo:rd leaked')).toBe('password *** leaked');
  });
  it('ignores empty values', () => {
    const secrets = new Secrets();
    expect(secrets.add('')).toEqual([]);
    expect(secrets.add(undefined)).toEqual([]);
    expect(secrets.redact('nothing to hide')).toBe('nothing to hide');
  });
});
