/**
 * Derives each action's quick input checks (src/core/config/quick-check.ts) from its spec, for
 * `npm run build` to write into src/core/specs/quick-checks.ts: what of each input's zod schema
 * can be judged without zod, read from the schema itself, so that no rule is written twice.
 */
import type * as z from 'zod';
import type { FormattableIssue } from '../config/parse.js';
import { booleanInput, duration, httpUrl } from '../config/primitives.js';
import type { QuickInput, QuickSpec, QuickStringCheck } from '../config/quick-check.js';
import type { ActionSpec } from './spec.js';

/** Each action's quick checks, derived from its spec (run by `npm run build`, which writes them out). */
export function deriveQuickChecks(specs: readonly ActionSpec[]): Record<string, QuickSpec> {
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
  // The shared value types, by identity: a refinement of one (duration.refine(...)) is another schema.
  if (schema === duration) return { value: 'duration' };
  if (schema === booleanInput) return { value: 'boolean' };
  if (schema === httpUrl) return { value: 'httpUrl' };
  const def = schema._zod.def as { type: string; checks?: { _zod: { def: Record<string, unknown> } }[]; entries?: Record<string, unknown> };
  if (def.type === 'enum') {
    const values = Object.values(def.entries ?? {});
    return values.every((v) => typeof v === 'string') ? { enum: values as string[] } : undefined;
  }
  if (def.type !== 'string') return undefined;
  const checks: QuickStringCheck[] = [];
  for (const check of def.checks ?? []) {
    const c = check._zod.def as {
      check: string;
      format?: string;
      pattern?: RegExp;
      minimum?: number;
      maximum?: number;
      error?: () => unknown;
      abort?: boolean;
    };
    // Only checks with a message of their own: zod's default messages come from its locale.
    const message = typeof c.error === 'function' ? c.error() : undefined;
    if (typeof message !== 'string' || c.abort) return undefined;
    if (c.check === 'min_length' && typeof c.minimum === 'number') checks.push({ minLength: c.minimum, message });
    else if (c.check === 'max_length' && typeof c.maximum === 'number') checks.push({ maxLength: c.maximum, message });
    else if (c.check === 'string_format' && c.format === 'regex' && c.pattern)
      checks.push({ pattern: c.pattern.source, flags: c.pattern.flags, message });
    else return undefined;
  }
  return { string: checks };
}
