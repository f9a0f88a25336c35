/**
 * Template arguments, `{{args.service}}`, as in Argo Rollouts' AnalysisTemplates, filled in so
 * that an argument can never change what the text around it means:
 *
 *  - PromQL (interpolatePromQL): inside a quoted string the value is escaped for that string;
 *    in a regex matcher (`=~"..."`, `!~"..."`) regex metacharacters are escaped too, so the
 *    argument matches literally (`.*` cannot widen a selector to every service). Outside quotes
 *    (e.g. a range `[{{args.window}}]`) the value must be one PromQL token: letters, digits,
 *    `_`, `:` and `.`, and not a keyword such as `or`; anything else is an InputError.
 *  - URLs (interpolateUrl): an argument that is the whole value is used as is (and the result must
 *    be an http(s) URL); inside a longer URL it is percent-encoded.
 *  - header values: used as is, but never with a line break.
 *  - conditions (interpolateCondition): a number stays a number, anything else becomes a quoted string.
 *
 * Control characters are refused everywhere.
 */
import { InputError } from '../config/input-error.js';

export type Args = Readonly<Record<string, string>>;

const PLACEHOLDER = /\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}/g;
const PROMQL_TOKEN = /^[A-Za-z0-9_:.]+$/;
const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'atan2',
  'start',
  'end',
]);
const REGEX_META = /[\\.+*?()|[\]{}^$]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Names of the arguments a text refers to. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** Where an interpolated value goes, for messages: e.g. "metric 'error-rate', provider.prometheus.query". */
export type Where = string;

function lookup(args: Args, name: string, where: Where): string {
  const value = args[name];
  if (value === undefined) {
    throw new InputError(
      `${where} uses {{args.${name}}}, but no argument '${name}' was given: add it to the args input (or give it a value in spec.args)`,
    );
  }
  if (CONTROL.test(value)) throw new InputError(`args.${name} (used in ${where}) contains a control character or line break; remove it`);
  return value;
}

export function interpolatePromQL(template: string, args: Args, where: Where): string {
  let out = '';
  let quote: '"' | "'" | '`' | undefined;
  let quoteStart = -1;
  let comment = false;
  let i = 0;
  while (i < template.length) {
    PLACEHOLDER.lastIndex = i;
    const match = PLACEHOLDER.exec(template);
    if (match && match.index === i) {
      const name = match[1]!;
      const value = lookup(args, name, where);
      if (quote) {
        const regex = /[=!]~\s*$/.test(template.slice(0, quoteStart));
        out += escapeForString(regex ? value.replace(REGEX_META, '\\$&') : value, quote, name, where);
      } else {
        if (!PROMQL_TOKEN.test(value) || PROMQL_KEYWORDS.has(value.toLowerCase()) || comment) {
          throw new InputError(
            `args.${name} is used outside a quoted string in ${where}, so its value must be a single PromQL token ` +
              `(letters, digits, '_', ':', '.'; not a keyword), but it is ${JSON.stringify(value.slice(0, 60))}. ` +
              `Put the placeholder in quotes, e.g. service="{{args.${name}}}", to use any text.`,
          );
        }
        out += value;
      }
      i += match[0].length;
      continue;
    }
    const ch = template[i]!;
    if (comment) {
      if (ch === '\n') comment = false;
    } else if (quote) {
      if (ch === '\\' && quote !== '`') {
        out += ch + (template[i + 1] ?? '');
        i += 2;
        continue;
      }
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      quote = ch;
      quoteStart = i;
    } else if (ch === '#') {
      comment = true;
    }
    out += ch;
    i++;
  }
  return out;
}

function escapeForString(value: string, quote: '"' | "'" | '`', name: string, where: Where): string {
  if (quote === '`') {
    if (value.includes('`'))
      throw new InputError(
        `args.${name} contains a backtick, which cannot appear inside \`...\` in ${where}; use "..." in the query instead`,
      );
    return value;
  }
  // PromQL (like Go) accepts only \\ and the string's own quote as escapes of these characters.
  return value.replace(/\\/g, '\\\\').replaceAll(quote, `\\${quote}`);
}

export function interpolateUrl(template: string, args: Args, where: Where): string {
  const whole = /^\s*\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}\s*$/.exec(template);
  if (whole) return lookup(args, whole[1]!, where);
  return template.replace(PLACEHOLDER, (_, name: string) => encodeURIComponent(lookup(args, name, where)));
}

export function interpolateHeader(template: string, args: Args, where: Where): string {
  return template.replace(PLACEHOLDER, (_, name: string) => lookup(args, name, where));
}

export function interpolateCondition(template: string, args: Args, where: Where): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = lookup(args, name, where);
    return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value.trim()) ? value.trim() : JSON.stringify(value);
  });
}

/** Escapes a text for use inside a PromQL "..." string literal (for callers that build queries). */
export function promqlString(value: string): string {
  if (CONTROL.test(value)) throw new InputError('a value used in a PromQL query contains a control character or line break');
  return `"${escapeForString(value, '"', '', '')}"`;
}
