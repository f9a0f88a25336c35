/**
 * Secret values and the pieces of them that could leak on their own (a kubeconfig's token,
 * a database URL's password, a webhook URL's path). The action entries register every piece
 * with the runner's log masking before anything else runs; the core redacts them from error
 * messages and summaries so that the CLI and the tests are protected too.
 */
import { parse as parseYaml } from 'yaml';
import { isStructured, MIN_PIECE, quickSecretPieces, SENSITIVE_KEYS } from './secret-pieces.js';

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

/** The whole value, the sensitive pieces inside a URL, and every secret a YAML parse of a kubeconfig finds. */
export function secretPieces(value: string): string[] {
  const pieces = new Set(quickSecretPieces(value));
  if (isStructured(value)) for (const piece of parsedKubeconfigSecrets(value)) pieces.add(piece);
  return [...pieces].filter((piece) => piece.length >= MIN_PIECE);
}

/** What a YAML (or JSON) parse finds under a sensitive key, in any style: block scalars, aliases, escapes. */
function parsedKubeconfigSecrets(text: string): string[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return []; // not YAML: the value on each key's line was found without a parse
  }
  const sensitive = new Set<string>(SENSITIVE_KEYS);
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) {
      if (sensitive.has(key) && typeof child === 'string') out.push(child);
      else walk(child);
    }
  };
  walk(doc);
  return out;
}
