/**
 * Recursive-descent parser for conditions such as `result[0] >= 0.95`,
 * `isNaN(result) || result <= 500`, `len(result) > 0 && all(result, {# < 0.5})`.
 *
 * The language is the part of expr-lang that conditions use: numbers, strings, true/false/nil,
 * `result`, indexing (`result[0]`, `result[-1]`, `result["key"]`, `result.key`), arithmetic
 * (+ - * / % ** ^), comparisons, `in`, `not in`, logic (&& || ! and or not), `a ? b : c`,
 * list literals and the functions in FUNCTIONS. Predicates take a closure `{# < 0.5}`
 * (or a bare expression using `#`). Unknown names are rejected here, before anything runs.
 */
import { ConditionSyntaxError, tokenize, type Token } from './tokens.js';

export type Node =
  | { type: 'literal'; value: number | string | boolean | null }
  | { type: 'result' }
  | { type: 'element' }
  | { type: 'list'; items: Node[] }
  | { type: 'unary'; op: '!' | '-' | '+'; operand: Node }
  | { type: 'binary'; op: BinaryOp; left: Node; right: Node }
  | { type: 'logical'; op: '&&' | '||'; left: Node; right: Node }
  | { type: 'conditional'; test: Node; then: Node; otherwise: Node }
  | { type: 'index'; target: Node; index: Node }
  | { type: 'call'; name: FunctionName; args: Node[] }
  | { type: 'closure'; body: Node };

export type BinaryOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%' | '**' | 'in' | 'not in';

/** name -> [min args, max args, index of the predicate argument or -1] */
export const FUNCTIONS = {
  len: [1, 1, -1],
  isNaN: [1, 1, -1],
  isInf: [1, 1, -1],
  isNil: [1, 1, -1],
  default: [2, 2, -1],
  asFloat: [1, 1, -1],
  asInt: [1, 1, -1],
  abs: [1, 1, -1],
  min: [1, 8, -1],
  max: [1, 8, -1],
  sum: [1, 1, -1],
  mean: [1, 1, -1],
  all: [2, 2, 1],
  any: [2, 2, 1],
  none: [2, 2, 1],
  one: [2, 2, 1],
  count: [2, 2, 1],
  filter: [2, 2, 1],
  map: [2, 2, 1],
} as const satisfies Record<string, readonly [number, number, number]>;

export type FunctionName = keyof typeof FUNCTIONS;

/** Functions that look at whether there is data; a condition using one decides no-data cases itself. */
export const NO_DATA_CHECKS: readonly FunctionName[] = ['isNaN', 'isNil', 'len', 'default'];

const MAX_LENGTH = 2000;
const MAX_DEPTH = 64;

export function parseCondition(source: string): Node {
  if (source.length > MAX_LENGTH) throw new ConditionSyntaxError(`condition is longer than ${MAX_LENGTH} characters`, 0);
  const parser = new Parser(tokenize(source));
  const node = parser.expression();
  parser.expectEnd();
  return node;
}

/** Whether the expression calls any of `names` (used to see if a condition handles no data). */
export function callsAny(node: Node, names: readonly string[]): boolean {
  switch (node.type) {
    case 'call':
      return names.includes(node.name) || node.args.some((a) => callsAny(a, names));
    case 'list':
      return node.items.some((n) => callsAny(n, names));
    case 'unary':
      return callsAny(node.operand, names);
    case 'binary':
    case 'logical':
      return callsAny(node.left, names) || callsAny(node.right, names);
    case 'conditional':
      return callsAny(node.test, names) || callsAny(node.then, names) || callsAny(node.otherwise, names);
    case 'index':
      return callsAny(node.target, names) || callsAny(node.index, names);
    case 'closure':
      return callsAny(node.body, names);
    default:
      return false;
  }
}

class Parser {
  private pos = 0;
  private depth = 0;
  private closureDepth = 0;

  constructor(private readonly tokens: Token[]) {}

  expectEnd(): void {
    const token = this.peek();
    if (token.kind !== 'eof') throw this.unexpected(token);
  }

  expression(): Node {
    if (++this.depth > MAX_DEPTH) throw new ConditionSyntaxError('condition is nested too deeply', this.peek().at);
    try {
      const test = this.or();
      if (!this.accept('?')) return test;
      const then = this.expression();
      this.expect(':');
      const otherwise = this.expression();
      return { type: 'conditional', test, then, otherwise };
    } finally {
      this.depth--;
    }
  }

  private or(): Node {
    let left = this.and();
    while (this.accept('||') || this.acceptName('or')) left = { type: 'logical', op: '||', left, right: this.and() };
    return left;
  }

  private and(): Node {
    let left = this.equality();
    while (this.accept('&&') || this.acceptName('and')) left = { type: 'logical', op: '&&', left, right: this.equality() };
    return left;
  }

  private equality(): Node {
    let left = this.relational();
    for (;;) {
      const op = this.accept('==') ?? this.accept('!=');
      if (!op) return left;
      left = { type: 'binary', op: op as BinaryOp, left, right: this.relational() };
    }
  }

  private relational(): Node {
    let left = this.additive();
    for (;;) {
      let op: BinaryOp | undefined = (this.accept('<=') ?? this.accept('>=') ?? this.accept('<') ?? this.accept('>')) as
        | BinaryOp
        | undefined;
      if (!op && this.acceptName('in')) op = 'in';
      if (!op && this.peek().text === 'not' && this.peek(1).text === 'in') {
        this.pos += 2;
        op = 'not in';
      }
      if (!op) return left;
      left = { type: 'binary', op, left, right: this.additive() };
    }
  }

  private additive(): Node {
    let left = this.multiplicative();
    for (;;) {
      const op = this.accept('+') ?? this.accept('-');
      if (!op) return left;
      left = { type: 'binary', op: op as BinaryOp, left, right: this.multiplicative() };
    }
  }

  private multiplicative(): Node {
    let left = this.unary();
    for (;;) {
      const op = this.accept('*') ?? this.accept('/') ?? this.accept('%');
      if (!op) return left;
      left = { type: 'binary', op: op as BinaryOp, left, right: this.unary() };
    }
  }

  private unary(): Node {
    if (this.accept('!') || this.acceptName('not')) return { type: 'unary', op: '!', operand: this.unary() };
    const sign = this.accept('-') ?? this.accept('+');
    if (sign) return { type: 'unary', op: sign as '-' | '+', operand: this.unary() };
    return this.power();
  }

  private power(): Node {
    const base = this.postfix();
    if (this.accept('**') || this.accept('^')) return { type: 'binary', op: '**', left: base, right: this.unary() };
    return base;
  }

  private postfix(): Node {
    let node = this.primary();
    for (;;) {
      if (this.accept('[')) {
        const index = this.expression();
        this.expect(']');
        node = { type: 'index', target: node, index };
      } else if (this.accept('.')) {
        const name = this.next();
        if (name.kind !== 'name') throw this.unexpected(name, 'a field name after "."');
        node = { type: 'index', target: node, index: { type: 'literal', value: name.text } };
      } else {
        return node;
      }
    }
  }

  private primary(): Node {
    const token = this.next();
    switch (token.kind) {
      case 'number':
        return { type: 'literal', value: token.value! };
      case 'string':
        return { type: 'literal', value: token.text };
      case 'name':
        return this.name(token);
      case 'punct':
        if (token.text === '(') {
          const inner = this.expression();
          this.expect(')');
          return inner;
        }
        if (token.text === '[') {
          const items: Node[] = [];
          if (!this.accept(']')) {
            do items.push(this.expression());
            while (this.accept(','));
            this.expect(']');
          }
          return { type: 'list', items };
        }
        if (token.text === '#') {
          if (this.closureDepth === 0)
            throw new ConditionSyntaxError("'#' is only allowed inside a predicate such as all(result, {# < 1})", token.at);
          return { type: 'element' };
        }
        throw this.unexpected(token);
      default:
        throw this.unexpected(token);
    }
  }

  private name(token: Token): Node {
    switch (token.text) {
      case 'true':
        return { type: 'literal', value: true };
      case 'false':
        return { type: 'literal', value: false };
      case 'nil':
        return { type: 'literal', value: null };
      case 'result':
        return { type: 'result' };
    }
    if (!Object.hasOwn(FUNCTIONS, token.text)) {
      throw new ConditionSyntaxError(
        `unknown name '${token.text}' (known: result, true, false, nil and the functions ${Object.keys(FUNCTIONS).join(', ')})`,
        token.at,
      );
    }
    const name = token.text as FunctionName;
    const [min, max, predicateAt] = FUNCTIONS[name];
    this.expect('(', `'(' after ${name}`);
    const args: Node[] = [];
    if (!this.accept(')')) {
      do args.push(args.length === predicateAt ? this.predicate() : this.expression());
      while (this.accept(','));
      this.expect(')');
    }
    if (args.length < min || args.length > max) {
      const want = min === max ? `${min}` : `${min} to ${max}`;
      throw new ConditionSyntaxError(`${name}() takes ${want} argument${max === 1 ? '' : 's'}, given ${args.length}`, token.at);
    }
    return { type: 'call', name, args };
  }

  /** `{ expr }` or a bare expression; either may use `#` for the current element. */
  private predicate(): Node {
    this.closureDepth++;
    try {
      if (this.accept('{')) {
        const body = this.expression();
        this.expect('}');
        return { type: 'closure', body };
      }
      return { type: 'closure', body: this.expression() };
    } finally {
      this.closureDepth--;
    }
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return token;
  }

  private accept(punct: string): string | undefined {
    const token = this.peek();
    if (token.kind === 'punct' && token.text === punct) {
      this.pos++;
      return punct;
    }
    return undefined;
  }

  private acceptName(name: string): boolean {
    const token = this.peek();
    if (token.kind === 'name' && token.text === name && !(name === 'not' && this.peek(1).text === 'in')) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expect(punct: string, what = `'${punct}'`): void {
    if (!this.accept(punct)) throw this.unexpected(this.peek(), what);
  }

  private unexpected(token: Token, expected?: string): ConditionSyntaxError {
    const found = token.kind === 'eof' ? 'end of condition' : `'${token.kind === 'string' ? JSON.stringify(token.text) : token.text}'`;
    return new ConditionSyntaxError(`unexpected ${found}${expected ? `, expected ${expected}` : ''}`, token.at);
  }
}
