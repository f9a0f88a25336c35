/**
 * Value types that several actions share, each parsed once here.
 * Action inputs arrive as strings; these schemas accept the string forms.
 * The rules that need no zod (durations, booleans) live in value-checks.ts, which the quick
 * input checks share.
 */
import * as z from 'zod';
import { booleanValue, durationValue, httpUrlProblem } from './value-checks.js';

export { parseDurationMs } from './value-checks.js';

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  return `${+(ms / 3_600_000).toFixed(1)}h`;
}

/** A duration as Argo writes it (`30s`, `1h30m`, `1.5h`, `500ms`; a bare number means seconds); output in milliseconds. */
export const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const parsed = durationValue(value);
  if ('problem' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.problem, input: value });
    return z.NEVER;
  }
  return parsed.ms;
});

/** A traffic weight: an integer percentage 0..100, given as `25`, `"25"` or `"25%"`. */
export const percentage = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const text = String(value).trim().replace(/%$/, '');
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 100) {
    ctx.addIssue({ code: 'custom', message: 'expected a whole percentage from 0 to 100', input: value });
    return z.NEVER;
  }
  return n;
});

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes namespace (DNS-1123 label, at most 63 characters). */
export const namespaceName = z
  .string()
  .max(63, 'expected at most 63 characters')
  .regex(DNS1123_LABEL, 'expected a Kubernetes namespace: lower-case letters, digits and "-", starting and ending with a letter or digit');

/** A Kubernetes object name (DNS-1123 subdomain, at most 253 characters). */
export const objectName = z
  .string()
  .max(253, 'expected at most 253 characters')
  .regex(
    DNS1123_SUBDOMAIN,
    'expected a Kubernetes object name: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit',
  );

export interface NamespacedName {
  namespace: string;
  name: string;
}

/** `namespace/name`, or a bare `name` in the default namespace given by the caller. */
export function namespacedName(defaultNamespace?: string) {
  return z.string().transform((value, ctx): NamespacedName => {
    const parts = value.trim().split('/');
    const [namespace, name] = parts.length === 2 ? parts : [defaultNamespace, parts[0]];
    const ok =
      parts.length <= 2 && namespace !== undefined && namespaceName.safeParse(namespace).success && objectName.safeParse(name).success;
    if (!ok) {
      ctx.addIssue({ code: 'custom', message: 'expected namespace/name, e.g. shop/checkout (lower-case DNS names)', input: value });
      return z.NEVER;
    }
    return { namespace: namespace!, name: name! };
  });
}

/** A container image reference: registry/path:tag or @sha256:digest, no whitespace or shell metacharacters. */
export const imageRef = z
  .string()
  .max(512, 'expected at most 512 characters')
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    'expected a container image such as registry.example.com/team/app:1.2.3 or app@sha256:<digest>',
  );

/** A boolean action input: "true"/"false" (also yes/no, 1/0, as YAML users write them). */
export const booleanInput = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  const parsed = booleanValue(value);
  if ('problem' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.problem, input: value });
    return z.NEVER;
  }
  return parsed.value;
});

/** A whole number given as a string input, within bounds. */
export function integerInput(min: number, max: number) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    const n = typeof value === 'number' ? value : /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}`, input: value });
      return z.NEVER;
    }
    return n;
  });
}

/**
 * A command as an argument list, never a shell string: a JSON array (`["npx", "knex", "migrate:latest"]`)
 * or one line split on spaces, with "double" or 'single' quotes grouping words.
 * Shell metacharacters are passed through as plain characters: no shell ever sees them.
 */
export const commandInput = z.string().transform((value, ctx): string[] => {
  const text = value.trim();
  const argv = text.startsWith('[') ? parseJsonArgv(text) : splitWords(text);
  if (!argv || argv.length === 0 || argv.some((a) => a.length === 0 && argv.length === 1)) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a command such as `npx knex migrate:latest` or a JSON array of arguments',
      input: value,
    });
    return z.NEVER;
  }
  return argv;
});

function parseJsonArgv(text: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function splitWords(text: string): string[] | undefined {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) return undefined;
  if (inWord) words.push(current);
  return words;
}

/** A comma- or newline-separated list, each item parsed by `item`. */
export function listInput<T extends z.ZodType<unknown, string>>(item: T) {
  return z
    .string()
    .transform((value): string[] =>
      value
        .split(/[,\n]/)
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).min(1, 'expected at least one item'));
}

/** An http(s) URL of at most 2048 characters (the rule is httpUrlProblem, which the quick checks use too). */
export const httpUrl = z.string().superRefine((value, ctx) => {
  const problem = httpUrlProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
});

/**
 * The objects named after the service input (the journal, the canary record, the lock),
 * each `<prefix><service>`. Kept in step with journalConfigMapName, canaryRecordName and lockName
 * (a test checks it). No label value is built from the service today; a label value is at most
 * 63 characters (MAX_LABEL_VALUE), so one that were would need its own check here.
 */
export const SERVICE_NAMED_OBJECTS = [
  { kind: 'ConfigMap', prefix: 'pd-state-' },
  { kind: 'ConfigMap', prefix: 'pd-canary-' },
  { kind: 'Lease', prefix: 'pd-lock-' },
] as const;

/** Longest name of an object (a DNS-1123 subdomain) and longest label value, as the API server checks them. */
export const MAX_OBJECT_NAME = 253;
export const MAX_LABEL_VALUE = 63;

const longestPrefix = SERVICE_NAMED_OBJECTS.reduce((a, b) => (b.prefix.length > a.prefix.length ? b : a));

/** Longest service input whose derived names all fit: 253 minus the longest prefix (`pd-canary-`), 243. */
export const MAX_SERVICE_NAME = MAX_OBJECT_NAME - longestPrefix.prefix.length;

/**
 * The service input: an object name short enough that every name derived from it
 * (SERVICE_NAMED_OBJECTS) is one too, checked before anything reaches the cluster.
 */
export const serviceName = z
  .string()
  .max(
    MAX_SERVICE_NAME,
    `expected at most ${MAX_SERVICE_NAME} characters: the ${longestPrefix.kind} ${longestPrefix.prefix}<service> is named after it, and a Kubernetes object name is at most ${MAX_OBJECT_NAME} characters`,
  )
  .regex(
    DNS1123_SUBDOMAIN,
    'expected a Kubernetes object name: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit',
  );
