/**
 * A metric made concrete for one run: arguments filled in (escaped, see args.ts), the
 * Prometheus address and credentials chosen, secret values collected for redaction.
 */
import { InputError } from '../config/input-error.js';
import { interpolateCondition, interpolateHeader, interpolatePromQL, interpolateUrl, type Args } from './args.js';
import { compileConditions, type CompiledConditions } from './condition/verdict.js';
import { ConditionSyntaxError } from './condition/tokens.js';
import type { AnalysisSpec, HeaderSpec, JudgeSpec, MetricSpec, PrometheusConnectionSpec } from './spec.js';

export interface ResolvedMetric {
  spec: MetricSpec;
  provider: ResolvedProvider;
  conditions: CompiledConditions;
  /** What was asked, for the summary: the query (or URL, or the judge's queries). */
  display: string;
}

export interface Connection {
  address: string;
  timeoutMs: number;
  /** Header values may be secret: never log this object. */
  headers: Record<string, string>;
}

export type ResolvedProvider =
  | { kind: 'prometheus'; connection: Connection; query: string; range?: { windowMs: number; stepMs: number } }
  | {
      kind: 'web';
      url: string;
      method: 'GET' | 'POST';
      headers: Record<string, string>;
      body?: string;
      jsonPath?: string;
      timeoutMs: number;
    }
  | ({ kind: 'judge'; connection: Connection } & Omit<JudgeSpec, 'kind' | 'address' | 'headers' | 'authentication' | 'timeoutMs'>);

export interface Defaults {
  /** Used by metrics that do not name an address. */
  prometheusAddress?: string;
  /** Bearer token, sent only to the default address (never to an address a metric names itself). */
  prometheusToken?: string;
}

export interface ResolveContext {
  args?: Readonly<Record<string, string>>;
  defaults?: Defaults;
  env?: Readonly<Record<string, string | undefined>>;
  /** Told every secret value found (tokens, passwords, secret headers), to redact them. */
  onSecret?: (value: string) => void;
}

/** Merges the given args with the template's declared ones (and their defaults). */
export function effectiveArgs(spec: AnalysisSpec, given: Readonly<Record<string, string>> = {}): Args {
  if (!spec.args) return { ...given };
  const declared = new Map(spec.args.map((a) => [a.name, a.value]));
  const unknown = Object.keys(given).filter((name) => !declared.has(name));
  if (unknown.length > 0) {
    throw new InputError(
      `args: ${unknown.map((n) => `'${n}'`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not declared by the template (declared: ${[...declared.keys()].join(', ') || 'none'}); check the spelling`,
    );
  }
  const args: Record<string, string> = {};
  for (const [name, value] of declared) {
    const final = given[name] ?? value;
    if (final === undefined)
      throw new InputError(`args: the template needs a value for '${name}' (it has no default); add it to the args input`);
    args[name] = final;
  }
  return args;
}

export function resolveMetrics(spec: AnalysisSpec, context: ResolveContext): ResolvedMetric[] {
  const args = effectiveArgs(spec, context.args);
  return spec.metrics.map((metric) => resolveMetric(metric, args, context));
}

export function resolveMetric(metric: MetricSpec, args: Args, context: ResolveContext): ResolvedMetric {
  const where = (path: string) => `metric '${metric.name}', ${path}`;
  const conditions = compileResolvedConditions(metric, args, where);
  const p = metric.provider;
  switch (p.kind) {
    case 'prometheus': {
      const query = interpolatePromQL(p.query, args, where('provider.prometheus.query'));
      return {
        spec: metric,
        conditions,
        display: query,
        provider: { kind: 'prometheus', connection: connect(p, args, context, where('provider.prometheus')), query, range: p.range },
      };
    }
    case 'web': {
      const url = checkUrl(interpolateUrl(p.url, args, where('provider.web.url')), where('provider.web.url'));
      const headers = resolveHeaders(p.headers, args, context, where('provider.web.headers'));
      const body = p.body === undefined ? undefined : interpolateHeader(p.body, args, where('provider.web.body'));
      return {
        spec: metric,
        conditions,
        display: `${p.method} ${url}${p.jsonPath ? ` ${p.jsonPath}` : ''}`,
        provider: { kind: 'web', url, method: p.method, headers, body, jsonPath: p.jsonPath, timeoutMs: p.timeoutMs },
      };
    }
    case 'judge': {
      const { kind: _kind, address: _a, headers: _h, authentication: _auth, timeoutMs: _t, metrics, ...rest } = p;
      const resolved = metrics.map((m, i) => ({
        ...m,
        baseline: interpolatePromQL(m.baseline, args, where(`provider.judge.metrics.${i}.baseline`)),
        canary: interpolatePromQL(m.canary, args, where(`provider.judge.metrics.${i}.canary`)),
      }));
      const display = resolved.map((m) => `${m.name}: baseline ${m.baseline} | canary ${m.canary}`).join('\n');
      return {
        spec: metric,
        conditions,
        display,
        provider: { kind: 'judge', connection: connect(p, args, context, where('provider.judge')), ...rest, metrics: resolved },
      };
    }
  }
}

function compileResolvedConditions(metric: MetricSpec, args: Args, where: (path: string) => string): CompiledConditions {
  const success = metric.successCondition && interpolateCondition(metric.successCondition, args, where('successCondition'));
  const failure = metric.failureCondition && interpolateCondition(metric.failureCondition, args, where('failureCondition'));
  try {
    return compileConditions(success || undefined, failure || undefined);
  } catch (error) {
    if (error instanceof ConditionSyntaxError)
      throw new InputError(`${where('a condition')} does not parse once its args are filled in: ${error.message}`);
    throw error;
  }
}

function connect(p: PrometheusConnectionSpec, args: Args, context: ResolveContext, where: string): Connection {
  const defaults = context.defaults ?? {};
  const named = p.address === undefined ? undefined : checkUrl(interpolateUrl(p.address, args, `${where}.address`), `${where}.address`);
  const address = named ?? defaults.prometheusAddress;
  if (!address)
    throw new InputError(`${where}: no address; give provider address, or the default Prometheus address (prometheus-address input)`);
  const headers = resolveHeaders(p.headers, args, context, `${where}.headers`);
  const env = context.env ?? process.env;
  const fromEnv = (name: string, path: string) => {
    const value = env[name];
    if (!value) throw new InputError(`${where}.${path}: environment variable ${name} is not set (or empty); set it from a secret`);
    context.onSecret?.(value);
    return value;
  };
  if (p.authentication?.bearer) {
    headers.Authorization = `Bearer ${fromEnv(p.authentication.bearer.tokenFromEnv, 'authentication.bearer.tokenFrom.env')}`;
  } else if (p.authentication?.basic) {
    const password = fromEnv(p.authentication.basic.passwordFromEnv, 'authentication.basic.passwordFrom.env');
    const encoded = Buffer.from(`${p.authentication.basic.username}:${password}`).toString('base64');
    context.onSecret?.(encoded);
    headers.Authorization = `Basic ${encoded}`;
  } else if (defaults.prometheusToken && !hasHeader(headers, 'authorization') && sameOrigin(address, defaults.prometheusAddress)) {
    context.onSecret?.(defaults.prometheusToken);
    headers.Authorization = `Bearer ${defaults.prometheusToken}`;
  }
  return { address: address.replace(/\/+$/, ''), timeoutMs: p.timeoutMs, headers };
}

function resolveHeaders(specs: HeaderSpec[], args: Args, context: ResolveContext, where: string): Record<string, string> {
  const env = context.env ?? process.env;
  const headers: Record<string, string> = {};
  specs.forEach((h, i) => {
    let value: string;
    if (h.fromEnv !== undefined) {
      const fromEnv = env[h.fromEnv];
      if (!fromEnv) throw new InputError(`${where}.${i}.valueFrom.env: environment variable ${h.fromEnv} is not set (or empty)`);
      value = fromEnv;
    } else {
      value = interpolateHeader(h.value ?? '', args, `${where}.${i}.value`);
    }
    if (/[\r\n]/.test(value)) throw new InputError(`${where}.${i}: the value of header ${h.key} contains a line break`);
    if (h.secret) context.onSecret?.(value);
    headers[h.key] = value;
  });
  return headers;
}

function checkUrl(url: string, where: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) {
    throw new InputError(`${where}: expected an http(s) URL such as http://prometheus.monitoring:9090`);
  }
  return url;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

function sameOrigin(a: string, b: string | undefined): boolean {
  if (!b) return false;
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
