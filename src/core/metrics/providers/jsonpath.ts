/**
 * Kubernetes JSONPath (k8s.io/client-go/util/jsonpath), which Argo's web provider parses
 * `jsonPath` with, for the forms metric definitions use: the expression sits in braces, with or
 * without `$` — `{$.data.ok}`, `{.data.ok}` — and may hold `.key`, `['odd key']`, `[0]`, `[-1]`,
 * `[1:3]`, `[*]`, `.*`, `..key` (recursive descent) and filters `[?(@.name == "x")]`,
 * `[?(@.value > 5)]`, `[?(@.ready)]`. Read by this small parser: nothing is ever evaluated as code.
 *
 * As Argo's getValue does, a measurement is the first value the path selects. Where we differ:
 *  - Text outside braces is literal in Kubernetes JSONPath, so `$.value` (no braces) is the
 *    constant string "$.value" in Argo, whatever the body: we refuse it and say to write `{$.value}`.
 *  - A path that selects nothing is no data (nil, so Inconclusive) rather than an Error.
 *  - `range`/`end` and several expressions in one template are refused (one value is measured).
 */
import type { Value } from '../condition/evaluate.js';

type Operand = { kind: 'path'; steps: Step[] } | { kind: 'literal'; value: Value };

type Step =
  | { kind: 'key'; key: string }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start?: number; end?: number; step?: number }
  | { kind: 'all' }
  | { kind: 'recursive'; key?: string }
  | { kind: 'filter'; left: Step[]; op?: Comparison; right?: Operand };

type Comparison = '==' | '!=' | '<' | '<=' | '>' | '>=';

export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*/;
/** A field name as Kubernetes JSONPath reads it after `.`: letters, digits, `_`, `-`, `/`, and `\.` for a dot. */
const FIELD = String.raw`((?:[A-Za-z0-9_/-]|\\.)+)`;
const unescapeField = (text: string) => text.replace(/\\(.)/g, '$1');

/** Parses a `jsonPath` as Argo accepts it, or throws JsonPathError saying what to write instead. */
export function parseJsonPath(path: string): Step[] {
  const text = path.trim();
  const open = text.indexOf('{');
  if (open < 0) {
    const hint =
      text.startsWith('$') || text.startsWith('.')
        ? ` (in Argo Rollouts text outside braces is literal, so this would be the constant string ${JSON.stringify(text)}): write {${text}}`
        : ': write it in braces, e.g. {$.data.value}';
    throw new JsonPathError(`a JSONPath goes in braces${hint}`);
  }
  if (open > 0 || !text.endsWith('}') || text.indexOf('{', open + 1) >= 0) {
    throw new JsonPathError(
      `expected one JSONPath expression in braces, such as {$.data.value}, with no text around it; got ${JSON.stringify(path)}`,
    );
  }
  let inner = text.slice(1, -1).trim();
  if (/^(range|end)\b/.test(inner))
    throw new JsonPathError('range/end is not supported: a web metric measures one value; select it, e.g. {$.items[0].value}');
  if (inner.startsWith('$')) inner = inner.slice(1);
  const { steps, rest } = parseSteps(inner, path);
  if (rest !== '')
    throw new JsonPathError(
      `cannot read the JSONPath ${JSON.stringify(path)} at ${JSON.stringify(rest.slice(0, 20))} (supported: .key, ['key'], [0], [-1], [1:3], [*], ..key, [?(@.key == "x")])`,
    );
  return steps;
}

function parseSteps(text: string, path: string): { steps: Step[]; rest: string } {
  const steps: Step[] = [];
  let rest = text;
  for (;;) {
    let m: RegExpExecArray | null;
    if (rest === '') break;
    if ((m = new RegExp(`^\\.\\.(\\*|${FIELD})`).exec(rest)))
      steps.push({ kind: 'recursive', key: m[1] === '*' ? undefined : unescapeField(m[1]!) });
    else if ((m = /^\.\*/.exec(rest)) || (m = /^\[\s*\*\s*\]/.exec(rest))) steps.push({ kind: 'all' });
    else if ((m = new RegExp(`^\\.${FIELD}`).exec(rest))) steps.push({ kind: 'key', key: unescapeField(m[1]!) });
    else if ((m = /^\[\s*(-?\d+)\s*\]/.exec(rest))) steps.push({ kind: 'index', index: Number(m[1]) });
    else if ((m = /^\[\s*(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(-?\d+)\s*)?\]/.exec(rest))) {
      steps.push({ kind: 'slice', start: num(m[1]), end: num(m[2]), step: num(m[3]) });
      if (steps.at(-1)!.kind === 'slice' && (steps.at(-1) as { step?: number }).step === 0)
        throw new JsonPathError(`a slice step of 0 selects nothing in ${JSON.stringify(path)}`);
    } else if ((m = /^\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest)) || (m = /^\[\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest)))
      steps.push({ kind: 'key', key: m[1]!.replace(/\\(.)/g, '$1') });
    else if (rest.startsWith('[?(')) {
      const end = filterEnd(rest);
      if (end < 0) throw new JsonPathError(`unclosed filter in ${JSON.stringify(path)}: write [?(@.key == "x")]`);
      steps.push(parseFilter(rest.slice(3, end - 1).trim(), path));
      rest = rest.slice(end + 1);
      continue;
    } else break;
    rest = rest.slice(m[0].length);
  }
  return { steps, rest };
}

const num = (text: string | undefined) => (text === undefined ? undefined : Number(text));

/** Index just past the `)` that closes `[?(`, before its `]`; -1 if unclosed. Quotes are skipped. */
function filterEnd(text: string): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 2; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return text[i + 1] === ']' ? i + 1 : -1;
  }
  return -1;
}

function parseFilter(body: string, path: string): Step {
  const left = operand(body, path);
  if (left.operand.kind !== 'path')
    throw new JsonPathError(`a filter compares @.key with a value, e.g. [?(@.name == "x")], in ${JSON.stringify(path)}`);
  const rest = left.rest.trim();
  if (rest === '') return { kind: 'filter', left: left.operand.steps };
  const op = /^(==|!=|<=|>=|<|>)(?![<>=!])/.exec(rest);
  if (!op)
    throw new JsonPathError(
      `unknown comparison ${JSON.stringify(rest.slice(0, 10))} in ${JSON.stringify(path)} (supported: == != < <= > >=)`,
    );
  const right = operand(rest.slice(op[0].length).trim(), path);
  if (right.rest.trim() !== '') throw new JsonPathError(`a filter holds one comparison (no && or ||) in ${JSON.stringify(path)}`);
  return { kind: 'filter', left: left.operand.steps, op: op[1] as Comparison, right: right.operand };
}

function operand(text: string, path: string): { operand: Operand; rest: string } {
  let m: RegExpExecArray | null;
  if (text.startsWith('@')) {
    const { steps, rest } = parseSteps(text.slice(1), path);
    return { operand: { kind: 'path', steps }, rest };
  }
  if ((m = /^"((?:[^"\\]|\\.)*)"/.exec(text)) || (m = /^'((?:[^'\\]|\\.)*)'/.exec(text)))
    return { operand: { kind: 'literal', value: m[1]!.replace(/\\(.)/g, '$1') }, rest: text.slice(m[0].length) };
  if ((m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text)))
    return { operand: { kind: 'literal', value: Number(m[0]) }, rest: text.slice(m[0].length) };
  if ((m = /^(true|false|null)\b/.exec(text)))
    return { operand: { kind: 'literal', value: m[1] === 'null' ? null : m[1] === 'true' }, rest: text.slice(m[0].length) };
  if (IDENT.test(text))
    throw new JsonPathError(`${JSON.stringify(text)} in a filter must be @.key, a number or a quoted string, in ${JSON.stringify(path)}`);
  throw new JsonPathError(`cannot read the filter ${JSON.stringify(text)} in ${JSON.stringify(path)}`);
}

/** Every value the steps select from `nodes`, in document order. */
function select(nodes: Value[], steps: readonly Step[]): Value[] {
  let current = nodes;
  for (const step of steps) {
    const next: Value[] = [];
    for (const node of current) apply(step, node, next);
    current = next;
  }
  return current;
}

function apply(step: Step, node: Value, out: Value[]): void {
  const isObject = node !== null && typeof node === 'object' && !Array.isArray(node);
  switch (step.kind) {
    case 'key':
      if (isObject && Object.hasOwn(node, step.key)) out.push((node as Record<string, Value>)[step.key]!);
      return;
    case 'index':
      if (Array.isArray(node)) {
        const at = step.index < 0 ? node.length + step.index : step.index;
        if (at >= 0 && at < node.length) out.push(node[at]!);
      }
      return;
    case 'slice':
      if (Array.isArray(node)) {
        const by = step.step ?? 1;
        const clamp = (i: number) => Math.min(node.length, Math.max(0, i < 0 ? node.length + i : i));
        const from = step.start === undefined ? (by > 0 ? 0 : node.length - 1) : clamp(step.start);
        const to = step.end === undefined ? (by > 0 ? node.length : -1) : clamp(step.end);
        for (let i = from; by > 0 ? i < to : i > to; i += by) if (i >= 0 && i < node.length) out.push(node[i]!);
      }
      return;
    case 'all':
      if (Array.isArray(node)) out.push(...node);
      else if (isObject) out.push(...Object.values(node as Record<string, Value>));
      return;
    case 'recursive':
      descend(node, step.key, out);
      return;
    case 'filter':
      for (const item of Array.isArray(node) ? node : isObject ? Object.values(node as Record<string, Value>) : [])
        if (matches(step, item)) out.push(item);
  }
}

function descend(node: Value, key: string | undefined, out: Value[]): void {
  if (node === null || typeof node !== 'object') return;
  const children = Array.isArray(node) ? node : Object.values(node as Record<string, Value>);
  if (!Array.isArray(node)) {
    if (key === undefined) out.push(...children);
    else if (Object.hasOwn(node, key)) out.push((node as Record<string, Value>)[key]!);
  } else if (key === undefined) out.push(...children);
  for (const child of children) descend(child, key, out);
}

function matches(filter: Extract<Step, { kind: 'filter' }>, item: Value): boolean {
  const left = select([item], filter.left);
  if (!filter.op) return left.length > 0 && left[0] !== null && left[0] !== false;
  const right = filter.right!.kind === 'literal' ? [filter.right!.value] : select([item], filter.right!.steps);
  if (left.length === 0 || right.length === 0) return false;
  return compare(left[0]!, right[0]!, filter.op);
}

function compare(a: Value, b: Value, op: Comparison): boolean {
  if (op === '==' || op === '!=') {
    const equal = typeof a === 'number' && typeof b === 'number' ? a === b : JSON.stringify(a) === JSON.stringify(b);
    return op === '==' ? equal : !equal;
  }
  if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) return false;
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

/** The first value `path` selects (Argo's getValue), or nil when it selects nothing. */
export function selectJsonPath(document: Value, path: string): Value {
  return select([document], parseJsonPath(path))[0] ?? null;
}
