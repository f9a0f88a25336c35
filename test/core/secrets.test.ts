import { describe, expect, it } from 'vitest';
import { quickSecretPieces } from '../../src/core/secret-pieces.js';
import { Secrets, secretPieces } from '../../src/core/secrets.js';
import { parse as parseYaml } from 'yaml';

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

/**
 * A kubeconfig's secrets, in each form YAML and JSON can write them: every value of a sensitive
 * key that `yaml` reads out of the kubeconfig must be hidden by what Secrets registered.
 */
const SENSITIVE = new Set([
  'token',
  'client-key-data',
  'client-certificate-data',
  'password',
  'id-token',
  'refresh-token',
  'access-token',
  'client-secret',
  'value',
]);

function parsedSecrets(text: string): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) {
      if (SENSITIVE.has(key) && typeof child === 'string') out.push(child);
      else walk(child);
    }
  };
  walk(parseYaml(text));
  return out.filter((value) => value.trim().length >= 6);
}

const forms: Record<string, string> = {
  'kubectl block style': kubeconfig,
  'CRLF line ends': kubeconfig.replace(/\n/g, '\r\n'),
  'JSON, pretty': JSON.stringify(parseYaml(kubeconfig), null, 2),
  'JSON, one line': JSON.stringify(parseYaml(kubeconfig)),
  'flow mapping': `apiVersion: v1
users:
- {name: a, user: {token: flow-token-123, client-key-data: "flow-key-456"}}
- name: b
  user: { password: 'it''s-a-secret', username: admin }
`,
  'quoted, escaped, commented, tagged': `users:
- name: a
  user:
    token: "esc\\u0041ped-\\x42-token\\t!"
    client-key-data: 'single ''quoted'' key' # the key
    password: !!str tagged-password # comment
    "id-token": plain-after-quoted-key
`,
  'block scalars': `users:
- name: a
  user:
    client-key-data: |
      LS0tLS1CRUdJTiBSU0Eg
      UFJJVkFURSBLRVktLS0t
    client-certificate-data: >-
      Q0VSVElGSUNBVEUtTElO
      RS1UV08tQU5ELVRIUkVF
    token: >
      folded-token-line-one
      folded-token-line-two
- name: b
  user:
    token: |+
      kept-trailing-lines

`,
  'value on the next line, multi-line plain': `users:
- name: a
  user:
    token:
      on-the-next-line-token
    password: first-part-of-a
      long-plain-password
`,
  'anchors and aliases': `shared: &tok anchored-token-value
other: &key
  anchored-block-value-xyz
users:
- name: a
  user:
    token: *tok
    client-key-data: *key
`,
  'auth-provider and exec env': `users:
- name: oidc
  user:
    auth-provider:
      name: oidc
      config:
        client-id: kubernetes
        client-secret: oidc-client-secret-1
        id-token: eyJ.id.token
        refresh-token: refresh-token-2
- name: aws
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      env:
      - name: AWS_SECRET_ACCESS_KEY
        value: wJalrXUtnFEMI/K7MDENG
      - {name: AWS_SESSION_TOKEN, value: "session-token-3"}
`,
};

describe('kubeconfig secrets', () => {
  for (const [form, text] of Object.entries(forms)) {
    it(`hides every secret a YAML parse finds: ${form}`, () => {
      const found = parsedSecrets(text);
      expect(found.length).toBeGreaterThan(0);
      const secrets = new Secrets();
      secrets.add(text);
      for (const value of found)
        expect(secrets.redact(`leak: ${value} .`), `${form}: ${JSON.stringify(value)}`).toMatch(/^leak: [*\s]+ \.$/);
    });
  }
  it('hides the exec plugin env values and the auth-provider tokens, not the harmless names', () => {
    const pieces = secretPieces(forms['auth-provider and exec env']!);
    expect(pieces).toEqual(expect.arrayContaining(['wJalrXUtnFEMI/K7MDENG', 'session-token-3', 'oidc-client-secret-1', 'refresh-token-2']));
    expect(pieces).not.toContain('AWS_SECRET_ACCESS_KEY');
    expect(pieces).not.toContain('kubernetes');
  });
  it('finds the token of a JSON kubeconfig written on one line', () => {
    expect(secretPieces(forms['JSON, one line']!)).toContain('eyJhbGciOiJSUzI1NiJ9.payload.signature');
  });
  it('registers the whole text even when it is not YAML at all', () => {
    const secrets = new Secrets();
    secrets.add('not: [valid yaml\n  token: broken-but-hidden');
    expect(secrets.redact('x broken-but-hidden y')).toBe('x *** y');
  });
});

/**
 * Without a parse (what the action's first step masks before it fails on a bad input): every
 * value written on its key's own line, in block, flow and JSON style. Values on later lines
 * (block scalars, aliases) need the parse; Secrets has them (above).
 */
describe('kubeconfig secrets found without a parse', () => {
  const sameLine = [
    'kubectl block style',
    'CRLF line ends',
    'JSON, pretty',
    'JSON, one line',
    'flow mapping',
    'auth-provider and exec env',
  ];
  for (const form of sameLine) {
    it(`finds every value a YAML parse finds: ${form}`, () => {
      const pieces = quickSecretPieces(forms[form]!);
      for (const value of parsedSecrets(forms[form]!)) expect(pieces, `${form}: ${JSON.stringify(value)}`).toContain(value);
      expect(pieces).not.toContain('kubernetes');
    });
  }
  it('finds quoted values as written, and what follows a quoted key', () => {
    const pieces = quickSecretPieces(forms['quoted, escaped, commented, tagged']!);
    expect(pieces).toEqual(expect.arrayContaining(["single 'quoted' key", 'plain-after-quoted-key', 'esc\\u0041ped-\\x42-token\\t!']));
  });
  it('finds nothing it cannot see on the line, which Secrets then finds with the parse', () => {
    const text = forms['block scalars']!;
    expect(quickSecretPieces(text).filter((piece) => piece !== text && piece !== text.trim())).toEqual([]);
    expect(secretPieces(text)).toContain('folded-token-line-one folded-token-line-two\n');
  });
});
