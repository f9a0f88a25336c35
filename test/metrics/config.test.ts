import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import { interpolatePromQL } from '../../src/core/metrics/args.js';
import { parseMetrics } from '../../src/core/metrics/config.js';
import { effectiveArgs } from '../../src/core/metrics/resolve.js';
import { effectiveCount } from '../../src/core/metrics/spec.js';

const template = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: { name: success-rate }
spec:
  args:
    - name: service-name
    - name: prometheus-url
      value: http://prometheus.monitoring:9090
  metrics:
    - name: success-rate
      interval: 1m
      count: 5
      successCondition: result[0] >= 0.95
      failureLimit: 3
      provider:
        prometheus:
          address: "{{args.prometheus-url}}"
          query: sum(rate(http_requests_total{job="{{args.service-name}}",status!~"5.."}[2m])) / sum(rate(http_requests_total{job="{{args.service-name}}"}[2m]))
`;

function problem(yaml: string): string {
  try {
    parseMetrics(yaml, 'metrics input');
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('parseMetrics', () => {
  it('reads an Argo AnalysisTemplate with Argo defaults', () => {
    const spec = parseMetrics(template, 'analysis.yaml');
    expect(spec.args).toEqual([
      { name: 'service-name', value: undefined },
      { name: 'prometheus-url', value: 'http://prometheus.monitoring:9090' },
    ]);
    const [metric] = spec.metrics;
    expect(metric).toMatchObject({
      name: 'success-rate',
      intervalMs: 60_000,
      count: 5,
      failureLimit: 3,
      inconclusiveLimit: 0,
      consecutiveErrorLimit: 4,
      dryRun: false,
    });
    expect(metric!.provider).toMatchObject({ kind: 'prometheus', timeoutMs: 30_000, headers: [] });
  });

  it("follows Argo's effective count: 1 without interval, unlimited with an interval only", () => {
    const spec = parseMetrics(
      {
        metrics: [
          { name: 'a', provider: { prometheus: { query: 'up' } } },
          { name: 'b', interval: '30s', provider: { prometheus: { query: 'up' } } },
        ],
      },
      'test',
    );
    expect(spec.metrics.map(effectiveCount)).toEqual([1, undefined]);
  });

  it('names the path, what is wrong and how to fix it', () => {
    const message = problem(`
metrics:
  - name: error-rate
    count: 3
    failureLimit: 5
    successCondition: result[0] <=
    provider:
      prometheus:
        query: up
`);
    expect(message).toContain('3 problems in metrics input');
    expect(message).toContain("'metrics.0.interval': interval must be given when count > 1");
    expect(message).toContain("'metrics.0.failureLimit': failureLimit (5) must not exceed count (3)");
    expect(message).toContain("'metrics.0.successCondition': does not parse: unexpected end of condition (at character 13)");
    expect(problem('metrics:\n  - name: a\n    provider: { prometheus: { query: up, timeout: soon } }')).toContain(
      "'metrics.0.provider.prometheus.timeout': expected a duration such as 30s, 10m or 1h",
    );
    expect(problem('metrics:\n  - name: a\n    provider: { prometheus: { query: up }, web: { url: "http://x" } }')).toContain(
      "'metrics.0.provider': expected exactly one provider (prometheus, web or judge), found 2",
    );
    expect(
      problem(
        'metrics:\n  - { name: a, provider: { prometheus: { query: up } } }\n  - { name: a, provider: { prometheus: { query: up } } }',
      ),
    ).toContain("'metrics.1.name': duplicate metric name 'a'");
  });

  it('catches typos, bad YAML and undeclared args before anything runs', () => {
    expect(problem('metrics:\n  - name: a\n    sucessCondition: result < 1\n    provider: { prometheus: { query: up } }')).toMatch(
      /unknown key 'sucessCondition'/,
    );
    expect(problem('metrics: [')).toMatch(/metrics input is not valid YAML/);
    expect(
      problem(
        'kind: AnalysisTemplate\nspec:\n  args: [{ name: service }]\n  metrics:\n    - name: a\n      provider: { prometheus: { query: "up{job=\\"{{args.svc}}\\"}" } }',
      ),
    ).toMatch(/'spec.metrics.0': uses \{\{args.svc\}\}, which is not declared in args/);
    expect(problem('metrics: []')).toMatch(/'metrics': expected at least one metric/);
    expect(problem('metrics:\n  - name: w\n    provider: { web: { url: "http://x/", jsonPath: "data.value" } }')).toMatch(
      /'metrics.0.provider.web.jsonPath': a JSONPath goes in braces/,
    );
  });

  it('requires a value for every declared argument and rejects unknown ones', () => {
    const spec = parseMetrics(template, 'analysis.yaml');
    expect(() => effectiveArgs(spec, {})).toThrow(/needs a value for 'service-name'/);
    expect(() => effectiveArgs(spec, { 'service-name': 'a', servce: 'b' })).toThrow(/'servce' is not declared by the template/);
    expect(effectiveArgs(spec, { 'service-name': 'checkout' })).toEqual({
      'service-name': 'checkout',
      'prometheus-url': 'http://prometheus.monitoring:9090',
    });
  });
});

describe('PromQL argument escaping', () => {
  const where = "metric 'm', provider.prometheus.query";

  it('escapes a value inside a quoted string so it stays one label value', () => {
    const attack = '"}) or vector(1) #';
    expect(interpolatePromQL('sum(up{job="{{args.s}}"})', { s: attack }, where)).toBe('sum(up{job="\\"}) or vector(1) #"})');
    expect(interpolatePromQL("up{job='{{args.s}}'}", { s: "a'b\\" }, where)).toBe("up{job='a\\'b\\\\'}");
  });

  it('escapes regex metacharacters in =~ and !~ matchers', () => {
    expect(interpolatePromQL('up{job=~"{{args.s}}"}', { s: '.*' }, where)).toBe('up{job=~"\\\\.\\\\*"}');
    expect(interpolatePromQL('up{job!~ "{{args.s}}-canary"}', { s: 'a|b' }, where)).toBe('up{job!~ "a\\\\|b-canary"}');
  });

  it('allows only a single token outside quotes', () => {
    expect(interpolatePromQL('rate(x[{{args.w}}])', { w: '5m' }, where)).toBe('rate(x[5m])');
    expect(() => interpolatePromQL('rate(x[{{args.w}}])', { w: '5m]) or vector(1' }, where)).toThrow(
      /args.w is used outside a quoted string .* must be a single PromQL token/,
    );
    expect(() => interpolatePromQL('x {{args.op}} y', { op: 'or' }, where)).toThrow(/not a keyword/);
    expect(() => interpolatePromQL('up{job="{{args.s}}"}', { s: 'a\nb' }, where)).toThrow(/control character or line break/);
    expect(() => interpolatePromQL('up{job="{{args.s}}"}', {}, where)).toThrow(/no argument 's' was given/);
  });
});
