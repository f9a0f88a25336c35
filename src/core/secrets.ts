/**
 * Secret values and the pieces of them that could leak on their own (a kubeconfig's token,
 * a database URL's password, a webhook URL's path). The action entries register every piece
 * with the runner's log masking before anything else runs; the core redacts them from error
 * messages and summaries so that the CLI and the tests are protected too.
 *
 * A kubeconfig's secrets are found by a scan of its lines, not by a YAML parser: the actions
 * register their secret inputs before their quick input checks, and a parser (115 KB of `yaml`)
 * would be on every start path. The scan takes each sensitive key's value in every form YAML
 * and JSON write it (plain, quoted, block scalar, flow mapping, anchored or aliased), so it
 * finds at least what a parse would (test/core/secrets.test.ts holds it to the `yaml` parse).
 */

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
/** Keys whose values are secret in a kubeconfig; `value` is an exec plugin's env value (users[].user.exec.env[].value). */
const SENSITIVE_KEYS = ['token', 'client-key-data', 'client-certificate-data', 'password', 'id-token', 'refresh-token', 'access-token', 'client-secret', 'value'];

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

/**
 * Every value of a sensitive key, wherever the key stands: at the start of a line, after "- ",
 * inside a flow mapping `{…, token: x}` or JSON `"token":"x"`, quoted or not, in any case. Finding
 * too much only hides harmless text; so where a form is ambiguous, every reading is kept.
 */
function kubeconfigSecrets(text: string): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  const keys = new RegExp(`(?:^|[\\s{,[])(["']?)(?:${SENSITIVE_KEYS.join('|')})\\1[ \\t]*:`, 'gi');
  lines.forEach((line, index) => {
    for (const match of line.matchAll(keys)) {
      const column = match.index + match[0].length - match[0].trimStart().length;
      out.push(...valueAt(lines, index, line.slice(match.index + match[0].length), column, text));
    }
  });
  return out;
}

/** The readings of the value that starts at `rest` (after "key:") on line `index`, the key at `column`. */
function valueAt(lines: string[], index: number, rest: string, column: number, text: string, depth = 0): string[] {
  let value = rest.trim();
  // Tags and anchors before the value: `!!str x`, `&name x`.
  for (let prop = /^(?:![^\s]*|&[^\s]+)(?:\s+|$)/.exec(value); prop; prop = /^(?:![^\s]*|&[^\s]+)(?:\s+|$)/.exec(value)) {
    value = value.slice(prop[0].length);
  }
  const out: string[] = [];
  const following = continuation(lines, index, column);
  if (value.startsWith('*') && depth === 0) {
    // An alias: the value is wherever its anchor stands.
    const name = /^\*([^\s,\]}]+)/.exec(value)?.[1];
    if (name) {
      lines.forEach((line, at) => {
        const anchor = line.indexOf(`&${name}`);
        if (anchor < 0) return;
        const after = line.slice(anchor + name.length + 1);
        if (!/^(?:\s|$)/.test(after)) return;
        out.push(...valueAt(lines, at, after, line.length - line.trimStart().length, text, depth + 1));
      });
    }
    return out;
  }
  if (/^[|>]/.test(value) || value === '') {
    // A block scalar (`|`, `>-`…), or the value on the lines below: every line, and the joins a parse gives.
    for (const join of ['\n', ' ']) out.push(following.join(join), `${following.join(join)}\n`);
    out.push(...following);
    return out;
  }
  if (value.startsWith('"')) {
    // Double-quoted: may run over lines and hold escapes.
    const joined = [value, ...lines.slice(index + 1).map((l) => l.trim())].join('\n');
    const end = closingQuote(joined, '"');
    const inner = joined.slice(1, end < 0 ? undefined : end);
    out.push(inner, ...inner.split('\n').map((l) => l.trim()), unescapeDouble(inner.replace(/[ \t]*\n[ \t]*/g, ' ')));
    return out;
  }
  if (value.startsWith("'")) {
    const joined = [value, ...lines.slice(index + 1).map((l) => l.trim())].join('\n');
    const end = closingQuote(joined, "'");
    const inner = joined.slice(1, end < 0 ? undefined : end);
    out.push(inner, inner.replace(/''/g, "'"), ...inner.split('\n').map((l) => l.trim()), inner.replace(/[ \t]*\n[ \t]*/g, ' ').replace(/''/g, "'"));
    return out;
  }
  // Plain: up to a comment, or up to the end of a flow entry; and folded with any deeper lines below.
  const uncommented = value.replace(/\s+#.*$/, '').trim();
  const inFlow = uncommented.split(/[,\]}]/)[0]!.trim();
  out.push(value, uncommented, inFlow, ...following, [uncommented, ...following].join(' '), [inFlow, ...following].join(' '));
  return out;
}

/** The trimmed lines below line `index` that are indented deeper than `column` (blank ones skipped), up to the first that is not. */
function continuation(lines: string[], index: number, column: number): string[] {
  const out: string[] = [];
  for (const line of lines.slice(index + 1)) {
    if (line.trim() === '') continue;
    if (line.length - line.trimStart().length <= column) break;
    out.push(line.trim());
  }
  return out;
}

/** Where the quoted string that `text` starts with ends (-1 when it does not): `\"` escapes in double quotes, `''` in single. */
function closingQuote(text: string, quote = '"'): number {
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote && quote === "'" && text[i + 1] === "'") i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

/** A double-quoted YAML string's escapes (a superset of JSON's) decoded; the text as written when one is not understood. */
function unescapeDouble(text: string): string {
  const simple: Record<string, string> = { '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029' };
  return text.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (all, code: string) => {
    if (code.length > 1) return String.fromCodePoint(parseInt(code.slice(1), 16));
    return simple[code] ?? all;
  });
}
