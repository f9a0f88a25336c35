import type { Value } from '../condition/evaluate.js';

/**
 * The JSONPath subset Argo's web provider users write: `$.data.ok`, `{$.data.ok}` (Kubernetes
 * style braces), `$.items[0].value`, `$['odd key']`, `$.items[-1]`, `$.items[*].value`.
 * A path with `[*]` gives a list; otherwise one value. A missing key gives nil (no data).
 */
type Step = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'all' };

export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

export function parseJsonPath(path: string): Step[] {
  let text = path.trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1).trim();
  if (!text.startsWith('$')) throw new JsonPathError(`a JSONPath starts with $ (e.g. $.data.value), got ${JSON.stringify(path)}`);
  const steps: Step[] = [];
  let i = 1;
  while (i < text.length) {
    const rest = text.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\.([A-Za-z_][A-Za-z0-9_-]*)/.exec(rest))) steps.push({ kind: 'key', key: m[1]! });
    else if ((m = /^\[(-?\d+)\]/.exec(rest))) steps.push({ kind: 'index', index: Number(m[1]) });
    else if ((m = /^(?:\[\*\]|\.\*)/.exec(rest))) steps.push({ kind: 'all' });
    else if ((m = /^\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest)) || (m = /^\[\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest))) steps.push({ kind: 'key', key: m[1]!.replace(/\\(.)/g, '$1') });
    else throw new JsonPathError(`cannot read the JSONPath ${JSON.stringify(path)} at ${JSON.stringify(rest.slice(0, 20))} (supported: .key, ['key'], [0], [-1], [*])`);
    i += m[0].length;
  }
  return steps;
}

export function selectJsonPath(document: Value, path: string): Value {
  const steps = parseJsonPath(path);
  const many = steps.some((s) => s.kind === 'all');
  let current: Value[] = [document];
  for (const step of steps) {
    const next: Value[] = [];
    for (const node of current) {
      if (step.kind === 'all') {
        if (Array.isArray(node)) next.push(...node);
        else if (node && typeof node === 'object') next.push(...Object.values(node));
      } else if (step.kind === 'index') {
        if (Array.isArray(node)) {
          const at = step.index < 0 ? node.length + step.index : step.index;
          if (at >= 0 && at < node.length) next.push(node[at]!);
        }
      } else if (node && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, step.key)) {
        next.push(node[step.key]!);
      }
    }
    current = next;
  }
  return many ? current : (current[0] ?? null);
}
