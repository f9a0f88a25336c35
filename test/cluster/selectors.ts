/**
 * Label selector (string and LabelSelector object forms) and field selector matching.
 */
import { errors } from './status.js';

type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

/** Split on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

function parseTerm(term: string): Requirement {
  let m = /^!\s*([^\s!=(),]+)$/.exec(term);
  if (m) return { op: 'notexists', key: m[1]! };
  m = /^([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) {
    const values = m[3]!
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v.length > 0);
    return { op: m[2] as 'in' | 'notin', key: m[1]!, values };
  }
  m = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(term);
  if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
  m = /^([^\s!=(),]+)$/.exec(term);
  if (m) return { op: 'exists', key: m[1]! };
  throw errors.badRequest(`unable to parse requirement: found '${term}', expected: identifier`);
}

function matches(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'eq':
      return has && value === req.value;
    case 'neq':
      return !has || value !== req.value;
    case 'in':
      return has && req.values.includes(value!);
    case 'notin':
      return !has || !req.values.includes(value!);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

export function parseLabelSelector(selector: string | undefined | null): LabelMatcher {
  if (!selector || selector.trim() === '') return () => true;
  const reqs = splitTerms(selector).map(parseTerm);
  return (labels) => reqs.every((r) => matches(r, labels ?? {}));
}

/** metav1.LabelSelector {matchLabels, matchExpressions} */
export function labelSelectorObjectMatcher(sel: any): LabelMatcher {
  if (!sel) return () => false; // a nil selector matches nothing
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) reqs.push({ op: 'eq', key, value: String(value) });
  for (const e of sel.matchExpressions ?? []) {
    const op = String(e.operator);
    if (op === 'In') reqs.push({ op: 'in', key: e.key, values: e.values ?? [] });
    else if (op === 'NotIn') reqs.push({ op: 'notin', key: e.key, values: e.values ?? [] });
    else if (op === 'Exists') reqs.push({ op: 'exists', key: e.key });
    else if (op === 'DoesNotExist') reqs.push({ op: 'notexists', key: e.key });
  }
  return (labels) => reqs.every((r) => matches(r, labels ?? {}));
}

/** The string form of a LabelSelector, as kubectl and `status.selector` use it. */
export function labelSelectorToString(sel: any): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export type FieldMatcher = (obj: any) => boolean;

const FIELD_GETTERS: Record<string, (obj: any) => string | undefined> = {
  'metadata.name': (o) => o.metadata?.name,
  'metadata.namespace': (o) => o.metadata?.namespace,
  'status.phase': (o) => o.status?.phase,
  'spec.nodeName': (o) => o.spec?.nodeName ?? '',
};

export function parseFieldSelector(selector: string | undefined | null): FieldMatcher {
  if (!selector || selector.trim() === '') return () => true;
  const reqs = selector.split(',').map((term) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw errors.badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const getter = FIELD_GETTERS[m[1]!];
    if (!getter) throw errors.badRequest(`"${m[1]}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    return { getter, neq: m[2] === '!=', value: m[3]! };
  });
  return (obj) => reqs.every((r) => (r.getter(obj) === r.value) !== r.neq);
}
