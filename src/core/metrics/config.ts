/**
 * Metric definitions in Argo Rollouts' vocabulary. Accepted documents:
 *
 *   kind: AnalysisTemplate            # or ClusterAnalysisTemplate; apiVersion/metadata ignored
 *   spec: { args: [...], metrics: [...], dryRun: [{ metricName: ... }] }
 *
 *   args: [...]                       # or a plain document
 *   metrics: [...]
 *
 *   - name: ...                       # or a bare list of metrics
 *
 * Everything is checked here, before anything runs: unknown keys, durations, limits against
 * count, `interval` when count > 1, exactly one provider, and that every condition parses.
 */
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { InputError } from '../config/input-error.js';
import { parseWith } from '../config/parse.js';
import { duration } from '../config/primitives.js';
import { placeholders } from './args.js';
import { parseCondition } from './condition/parse.js';
import { ConditionSyntaxError } from './condition/tokens.js';
import { parseJsonPath } from './providers/jsonpath.js';
import type { AnalysisSpec, HeaderSpec, HttpAuthSpec, MetricSpec, ProviderSpec } from './spec.js';

const NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const nameSchema = z.string().regex(NAME, 'expected a name of letters, digits, "-", "_" or "." (at most 63)');

const count = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 100_000) {
    ctx.addIssue({ code: 'custom', message: 'expected a whole number from 0 to 100000', input: value });
    return z.NEVER;
  }
  return n;
});

/** failureLimit: a count, or -1 to turn it off (Argo v1.8, with consecutiveSuccessLimit). */
const failureLimit = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = typeof value === 'number' ? value : /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < -1 || n > 100_000) {
    ctx.addIssue({ code: 'custom', message: 'expected a whole number from 0 to 100000, or -1 to turn the limit off', input: value });
    return z.NEVER;
  }
  return n;
});

const envRef = z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') });

const header = z
  .strictObject({
    key: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name'),
    value: z.string().optional(),
    valueFrom: envRef.optional(),
    secret: z.boolean().optional(),
  })
  .superRefine((h, ctx) => {
    if ((h.value === undefined) === (h.valueFrom === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of value or valueFrom.env', path: ['value'] });
    }
  })
  .transform((h): HeaderSpec => ({ key: h.key, value: h.value, fromEnv: h.valueFrom?.env, secret: h.secret ?? h.valueFrom !== undefined }));

const authentication = z
  .strictObject({
    bearer: z.strictObject({ tokenFrom: envRef }).optional(),
    basic: z.strictObject({ username: z.string().min(1), passwordFrom: envRef }).optional(),
  })
  .superRefine((a, ctx) => {
    if (!!a.bearer === !!a.basic) ctx.addIssue({ code: 'custom', message: 'give exactly one of bearer or basic' });
  })
  .transform(
    (a): HttpAuthSpec => ({
      bearer: a.bearer && { tokenFromEnv: a.bearer.tokenFrom.env },
      basic: a.basic && { username: a.basic.username, passwordFromEnv: a.basic.passwordFrom.env },
    }),
  );

const address = z.string().superRefine((value, ctx) => {
  if (placeholders(value).length === 0 && !/^https?:\/\/[^\s/?#]+/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected an http(s) URL such as http://prometheus.monitoring:9090' });
  }
});

const connection = {
  address: address.optional(),
  /** Argo's `timeout` is in seconds; a duration such as 30s is accepted too. */
  timeout: duration.optional(),
  headers: z.array(header).default([]),
  authentication: authentication.optional(),
};

const prometheus = z.strictObject({
  ...connection,
  query: z.string().trim().min(1, 'expected a PromQL query'),
  range: z.strictObject({ window: duration, step: duration.default(60_000) }).optional(),
});

const web = z.strictObject({
  url: z.string().min(1),
  method: z.enum(['GET', 'POST']).default('GET'),
  headers: z.array(header).default([]),
  body: z.string().optional(),
  jsonPath: z
    .string()
    .superRefine((path, ctx) => {
      try {
        parseJsonPath(path);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .optional(),
  timeoutSeconds: z.number().positive().max(600).default(10),
});

const judgeMetric = z.strictObject({
  name: nameSchema,
  baseline: z.string().trim().min(1, 'expected the PromQL query for the baseline'),
  canary: z.string().trim().min(1, 'expected the PromQL query for the canary'),
  direction: z.enum(['increase', 'decrease', 'either']).default('either'),
  allowedIncrease: z.number().min(1, 'expected a ratio of at least 1 (1.1 = up to 10% higher is fine)').default(1),
  allowedDecrease: z.number().gt(0).max(1, 'expected a ratio of at most 1 (0.9 = up to 10% lower is fine)').default(1),
  weight: z.number().positive().default(1),
  critical: z.boolean().default(false),
});

const judge = z
  .strictObject({
    ...connection,
    window: duration,
    step: duration.default(30_000),
    confidence: z.number().gt(0.5).lt(1).default(0.95),
    tolerance: z.number().min(0).max(1).default(0.25),
    minSamples: z
      .number()
      .int()
      .min(3, 'expected at least 3 samples per side (a rank test says nothing with fewer)')
      .max(100_000)
      .default(50),
    threshold: z
      .strictObject({ pass: z.number().min(0).max(100), marginal: z.number().min(0).max(100) })
      .refine((t) => t.marginal <= t.pass, { message: 'marginal must not be above pass', path: ['marginal'] }),
    metrics: z.array(judgeMetric).min(1, 'expected at least one metric to compare'),
  })
  .superRefine((j, ctx) => {
    if (j.window / j.step > 11_000)
      ctx.addIssue({ code: 'custom', message: 'window / step gives more than 11000 points; use a larger step', path: ['step'] });
  });

const provider = z
  .strictObject({ prometheus: prometheus.optional(), web: web.optional(), judge: judge.optional() })
  .superRefine((p, ctx) => {
    const given = [p.prometheus, p.web, p.judge].filter(Boolean).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', message: `expected exactly one provider (prometheus, web or judge), found ${given}` });
  })
  .transform((p): ProviderSpec => {
    const DEFAULT_TIMEOUT = 30_000;
    if (p.prometheus) {
      const { timeout, range, ...rest } = p.prometheus;
      return {
        kind: 'prometheus',
        ...rest,
        timeoutMs: timeout ?? DEFAULT_TIMEOUT,
        range: range && { windowMs: range.window, stepMs: range.step },
      };
    }
    if (p.web) {
      const { timeoutSeconds, ...rest } = p.web;
      return { kind: 'web', ...rest, timeoutMs: timeoutSeconds * 1000 };
    }
    const { timeout, window, step, ...rest } = p.judge!;
    return { kind: 'judge', ...rest, timeoutMs: timeout ?? DEFAULT_TIMEOUT, windowMs: window, stepMs: step };
  });

const metric = z
  .strictObject({
    name: nameSchema,
    interval: duration.optional(),
    initialDelay: duration.optional(),
    count: count.optional(),
    successCondition: z.string().trim().min(1).optional(),
    failureCondition: z.string().trim().min(1).optional(),
    failureLimit: failureLimit.default(0),
    inconclusiveLimit: count.default(0),
    consecutiveSuccessLimit: count.default(0),
    consecutiveErrorLimit: count.default(4),
    dryRun: z.boolean().default(false),
    provider,
  })
  .superRefine((m, ctx) => {
    const n = m.count ?? 0;
    if (n > 1 && m.interval === undefined)
      ctx.addIssue({ code: 'custom', message: 'interval must be given when count > 1', path: ['interval'] });
    if (m.interval === 0) ctx.addIssue({ code: 'custom', message: 'expected an interval above 0', path: ['interval'] });
    if (n > 0 && n < m.failureLimit)
      ctx.addIssue({ code: 'custom', message: `failureLimit (${m.failureLimit}) must not exceed count (${n})`, path: ['failureLimit'] });
    // Argo v1.8 ValidateMetrics: one of the two limits must decide the metric, and a
    // consecutiveSuccessLimit above count could never be reached.
    if (m.failureLimit < 0 && m.consecutiveSuccessLimit === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'failureLimit -1 turns failures off, so give consecutiveSuccessLimit (above 0) to decide the metric',
        path: ['failureLimit'],
      });
    }
    if (n > 0 && n < m.consecutiveSuccessLimit)
      ctx.addIssue({
        code: 'custom',
        message: `consecutiveSuccessLimit (${m.consecutiveSuccessLimit}) must not exceed count (${n})`,
        path: ['consecutiveSuccessLimit'],
      });
    if (n > 0 && n < m.inconclusiveLimit)
      ctx.addIssue({
        code: 'custom',
        message: `inconclusiveLimit (${m.inconclusiveLimit}) must not exceed count (${n})`,
        path: ['inconclusiveLimit'],
      });
    for (const key of ['successCondition', 'failureCondition'] as const) {
      const source = m[key];
      if (source === undefined) continue;
      if (m.provider.kind === 'judge') {
        ctx.addIssue({
          code: 'custom',
          message: 'a judge metric is decided by provider.judge.threshold; remove this condition',
          path: [key],
        });
        continue;
      }
      const problem = conditionProblem(source);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [key], input: source });
    }
  })
  .transform(
    (m): MetricSpec => ({
      name: m.name,
      intervalMs: m.interval,
      initialDelayMs: m.initialDelay,
      count: m.count,
      successCondition: m.successCondition,
      failureCondition: m.failureCondition,
      failureLimit: m.failureLimit,
      inconclusiveLimit: m.inconclusiveLimit,
      consecutiveSuccessLimit: m.consecutiveSuccessLimit,
      consecutiveErrorLimit: m.consecutiveErrorLimit,
      dryRun: m.dryRun,
      provider: m.provider,
    }),
  );

const argSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected an argument name of letters, digits, "_", "." or "-"'),
  value: z.union([z.string(), z.number(), z.boolean()]).transform(String).optional(),
});

const body = z
  .strictObject({
    args: z.array(argSchema).optional(),
    metrics: z.array(metric).min(1, 'expected at least one metric'),
    dryRun: z.array(z.strictObject({ metricName: z.string().min(1) })).optional(),
  })
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.metrics.forEach((m, i) => {
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', message: `duplicate metric name '${m.name}'`, path: ['metrics', i, 'name'] });
      seen.add(m.name);
    });
    if (b.args) {
      const declared = new Set(b.args.map((a) => a.name));
      b.metrics.forEach((m, i) => {
        for (const name of placeholders(JSON.stringify(m))) {
          if (!declared.has(name)) {
            ctx.addIssue({ code: 'custom', message: `uses {{args.${name}}}, which is not declared in args`, path: ['metrics', i] });
          }
        }
      });
    }
  });

const templateDoc = z.strictObject({
  apiVersion: z.string().optional(),
  kind: z.enum(['AnalysisTemplate', 'ClusterAnalysisTemplate']),
  metadata: z.unknown().optional(),
  spec: body,
});

function conditionProblem(source: string): string | undefined {
  try {
    // Placeholders are filled before the run; a number stands in for them to check the syntax now.
    parseCondition(source.replace(/\{\{\s*args\.[A-Za-z0-9_.-]+\s*\}\}/g, '0'));
    return undefined;
  } catch (error) {
    if (!(error instanceof ConditionSyntaxError)) throw error;
    return `does not parse: ${error.message} (at character ${error.at + 1})`;
  }
}

/**
 * Parse metric definitions (YAML text or an already-parsed object) into an AnalysisSpec,
 * or throw one InputError naming every problem by its path, e.g.
 * `'spec.metrics.0.successCondition': does not parse: unexpected end of condition`.
 * `source` names where the definitions came from, e.g. "metrics input" or "deploy/analysis.yaml".
 */
export function parseMetrics(yamlOrObject: unknown, source: string): AnalysisSpec {
  let doc = yamlOrObject;
  if (typeof doc === 'string') {
    try {
      doc = parseYaml(doc);
    } catch (error) {
      throw new InputError(`${source} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (Array.isArray(doc)) doc = { metrics: doc };
  if (!doc || typeof doc !== 'object')
    throw new InputError(`${source}: expected metric definitions (an AnalysisTemplate, or a document with a metrics: list)`);
  const isTemplate = 'kind' in doc || 'spec' in doc;
  const parsed = isTemplate ? parseWith(templateDoc, doc, { label: source }).spec : parseWith(body, doc, { label: source });
  const dryRun = dryRunMetrics(
    parsed.dryRun ?? [],
    parsed.metrics.map((m) => m.name),
    source,
    isTemplate ? 'spec.dryRun' : 'dryRun',
  );
  return {
    args: parsed.args?.map((a) => ({ name: a.name, value: a.value })),
    metrics: parsed.metrics.map((m) => ({ ...m, dryRun: m.dryRun || dryRun.has(m.name) })),
  };
}

/**
 * The metrics that `spec.dryRun` puts in dry-run mode, as Argo's GetDryRunMetrics
 * (utils/analysis/helpers.go) decides: each rule's `metricName` is a regular expression matched
 * unanchored (Go's regexp.MatchString), so `.*` is every metric and `error` matches `error-rate`;
 * a rule that matches no metric, or that is not a valid expression (Go ignores the error, so it
 * matches nothing), is refused (Argo: the AnalysisRun is Error, "dryRun[0]: Rule didn't match any
 * metric name(s)"). We refuse it before anything runs. Our one extension: a rule `*` (not a valid
 * expression) means every metric.
 */
function dryRunMetrics(rules: ReadonlyArray<{ metricName: string }>, names: readonly string[], source: string, path: string): Set<string> {
  const chosen = new Set<string>();
  const problems: string[] = [];
  rules.forEach((rule, i) => {
    let matches: (name: string) => boolean;
    if (rule.metricName === '*') matches = () => true;
    else {
      try {
        const pattern = new RegExp(rule.metricName, 'u');
        matches = (name) => pattern.test(name);
      } catch (error) {
        problems.push(
          `'${path}.${i}.metricName': ${JSON.stringify(rule.metricName)} is not a valid regular expression (${(error as Error).message})`,
        );
        return;
      }
    }
    const matched = names.filter(matches);
    if (matched.length === 0)
      problems.push(`'${path}.${i}.metricName': ${JSON.stringify(rule.metricName)} matches no metric (metrics: ${names.join(', ')})`);
    for (const name of matched) chosen.add(name);
  });
  if (problems.length > 0) throw new InputError(`${source}: ${problems.join('; ')}`);
  return chosen;
}
