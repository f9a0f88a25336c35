/**
 * Secret values and the pieces of them that could leak on their own (a kubeconfig's token,
 * a database URL's password, a webhook URL's path). The action entries register every piece
 * with the runner's log masking before anything else runs; the core redacts them from error
 * messages and summaries so that the CLI and the tests are protected too.
 */
import { parse as parseYaml } from 'yaml';

export class Secrets {
  private readonly pieces = new Set<string>();

  /** Register a secret value and its sensitive pieces. Returns the pieces, for the runner's masking. */
  add(value: string | undefined): string[] {
    if (!value) return [];
    const found = secretPieces(value);
    for (const piece of found) this.pieces.add(piece);
    return found;
  }

  /** Every registered piece, longest first. */
  values(): string[] {
    return [...this.pieces].sort((a, b) => b.length - a.length);
  }

  /** Replace every registered piece (and its URL-encoded form) with ***. */
  redact(text: string): string {
    let out = text;
    for (const piece of this.values()) {
      out = out.split(piece).join('***');
      const encoded = encodeURIComponent(piece);
      if (encoded !== piece) out = out.split(encoded).join('***');
    }
    return out;
  }
}

const MIN_PIECE = 6;
const SENSITIVE_KEYS = new Set([
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
]);

/** The whole value, each of its lines, and the sensitive pieces inside URLs and kubeconfigs. */
export function secretPieces(value: string): string[] {
  const pieces = new Set<string>([value, value.trim()]);
  // A kubeconfig in YAML (lines) or in JSON (possibly on one line).
  if (value.includes('\n') || value.trimStart().startsWith('{')) {
    for (const piece of kubeconfigSecrets(value)) pieces.add(piece);
  } else {
    for (const piece of urlSecrets(value.trim())) pieces.add(piece);
  }
  return [...pieces].filter((p) => p.length >= MIN_PIECE);
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

function kubeconfigSecrets(text: string): string[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    // Not YAML: still take what follows each sensitive key on its line (the lines themselves are registered too).
    const line = new RegExp(`^[\\s-]*["']?(?:${[...SENSITIVE_KEYS].join('|')})["']?\\s*:\\s*["']?([^"'\\s]+)`, 'gim');
    return [...text.matchAll(line)].map((m) => m[1]!);
  }
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) {
      if (SENSITIVE_KEYS.has(key) && typeof child === 'string') out.push(child);
      else walk(child);
    }
  };
  walk(doc);
  return out;
}
