/**
 * Parsing a value with its zod schema into one InputError that lists every problem, each naming
 * its input or config path, what was expected and what was given (never a secret's value).
 */
import type * as z from 'zod';
import { InputError } from './input-error.js';

/** Where the value came from, used to name it in messages: `input` for action inputs, a file path for config files. */
export interface ParseSource {
  /** e.g. "input" or "config deploy/canary.yaml" */
  label: string;
  /** Paths (first segment) whose values must never be echoed, e.g. ["kubeconfig"]. */
  secretKeys?: readonly string[];
}

const MAX_ECHO = 80;

/** Parse `value` with `schema`, or throw one InputError listing every problem, each naming its path. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, source: ParseSource): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new InputError(formatIssues(result.error.issues, source));
}

/** What formatIssues reads of an issue: a zod issue, or one of the quick checks (quick-check.ts). */
export interface FormattableIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  input?: unknown;
  expected?: string;
  values?: readonly unknown[];
  keys?: readonly string[];
}

export function formatIssues(issues: readonly FormattableIssue[], source: ParseSource): string {
  const lines = issues.map((issue) => formatIssue(issue, source));
  const head = lines.length === 1 ? 'Invalid' : `${lines.length} problems in`;
  return `${head} ${source.label}:\n${lines.map((l) => `  - ${l}`).join('\n')}`;
}

function formatIssue(issue: FormattableIssue, source: ParseSource): string {
  const path = issue.path.map(String);
  const where = path.length === 0 ? '(top level)' : `'${path.join('.')}'`;
  const secret = path.length > 0 && (source.secretKeys ?? []).includes(path[0]!);
  const given = issue.code === 'unrecognized_keys' ? undefined : describeGiven(issue.input, secret);
  const expected = describeExpected(issue);
  return [`${where}: ${expected}`, given].filter(Boolean).join('; ');
}

function describeExpected(issue: FormattableIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required but was not given' : `expected ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown key${(issue.keys ?? []).length > 1 ? 's' : ''} ${(issue.keys ?? []).map((k) => `'${k}'`).join(', ')} (check the spelling)`;
    case 'invalid_value':
      return `expected one of ${(issue.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

function describeGiven(input: unknown, secret: boolean): string | undefined {
  if (input === undefined) return undefined;
  if (secret) return 'given: (secret, not shown)';
  let text: string;
  try {
    text = typeof input === 'string' ? JSON.stringify(input) : (JSON.stringify(input) ?? String(input));
  } catch {
    text = String(input);
  }
  if (text.length > MAX_ECHO) text = `${text.slice(0, MAX_ECHO)}… (${text.length} characters)`;
  return `given: ${text}`;
}
