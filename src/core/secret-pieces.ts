/**
 * The pieces of a secret value that could leak on their own, found without a parser: the value,
 * the password and path of a URL, and the values written beside a kubeconfig's sensitive keys on
 * the key's own line. The action's first step (src/actions/start.ts) masks these before it writes
 * anything; Secrets (secrets.ts) adds what a full YAML parse of a kubeconfig finds.
 */

/** Pieces shorter than this are not registered: masking "prod" or "app" would blank half a log. */
export const MIN_PIECE = 6;

/** The kubeconfig keys whose values are secret. */
export const SENSITIVE_KEYS = [
  'token',
  'client-key-data',
  'client-certificate-data',
  'password',
  'id-token',
  'refresh-token',
  'access-token',
  'client-secret',
  // An exec plugin's env values (users[].user.exec.env[].value) often carry credentials.
  'value',
] as const;

/** A sensitive key and the value on its line: plain, 'single' or "double" quoted, in block, flow or JSON style. */
const KEY_AND_VALUE = new RegExp(
  `["']?(?:${SENSITIVE_KEYS.join('|')})["']?[ \\t]*:[ \\t]*(?:"((?:[^"\\\\\\r\\n]|\\\\.)*)"|'((?:[^'\\r\\n]|'')*)'|([^\\s"'{}\\[\\],#][^\\s{}\\[\\],]*))`,
  'g',
);

/** The whole value and the pieces of it found without parsing it. */
export function quickSecretPieces(value: string | undefined): string[] {
  if (!value) return [];
  const pieces = new Set<string>([value, value.trim()]);
  for (const piece of isStructured(value) ? keyValuePieces(value) : urlSecrets(value.trim())) pieces.add(piece);
  return [...pieces].filter((piece) => piece.length >= MIN_PIECE);
}

/** Whether the value is a kubeconfig-like document (YAML lines, or JSON), whose secrets a parse finds. */
export function isStructured(value: string): boolean {
  return value.includes('\n') || value.trimStart().startsWith('{');
}

function keyValuePieces(text: string): string[] {
  return [...text.matchAll(KEY_AND_VALUE)].map((m) => m[1] ?? m[2]?.replace(/''/g, "'") ?? m[3]!).filter(Boolean);
}

function urlSecrets(text: string): string[] {
  const out: string[] = [];
  // Everything between the first ":" after the scheme and the last "@": the password as written,
  // even when it holds a raw "@" or "/" that makes URL parsers read it differently.
  const raw = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]+:(.+)@[^@]+$/i.exec(text);
  if (raw) out.push(raw[1]!, safeDecode(raw[1]!));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return out;
  }
  if (url.password) out.push(url.password, safeDecode(url.password));
  // Webhook URLs carry their secret in the path (https://hooks.slack.com/services/T../B../xxxx).
  const pathAndQuery = url.pathname + url.search;
  if (pathAndQuery.length >= 16) out.push(pathAndQuery);
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
