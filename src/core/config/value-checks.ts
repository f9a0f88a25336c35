/**
 * The rules of the value types that action inputs share and that need no zod to check: each
 * written once here, used by the zod schemas in primitives.ts and by the quick checks
 * (quick-check.ts), which judge inputs before zod is loaded.
 */

/** One `<number><unit>` term of a Go duration (time.ParseDuration), e.g. `1.5h` or `30s`. */
const DURATION_TERM = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const MAX_DURATION_MS = 24 * 3_600_000;

/**
 * Parses a duration as Argo Rollouts does (Go's time.ParseDuration: a sequence of decimal numbers
 * with units ns, us, ms, s, m, h, such as `90s`, `1h30m`, `1.5h`, `500ms`), or a bare number of
 * seconds (our extension, for Argo's `timeout` given in seconds), into milliseconds (rounded).
 * Returns undefined when malformed. Go's optional leading sign is not accepted: no duration here
 * may be negative.
 */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (trimmed === '') return undefined;
  let total = 0;
  DURATION_TERM.lastIndex = 0;
  while (DURATION_TERM.lastIndex < trimmed.length) {
    const match = DURATION_TERM.exec(trimmed);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return Math.round(total);
}

/** A duration (a number is seconds) in milliseconds, or what is wrong with it. */
export function durationValue(value: string | number): { ms: number } | { problem: string } {
  const ms = typeof value === 'number' ? value * 1000 : parseDurationMs(value);
  if (ms === undefined || !Number.isFinite(ms) || ms < 0)
    return { problem: 'expected a duration such as 30s, 10m or 1h (Go style, as Argo: 1h30m, 1.5h, 500ms)' };
  if (ms > MAX_DURATION_MS) return { problem: 'expected a duration of at most 24h' };
  return { ms };
}

/** "true"/"false" (also yes/no, 1/0, on/off, as YAML users write them), or what is wrong with it. */
export function booleanValue(value: boolean | string): { value: boolean } | { problem: string } {
  if (typeof value === 'boolean') return { value };
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return { value: true };
  if (['false', 'no', '0', 'off'].includes(v)) return { value: false };
  return { problem: 'expected true or false' };
}

/**
 * What is wrong with `value` as an http(s) URL, or undefined. (zod's url() alone accepts
 * `prometheus:9090` as a URL with scheme "prometheus".)
 */
export function httpUrlProblem(value: string): string | undefined {
  if (value.length > 2048) return 'expected at most 2048 characters';
  try {
    const url = new URL(value);
    // A host name, an IPv4 address or a bracketed IPv6 address: nothing a shell or a template would read.
    const host = /^([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.?)+$|^\[[0-9a-f:.]+\]$/i.test(url.hostname);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && host) return undefined;
  } catch {
    // not a URL at all
  }
  return 'expected an http(s) URL such as https://example.com/path';
}

/** The value types the quick checks can judge, by the name the derived checks give them. */
export const valueChecks = {
  duration: (value: string) => {
    const parsed = durationValue(value);
    return 'problem' in parsed ? parsed.problem : undefined;
  },
  boolean: (value: string) => {
    const parsed = booleanValue(value);
    return 'problem' in parsed ? parsed.problem : undefined;
  },
  httpUrl: httpUrlProblem,
} satisfies Record<string, (value: string) => string | undefined>;

export type ValueCheckName = keyof typeof valueChecks;
