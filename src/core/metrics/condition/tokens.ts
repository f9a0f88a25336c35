/**
 * The tokenizer of the condition language (a safe subset of expr-lang, which Argo Rollouts
 * uses for `successCondition` / `failureCondition`). Nothing here is ever handed to `eval`.
 */

export type TokenKind = 'number' | 'string' | 'name' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** The token's text; for strings, the decoded value. */
  text: string;
  /** For numbers, the value. */
  value?: number;
  /** Offset in the source, for messages. */
  at: number;
}

export class ConditionSyntaxError extends Error {
  override readonly name = 'ConditionSyntaxError';
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

/** Longest first, so `<=` wins over `<`. */
const PUNCTUATION = [
  '**',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '!',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  '#',
  '?',
  ':',
];

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0' };

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const match = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i))!;
      const text = match[0];
      tokens.push({ kind: 'number', text, value: Number(text), at: start });
      i += text.length;
      if (/[A-Za-z_]/.test(source[i] ?? '')) throw new ConditionSyntaxError(`unexpected '${source[i]}' after number ${text}`, i);
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      const text = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))![0];
      tokens.push({ kind: 'name', text, at: start });
      i += text.length;
      continue;
    }
    if (ch === '"' || ch === "'") {
      let value = '';
      i++;
      for (;;) {
        const c = source[i];
        if (c === undefined) throw new ConditionSyntaxError('unterminated string', start);
        if (c === ch) break;
        if (c === '\\') {
          const next = source[i + 1];
          if (next === undefined || !(next in ESCAPES)) throw new ConditionSyntaxError(`unknown escape \\${next ?? ''} in string`, i);
          value += ESCAPES[next];
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      i++;
      tokens.push({ kind: 'string', text: value, at: start });
      continue;
    }
    const punct = PUNCTUATION.find((p) => source.startsWith(p, i));
    if (!punct) throw new ConditionSyntaxError(`unexpected character '${ch}'`, i);
    tokens.push({ kind: 'punct', text: punct, at: start });
    i += punct.length;
  }
  tokens.push({ kind: 'eof', text: '', at: source.length });
  return tokens;
}
