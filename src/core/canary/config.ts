/**
 * The canary config as the flow uses it: steps as a tagged union, each analysis (a step's, or
 * the background one) with its templates merged into one AnalysisSpec, as Argo merges the
 * templates of one analysis into one AnalysisRun. Everything is checked here, before the
 * cluster is touched: the schema, every metric template, the references between them, and
 * (checkAnalyses) that every analysis resolves: its args are given and it has a Prometheus.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../config/input-error.js';
import { parseWith } from '../config/parse.js';
import { parseMetrics } from '../metrics/config.js';
import { resolveMetrics, type Defaults } from '../metrics/resolve.js';
import { effectiveCount, type AnalysisSpec, type ArgSpec } from '../metrics/spec.js';
import { canaryConfigSchema, type ParsedCanaryConfig } from './config-schema.js';

export type CanaryStep =
  | { kind: 'setWeight'; weight: number }
  | { kind: 'pause'; durationMs?: number }
  | { kind: 'analysis'; analysis: CanaryAnalysis };

export interface CanaryAnalysis {
  /** The templates' names joined with "+", for logs and the summary. */
  name: string;
  spec: AnalysisSpec;
  args: Record<string, string>;
  /** Bounds metrics with an interval but no count. */
  durationMs?: number;
  /** Where in the config it is, for messages, e.g. `steps.3.analysis`. */
  path: string;
}

export interface BackgroundAnalysis extends CanaryAnalysis {
  startingStep: number;
}

export type Routing = ParsedCanaryConfig['routing'];
export type Workloads = NonNullable<ParsedCanaryConfig['workloads']>;

export interface CanaryConfig {
  /** Where the config came from: a file path or "config input". */
  source: string;
  routing: Routing;
  workloads?: Workloads;
  steps: CanaryStep[];
  background?: BackgroundAnalysis;
  /** Hash of the steps, kept with a paused canary so a later promote can tell the steps did not change. */
  stepsHash: string;
}

/** Parses the config (YAML text or an object), or throws one InputError naming every problem by its path. */
export function parseCanaryConfig(yamlOrObject: unknown, source: string): CanaryConfig {
  let doc = yamlOrObject;
  if (typeof doc === 'string') {
    try {
      doc = parseYaml(doc);
    } catch (error) {
      throw new InputError(`config ${source} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  // `config input` (inline) or `config deploy/canary.yaml` (a file).
  const label = source.endsWith(' input') ? source : `config ${source}`;
  const parsed = parseWith(canaryConfigSchema, doc, { label });
  const templates = new Map<string, AnalysisSpec>();
  for (const [name, body] of Object.entries(parsed.templates)) templates.set(name, parseMetrics(body, `${label}, templates.${name}`));

  const merge = (refs: { templateName: string }[], args: { name: string; value: string }[], path: string) =>
    mergeTemplates(
      refs.map((r) => r.templateName),
      templates,
      args,
      `${label}, ${path}`,
    );

  const steps = parsed.steps.map((step, i): CanaryStep => {
    if (step.setWeight !== undefined) return { kind: 'setWeight', weight: step.setWeight };
    if (step.pause !== undefined) return { kind: 'pause', durationMs: step.pause.duration };
    const a = step.analysis!;
    const path = `steps.${i}.analysis`;
    return { kind: 'analysis', analysis: { ...merge(a.templates, a.args, path), durationMs: a.duration, path } };
  });
  const background = parsed.analysis && {
    ...merge(parsed.analysis.templates, parsed.analysis.args, 'analysis'),
    startingStep: parsed.analysis.startingStep,
    path: 'analysis',
  };
  for (const step of steps) if (step.kind === 'analysis') checkBounded(step.analysis, label);
  return {
    source,
    routing: parsed.routing,
    workloads: parsed.workloads,
    steps,
    background,
    stepsHash: createHash('sha256').update(JSON.stringify(parsed.steps)).digest('hex').slice(0, 16),
  };
}

/**
 * Resolves every analysis as the run will (args filled in, addresses and credentials chosen),
 * so a missing arg, address or credential is an InputError before the first write.
 */
export function checkAnalyses(config: CanaryConfig, defaults: Defaults, env: Readonly<Record<string, string | undefined>>): void {
  const analyses = [
    ...config.steps.flatMap((s) => (s.kind === 'analysis' ? [s.analysis] : [])),
    ...(config.background ? [config.background] : []),
  ];
  for (const analysis of analyses) {
    try {
      resolveMetrics(analysis.spec, { args: analysis.args, defaults, env });
    } catch (error) {
      if (error instanceof InputError)
        throw new InputError(`config ${config.source}, ${analysis.path} (${analysis.name}): ${error.message}`);
      throw error;
    }
  }
}

/** One AnalysisSpec of several templates: their metrics side by side, their declared args together. */
function mergeTemplates(
  names: string[],
  templates: Map<string, AnalysisSpec>,
  args: { name: string; value: string }[],
  where: string,
): Omit<CanaryAnalysis, 'path'> {
  const metrics: AnalysisSpec['metrics'] = [];
  const declared = new Map<string, ArgSpec>();
  let anyDeclares = false;
  const owner = new Map<string, string>();
  for (const name of names) {
    const spec = templates.get(name)!;
    for (const metric of spec.metrics) {
      const other = owner.get(metric.name);
      if (other !== undefined) {
        throw new InputError(
          `${where}: metric '${metric.name}' is in both template ${other} and template ${name}; metric names must be unique within one analysis`,
        );
      }
      owner.set(metric.name, name);
      metrics.push(metric);
    }
    if (spec.args) {
      anyDeclares = true;
      for (const arg of spec.args) if (!declared.has(arg.name) || declared.get(arg.name)!.value === undefined) declared.set(arg.name, arg);
    }
  }
  const given: Record<string, string> = {};
  for (const arg of args) {
    if (arg.name in given) throw new InputError(`${where}.args: '${arg.name}' is given twice`);
    given[arg.name] = arg.value;
  }
  return { name: names.join('+'), spec: { args: anyDeclares ? [...declared.values()] : undefined, metrics }, args: given };
}

function checkBounded(analysis: CanaryAnalysis, label: string): void {
  if (analysis.durationMs !== undefined) return;
  const endless = analysis.spec.metrics.filter((m) => effectiveCount(m) === undefined).map((m) => `'${m.name}'`);
  if (endless.length === 0) return;
  throw new InputError(
    `${label}, ${analysis.path}: metric${endless.length > 1 ? 's' : ''} ${endless.join(', ')} ${endless.length > 1 ? 'have' : 'has'} an interval but no count, so the step would never end: give the metric a count, or the step a duration (e.g. duration: 10m)`,
  );
}
