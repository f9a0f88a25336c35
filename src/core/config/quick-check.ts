/**
 * Input checks that run without zod, so that a run with bad inputs fails before zod (100 kB, the
 * largest part of the start-up path) and the action specs are even loaded.
 *
 * Nothing here is written by hand per input: `npm run build` derives each action's quick checks
 * from its spec (src/core/specs/derive-quick-checks.ts, into src/core/specs/quick-checks.ts) by
 * reading the zod schemas: a plain string schema's length and regex checks with their messages,
 * an enum's values, the shared duration and boolean types (whose rules live in value-checks.ts,
 * used by their zod schemas too), the issues zod reports for a missing required input, and that
 * each default parses. Everything else (other transforms, unions, refinements) is not derived:
 * such an input given with a value other than its default makes quickCheckInputs defer to zod.
 *
 * quickCheckInputs throws only when its verdict is certain and the same as zod's: the same
 * issues, formatted by the same formatIssues, so the message is the one parseInputs would throw.
 * When it finds nothing wrong, or cannot judge an input, the caller parses with zod as before.
 */
import { InputError } from './input-error.js';
import { formatIssues, type FormattableIssue } from './parse.js';
import { type ValueCheckName, valueChecks } from './value-checks.js';

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
  /** A plain string, an enum or a shared value type; absent when only zod can judge the input. */
  check?: { string: QuickStringCheck[] } | { enum: string[] } | { value: ValueCheckName };
}

export interface QuickSpec {
  title: string;
  post?: true;
  /** In the spec's order, which is the order zod reports issues in. */
  inputs: Record<string, QuickInput>;
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
    if ('value' in def.check) {
      const problem = valueChecks[def.check.value](value);
      if (problem) issues.push({ code: 'custom', input: value, path: [input], message: problem });
      continue;
    }
    if ('enum' in def.check) {
      if (!def.check.enum.includes(value))
        issues.push({ code: 'invalid_value', values: def.check.enum, input: value, path: [input], message: '' });
      continue;
    }
    for (const check of def.check.string) {
      const ok =
        'minLength' in check
          ? value.length >= check.minLength
          : 'maxLength' in check
            ? value.length <= check.maxLength
            : new RegExp(check.pattern, check.flags).test(value);
      if (!ok) issues.push({ code: 'custom', input: value, path: [input], message: check.message });
    }
  }
  if (issues.length === 0) return;
  const secretKeys = Object.keys(spec.inputs).filter((input) => spec.inputs[input]!.secret);
  throw new InputError(formatIssues(issues, { label: `inputs of ${name}`, secretKeys }));
}
