/**
 * Evaluates a parsed success or failure condition against a measured value, with expr-lang's
 * semantics for the operators and built-ins conditions use.
 */
import type { FunctionName, Node } from './parse.js';

/** What a provider measured: a number (scalar), a list (vector), a list of lists (matrix) or any JSON (web). */
export type Value = number | string | boolean | null | Value[] | { [key: string]: Value };

export class ConditionEvalError extends Error {
  override readonly name = 'ConditionEvalError';
}

/** Evaluates a parsed condition against `result`; the outcome must be a boolean. */
export function evaluateCondition(node: Node, result: Value): boolean {
  const outcome = evaluate(node, result, undefined);
  if (typeof outcome !== 'boolean') throw new ConditionEvalError(`the condition gave ${describe(outcome)}, not true or false`);
  return outcome;
}

function evaluate(node: Node, result: Value, element: Value | undefined): Value {
  const ev = (n: Node) => evaluate(n, result, element);
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'result':
      return result;
    case 'element':
      return element ?? null;
    case 'list':
      return node.items.map(ev);
    case 'closure':
      throw new ConditionEvalError('a predicate {…} can only be an argument of all, any, none, one, count, filter or map');
    case 'unary': {
      const value = ev(node.operand);
      if (node.op === '!') return !truthy(value, '!');
      const n = number(value, node.op);
      return node.op === '-' ? -n : n;
    }
    case 'logical': {
      const left = truthy(ev(node.left), node.op);
      if (node.op === '&&') return left ? truthy(ev(node.right), '&&') : false;
      return left ? true : truthy(ev(node.right), '||');
    }
    case 'conditional':
      return truthy(ev(node.test), '?:') ? ev(node.then) : ev(node.otherwise);
    case 'binary':
      return binary(node.op, ev(node.left), ev(node.right));
    case 'index':
      return index(ev(node.target), ev(node.index));
    case 'call':
      return call(node.name, node.args, result, element);
  }
}

function binary(op: string, left: Value, right: Value): Value {
  switch (op) {
    case '==':
      return equal(left, right);
    case '!=':
      return !equal(left, right);
    case 'in':
    case 'not in': {
      const found = Array.isArray(right)
        ? right.some((item) => equal(item, left))
        : isObject(right)
          ? typeof left === 'string' && Object.hasOwn(right, left)
          : fail(`'${op}' needs a list or a map on its right, got ${describe(right)}`);
      return op === 'in' ? found : !found;
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (typeof left === 'string' && typeof right === 'string') return compare(op, left.localeCompare(right), 0);
      return compare(op, number(left, op), number(right, op));
    }
    case '+':
      if (typeof left === 'string' && typeof right === 'string') return left + right;
      return number(left, op) + number(right, op);
    case '-':
      return number(left, op) - number(right, op);
    case '*':
      return number(left, op) * number(right, op);
    case '/':
      return number(left, op) / number(right, op);
    case '%':
      return number(left, op) % number(right, op);
    case '**':
      return number(left, op) ** number(right, op);
    default:
      return fail(`unknown operator ${op}`);
  }
}

function compare(op: string, a: number, b: number): boolean {
  // NaN compares false with everything, as in Go (and expr-lang).
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

function index(target: Value, key: Value): Value {
  if (Array.isArray(target)) {
    if (typeof key !== 'number' || !Number.isInteger(key)) return fail(`a list is indexed by a whole number, not ${describe(key)}`);
    const i = key < 0 ? target.length + key : key;
    if (i < 0 || i >= target.length)
      return fail(`index ${key} is out of range: result has ${target.length} element${target.length === 1 ? '' : 's'}`);
    return target[i]!;
  }
  if (isObject(target)) {
    if (typeof key !== 'string') return fail(`a map is indexed by a string, not ${describe(key)}`);
    return Object.hasOwn(target, key) ? target[key]! : null;
  }
  return fail(`cannot index ${describe(target)}`);
}

function call(name: FunctionName, args: Node[], result: Value, element: Value | undefined): Value {
  const ev = (n: Node) => evaluate(n, result, element);
  switch (name) {
    case 'len': {
      const value = ev(args[0]!);
      if (Array.isArray(value) || typeof value === 'string') return value.length;
      if (isObject(value)) return Object.keys(value).length;
      if (value === null) return 0;
      return fail(`len() needs a list, map or string, got ${describe(value)}`);
    }
    case 'isNaN': {
      const value = ev(args[0]!);
      if (Array.isArray(value)) return fail('isNaN() takes one number; for a list, use isNaN(result[0]) or all(result, {isNaN(#)})');
      return typeof value === 'number' ? Number.isNaN(value) : fail(`isNaN() needs a number, got ${describe(value)}`);
    }
    case 'isInf': {
      const value = number(ev(args[0]!), 'isInf()');
      return value === Infinity || value === -Infinity;
    }
    case 'isNil': {
      const value = ev(args[0]!);
      return value === null || value === undefined;
    }
    case 'default': {
      const value = ev(args[0]!);
      return value === null || value === undefined ? ev(args[1]!) : value;
    }
    case 'asFloat': {
      const value = ev(args[0]!);
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && !(typeof value === 'string' && Number.isNaN(n))
        ? n
        : fail(`asFloat() cannot convert ${describe(value)}`);
    }
    case 'asInt': {
      const value = ev(args[0]!);
      const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
      return typeof n === 'number' && Number.isFinite(n) ? Math.trunc(n) : fail(`asInt() cannot convert ${describe(value)}`);
    }
    case 'abs':
      return Math.abs(number(ev(args[0]!), 'abs()'));
    case 'min':
    case 'max': {
      const values = args.length === 1 ? list(ev(args[0]!), `${name}()`) : args.map(ev);
      if (values.length === 0) return fail(`${name}() of an empty list`);
      const numbers = values.map((v) => number(v, `${name}()`));
      return name === 'min' ? Math.min(...numbers) : Math.max(...numbers);
    }
    case 'sum':
    case 'mean': {
      const values = list(ev(args[0]!), `${name}()`).map((v) => number(v, `${name}()`));
      const total = values.reduce((a, b) => a + b, 0);
      if (name === 'sum') return total;
      return values.length === 0 ? fail('mean() of an empty list') : total / values.length;
    }
    case 'all':
    case 'any':
    case 'none':
    case 'one':
    case 'count':
    case 'filter':
    case 'map': {
      const items = list(ev(args[0]!), `${name}()`);
      const body = (args[1] as Extract<Node, { type: 'closure' }>).body;
      const apply = (item: Value) => evaluate(body, result, item);
      const test = (item: Value) => truthy(apply(item), `${name}() predicate`);
      switch (name) {
        case 'all':
          return items.every(test);
        case 'any':
          return items.some(test);
        case 'none':
          return !items.some(test);
        case 'one':
          return items.filter(test).length === 1;
        case 'count':
          return items.filter(test).length;
        case 'filter':
          return items.filter(test);
        case 'map':
          return items.map(apply);
      }
    }
  }
}

function equal(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equal(a[k]!, b[k]!));
  }
  return a === b;
}

function truthy(value: Value, where: string): boolean {
  if (typeof value === 'boolean') return value;
  return fail(`${where} needs true or false, got ${describe(value)}`);
}

function number(value: Value, where: string): number {
  if (typeof value === 'number') return value;
  return fail(`${where} needs a number, got ${describe(value)}${Array.isArray(value) ? ' (index it, e.g. result[0])' : ''}`);
}

function list(value: Value, where: string): Value[] {
  if (Array.isArray(value)) return value;
  return fail(`${where} needs a list, got ${describe(value)}`);
}

function isObject(value: Value): value is { [key: string]: Value } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: Value | undefined): string {
  if (value === null || value === undefined) return 'nil';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === 'number' ? 'the number' : 'the boolean'} ${String(value)}`;
}

function fail(message: string): never {
  throw new ConditionEvalError(message);
}
