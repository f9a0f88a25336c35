/**
 * Input checks that run without zod, so that a run with bad inputs fails before zod (100 kB, the
 * largest part of the start-up path) and the action specs are even loaded.
 *
 * Nothing here is written by hand per input: `npm run build` derives each action's quick checks
 * from its spec (deriveQuickChecks, into src/core/specs/quick-checks.ts) by reading the zod
 * schemas: a plain string schema's length and regex checks with their messages, an enum's values,
 * the issues zod reports for a missing required input, and that each default parses. Everything
 * else (transforms, unions, refinements) is not derived: such an input given with a value other
 * than its default makes quickCheckInputs defer to zod.
 *
 * quickCheckInputs throws only when its verdict is certain and the same as zod's: the same
 * issues, formatted by the same formatIssues, so the message is the one parseInputs would throw.
 * When it finds nothing wrong, or cannot judge an input, the caller parses with zod as before.
 */
import type * as z from 'zod';
import { InputError } from './input-error.js';
import { formatIssues, type FormattableIssue } from './parse.js';

/** One check of a plain string input, in the order zod runs them (each with its own message). */
export type QuickStringCheck =
  | { minLength: number; message: string }
  | { maxLength: number; message: string }
  | { pattern: string; flags: string; message: string };

export interface QuickInput {
  required?: true;
  default?: string;
  secret?: true;
  /** The issues zod reports when this required input is not given. */
  missing?: FormattableIssue[];
  /** A plain string or an enum; absent when only zod can judge the input. */
  check?: { string: QuickStringCheck[] } | { enum: string[] };
}

export interface QuickSpec {
  title: string;
  post?: true;
  /** In the spec's order, which is the order zod reports issues in. */
  inputs: Record<string, QuickInput>;
}

/** The subset of an action spec this derivation reads (the spec's own type lives above config). */
interface SpecLike {
  name: string;
  title: string;
  post?: boolean;
  inputs: Record<string, { required?: boolean; default?: string; secret?: boolean; schema: z.ZodType }>;
}

/** Each action's quick checks, derived from its spec (run by `npm run build`, which writes them out). */
export function deriveQuickChecks(specs: readonly SpecLike[]): Record<string, QuickSpec> {
  const out: Record<string, QuickSpec> = {};
  for (const spec of specs) {
    const inputs: Record<string, QuickInput> = {};
    for (const [name, def] of Object.entries(spec.inputs)) {
      const input: QuickInput = {};
      if (def.required) input.required = true;
      if (def.default !== undefined) {
        const parsed = def.schema.safeParse(def.default);
        if (!parsed.success) throw new Error(`${spec.name}: the default of input ${name} (${JSON.stringify(def.default)}) does not parse`);
        input.default = def.default;
      }
      if (def.secret) input.secret = true;
      if (def.required && def.default === undefined) {
        const parsed = def.schema.safeParse(undefined, { reportInput: true });
        if (parsed.success) throw new Error(`${spec.name}: required input ${name} accepts no value`);
        input.missing = parsed.error.issues.map(plainIssue);
      }
      const check = deriveCheck(def.schema);
      if (check) input.check = check;
      inputs[name] = input;
    }
    out[spec.name] = { title: spec.title, ...(spec.post ? { post: true as const } : {}), inputs };
  }
  return out;
}

/** The part of a zod issue that formatIssue reads, as plain data. */
function plainIssue(issue: z.core.$ZodIssue): FormattableIssue {
  const plain: FormattableIssue = { code: issue.code, path: [], message: issue.message };
  if ('expected' in issue) plain.expected = issue.expected;
  if ('values' in issue) plain.values = issue.values as unknown[];
  return plain;
}

/** A schema the quick check can judge exactly as zod does, or undefined. */
function deriveCheck(schema: z.ZodType): QuickInput['check'] {
  const def = schema._zod.def as { type: string; checks?: { _zod: { def: Record<string, unknown> } }[]; entries?: Record<string, unknown> };
  if (def.type === 'enum') {
    const values = Object.values(def.entries ?? {});
    return values.every((v) => typeof v === 'string') ? { enum: values as string[] } : undefined;
  }
  if (def.type !== 'string') return undefined;
  const checks: QuickStringCheck[] = [];
  for (const check of def.checks ?? []) {
    const c = check._zod.def as { check: string; format?: string; pattern?: RegExp; minimum?: number; maximum?: number; error?: () => unknown; abort?: boolean };
    // Only checks with a message of their own: zod's default messages come from its locale.
    const message = typeof c.error === 'function' ? c.error() : undefined;
    if (typeof message !== 'string' || c.abort) return undefined;
    if (c.check === 'min_length' && typeof c.minimum === 'number') checks.push({ minLength: c.minimum, message });
    else if (c.check === 'max_length' && typeof c.maximum === 'number') checks.push({ maxLength: c.maximum, message });
    else if (c.check === 'string_format' && c.format === 'regex' && c.pattern) checks.push({ pattern: c.pattern.source, flags: c.pattern.flags, message });
    else return undefined;
  }
  return { string: checks };
}

/**
 * Throws the InputError parseInputs would throw for `raw` when every input is one the quick
 * checks can judge and one of them is bad; otherwise returns, and the caller parses with zod.
 */
export function quickCheckInputs(name: string, spec: QuickSpec, raw: Record<string, string | undefined>): void {
  const issues: FormattableIssue[] = [];
  for (const [input, def] of Object.entries(spec.inputs)) {
    // As parseInputs: an empty (or blank) input is not given, and then its default applies.
    const value = (raw[input]?.trim() === '' ? undefined : raw[input]) ?? def.default;
    if (value === undefined) {
      if (def.required) issues.push(...(def.missing ?? []).map((issue) => ({ ...issue, path: [input] })));
      continue;
    }
    if (value === def.default) continue; // parsed when the specs were built
    if (!def.check) return; // only zod can judge this one
    if ('enum' in def.check) {
      if (!def.check.enum.includes(value)) issues.push({ code: 'invalid_value', values: def.check.enum, input: value, path: [input], message: '' });
      continue;
    }
    for (const check of def.check.string) {
      const ok = 'minLength' in check ? value.length >= check.minLength : 'maxLength' in check ? value.length <= check.maxLength : new RegExp(check.pattern, check.flags).test(value);
      if (!ok) issues.push({ code: 'custom', input: value, path: [input], message: check.message });
    }
  }
  if (issues.length === 0) return;
  const secretKeys = Object.keys(spec.inputs).filter((input) => spec.inputs[input]!.secret);
  throw new InputError(formatIssues(issues, { label: `inputs of ${name}`, secretKeys }));
}
