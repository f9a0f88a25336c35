/**
 * Runs a workflow's control flow the way GitHub does, without a runner: the jobs in `needs`
 * order, each job's `if:` and each step's `if:`, `with:`, `env:` and the job outputs evaluated
 * by GitHub's own expression evaluator (@actions/expressions), under a scenario (trigger,
 * inputs, how each job or step ends). `run:` steps really run (bash, with GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY, as the runner starts them); `uses:` steps end as the scenario says, or
 * as a given `act` hook runs them (the local release test runs our actions there).
 *
 * Semantics, from GitHub's documentation and runner:
 * - a condition without a status function is `success() && (…)` (the parser adds it);
 * - job level: success() is true when every ancestor job (transitively, actions/runner#2205)
 *   succeeded and the run is not cancelled; failure() when any ancestor failed; cancelled()
 *   when the run was cancelled; a job that does not run is `skipped`.
 *   https://docs.github.com/actions/learn-github-actions/expressions#status-check-functions
 * - step level: the same over the job's previous steps; cancelled() when this job was cancelled
 *   (a job that starts after the run was cancelled, by `always()`, runs its steps);
 * - inputs: workflow_call inputs get their default, else false / 0 / '' by type; a dispatch
 *   has only the dispatch inputs (any other `inputs.x` is null); booleans stay booleans.
 *   https://docs.github.com/actions/using-workflows/workflow-syntax-for-github-actions#onworkflow_callinputs
 * - `with:` values reach an action as strings (null as '').
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { parseRunnerFile } from '../support/action-runner.js';
import type { InputDef, JobModel, Value, WorkflowModel } from './workflow-model.js';
import { ROOT } from './workflow-files.js';

export type JobResult = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface StepEnd {
  outcome: 'success' | 'failure';
  outputs?: Record<string, string>;
}

export interface JobPlan {
  /** How the job ends if it runs: `failure` with no `failAt` = before any step (an approval rejected or timed out, a runner lost). */
  result?: 'success' | 'failure' | 'cancelled';
  /** The step (id) that fails. */
  failAt?: string;
  /** Outputs of `uses:` steps, by step id. */
  outputs?: Record<string, Record<string, string>>;
}

export interface Scenario {
  trigger: 'call' | 'dispatch';
  inputs: Record<string, string | boolean | number>;
  jobs?: Record<string, JobPlan>;
  /**
   * Someone cancelled the run: `true` before any job started, or a job id: while that job ran
   * (it ends `cancelled`; jobs decided after it see cancelled() true).
   */
  cancelled?: boolean | string;
  secrets?: Record<string, string>;
  github?: Record<string, string>;
  /** Runs a `uses:` step; undefined = end it as the scenario says. */
  act?: (step: ActionStepRun) => Promise<StepEnd | undefined>;
}

export interface ActionStepRun {
  job: string;
  id: string;
  uses: string;
  with: Record<string, string>;
  env: Record<string, string>;
  github: Record<string, string>;
}

export interface StepRun {
  id: string;
  ran: boolean;
  uses?: string;
  with: Record<string, string>;
  env: Record<string, string>;
  outcome: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
  /** What a run step wrote to the job summary, and its log. */
  summary?: string;
  log?: string;
}

export interface JobRun {
  id: string;
  ran: boolean;
  result: JobResult;
  environment?: string;
  concurrency?: string;
  steps: Record<string, StepRun>;
  outputs: Record<string, string>;
}

export interface WorkflowRun {
  jobs: Record<string, JobRun>;
  concurrency?: string;
  inputs: Record<string, unknown>;
}

const STATUS = ['success', 'failure', 'cancelled', 'always'] as const;

/** Every workflow file, as GitHub's converter sees it (one child process for all). */
export function loadModels(paths: string[]): Record<string, WorkflowModel> {
  return modelsOf(paths.map((name) => ({ name, content: readFileSync(join(ROOT, name), 'utf8') })));
}

/** Workflows given as text, as GitHub's converter sees them. */
export function modelsOf(items: { name: string; content: string }[]): Record<string, WorkflowModel> {
  const out = execFileSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'test/workflows/github-parser-cli.ts'), '--model'], {
    cwd: ROOT,
    input: JSON.stringify(items.map((item) => ({ kind: 'workflow', ...item }))),
    encoding: 'utf8',
  });
  return JSON.parse(out) as Record<string, WorkflowModel>;
}

/** Evaluates one expression with GitHub's evaluator. */
export function evaluate(
  expr: string,
  context: Record<string, unknown>,
  status?: Record<(typeof STATUS)[number], () => boolean>,
): data.ExpressionData {
  const functions = new Map<string, FunctionDefinition>();
  for (const name of STATUS) {
    functions.set(name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(status ? status[name]() : true) });
  }
  const tokens = new Lexer(expr).lex().tokens;
  const tree = new Parser(tokens, Object.keys(context), [...functions.values()]).parse();
  return new Evaluator(tree, toData(context) as data.Dictionary, functions).evaluate();
}

function toData(value: unknown): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

/** A value as the runner hands it to an action or a variable: a string. */
function asString(value: data.ExpressionData): string {
  if (value.kind === data.Kind.Null) return '';
  if (value.kind === data.Kind.Dictionary || value.kind === data.Kind.Array) return JSON.stringify(value, data.replacer);
  return value.coerceString();
}

function evalValue(value: Value | undefined, context: Record<string, unknown>): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object' && !Array.isArray(value) && typeof (value as { expr?: unknown }).expr === 'string') {
    return asString(evaluate((value as { expr: string }).expr, context));
  }
  return String(value);
}

function evalMap(map: Record<string, Value> | undefined, context: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, evalValue(v, context)]));
}

/** The `inputs` context for this trigger, checked as GitHub checks a call or a dispatch. */
export function inputsFor(model: WorkflowModel, scenario: Pick<Scenario, 'trigger' | 'inputs'>): Record<string, unknown> {
  const defs: Record<string, InputDef> =
    (scenario.trigger === 'call' ? model.events.workflow_call?.inputs : model.events.workflow_dispatch?.inputs) ?? {};
  const inputs: Record<string, unknown> = {};
  for (const name of Object.keys(scenario.inputs)) {
    if (!(name in defs)) throw new Error(`${model.name}: input '${name}' is not defined for ${scenario.trigger}`);
  }
  for (const [name, def] of Object.entries(defs)) {
    const given = scenario.inputs[name];
    if (given === undefined) {
      if (def.required) throw new Error(`${model.name}: input '${name}' is required`);
      inputs[name] = def.default ?? (def.type === 'boolean' ? false : def.type === 'number' ? 0 : '');
      if (def.type === 'boolean' && typeof inputs[name] === 'string') inputs[name] = inputs[name] === 'true';
      continue;
    }
    if (def.type === 'boolean' && typeof given !== 'boolean') throw new Error(`${model.name}: input '${name}' must be a boolean`);
    if (def.type === 'choice' && !def.options?.includes(String(given)))
      throw new Error(`${model.name}: '${String(given)}' is not an option of '${name}'`);
    inputs[name] = given;
  }
  return inputs;
}

function order(jobs: JobModel[]): JobModel[] {
  const done = new Set<string>();
  const out: JobModel[] = [];
  while (out.length < jobs.length) {
    const next = jobs.find((j) => !done.has(j.id) && j.needs.every((n) => done.has(n)));
    if (!next) throw new Error('cycle in needs');
    done.add(next.id);
    out.push(next);
  }
  return out;
}

function ancestors(jobs: Map<string, JobModel>, id: string, seen = new Set<string>()): Set<string> {
  for (const need of jobs.get(id)!.needs) {
    if (seen.has(need)) continue;
    seen.add(need);
    ancestors(jobs, need, seen);
  }
  return seen;
}

/** Runs the workflow under the scenario. */
export async function simulate(model: WorkflowModel, scenario: Scenario): Promise<WorkflowRun> {
  const inputs = inputsFor(model, scenario);
  const github: Record<string, string> = {
    event_name: scenario.trigger === 'dispatch' ? 'workflow_dispatch' : 'push',
    run_id: '17000000001',
    run_attempt: '1',
    run_number: '42',
    repository: 'shop/checkout',
    sha: '0123456789abcdef0123456789abcdef01234567',
    ref: 'refs/heads/main',
    actor: 'octocat',
    server_url: 'https://github.com',
    workflow: 'Release',
    token: 'ghs_0000000000000000000000000000000000000',
    ...scenario.github,
  };
  const secrets = { GITHUB_TOKEN: github.token, ...scenario.secrets };
  const base = { inputs, github, secrets, vars: {}, env: {} };
  const byId = new Map(model.jobs.map((j) => [j.id, j]));
  const runs: Record<string, JobRun> = {};
  const concurrency = groupOf(model.concurrency, base);

  let cancelled = scenario.cancelled === true;
  for (const job of order(model.jobs)) {
    const up = [...ancestors(byId, job.id)].map((id) => runs[id]!.result);
    const status = {
      success: () => !cancelled && up.every((r) => r === 'success'),
      failure: () => up.includes('failure'),
      cancelled: () => cancelled,
      always: () => true,
    };
    const needs = Object.fromEntries(job.needs.map((id) => [id, { result: runs[id]!.result, outputs: runs[id]!.outputs }]));
    const jobContext = { ...base, needs, github: { ...github, job: job.id } };
    const run: JobRun = { id: job.id, ran: false, result: 'skipped', steps: {}, outputs: {} };
    runs[job.id] = run;
    const condition = evaluate(job.if, jobContext, status);
    if (!truthy(condition)) continue;
    run.ran = true;
    run.environment = environmentName(job.environment, jobContext);
    run.concurrency = groupOf(job.concurrency, jobContext);
    const plan = { ...scenario.jobs?.[job.id] };
    if (scenario.cancelled === job.id) {
      plan.result = 'cancelled';
      cancelled = true;
    }
    if (plan.result && plan.result !== 'success' && !plan.failAt) {
      run.result = plan.result;
      continue;
    }
    // Step level, cancelled() is about this job: one started after the cancellation (by always()) is not cancelled itself.
    run.result = await runSteps(job, plan, scenario.cancelled === job.id, scenario, run, {
      ...jobContext,
      env: evalMap(job.env, jobContext),
    });
    if (plan.result === 'cancelled') run.result = 'cancelled';
    const stepsContext = stepsOf(run);
    run.outputs = evalMap(job.outputs, { ...jobContext, steps: stepsContext });
  }
  return { jobs: runs, concurrency, inputs };
}

function truthy(value: data.ExpressionData): boolean {
  switch (value.kind) {
    case data.Kind.Null:
      return false;
    case data.Kind.Boolean:
      return (value as data.BooleanData).value;
    case data.Kind.Number:
      return (value as data.NumberData).value !== 0 && !Number.isNaN((value as data.NumberData).value);
    case data.Kind.String:
      return (value as data.StringData).value !== '';
    default:
      return true;
  }
}

function environmentName(env: Value | undefined, context: Record<string, unknown>): string | undefined {
  if (env === undefined) return undefined;
  if (typeof env === 'string' || (typeof env === 'object' && env !== null && 'expr' in env)) return evalValue(env as Value, context);
  return evalValue((env as Record<string, Value>).name, context);
}

function groupOf(concurrency: Value | undefined, context: Record<string, unknown>): string | undefined {
  if (concurrency === undefined) return undefined;
  if (typeof concurrency === 'string' || (typeof concurrency === 'object' && concurrency !== null && 'expr' in concurrency))
    return evalValue(concurrency as Value, context);
  return evalValue((concurrency as Record<string, Value>).group, context);
}

function stepsOf(run: JobRun): Record<string, unknown> {
  return Object.fromEntries(Object.values(run.steps).map((s) => [s.id, { outputs: s.outputs, outcome: s.outcome, conclusion: s.outcome }]));
}

async function runSteps(
  job: JobModel,
  plan: JobPlan,
  cancelled: boolean,
  scenario: Scenario,
  run: JobRun,
  context: Record<string, any>,
): Promise<JobResult> {
  let failed = false;
  for (const step of job.steps) {
    const steps = stepsOf(run);
    const status = {
      success: () => !cancelled && !failed,
      failure: () => failed,
      cancelled: () => cancelled,
      always: () => true,
    };
    const stepContext = { ...context, steps };
    const record: StepRun = { id: step.id, ran: false, uses: step.uses, with: {}, env: {}, outcome: 'skipped', outputs: {} };
    run.steps[step.id] = record;
    if (!truthy(evaluate(step.if, stepContext, status))) continue;
    record.ran = true;
    record.env = { ...context.env, ...evalMap(step.env, stepContext) };
    record.with = evalMap(step.with, stepContext);
    let end: StepEnd;
    if (step.run !== undefined) end = runScript(evalValue(step.run, stepContext), record, context.github);
    else {
      const acted = await scenario.act?.({
        job: job.id,
        id: step.id,
        uses: step.uses!,
        with: record.with,
        env: record.env,
        github: context.github,
      });
      end = acted ?? { outcome: plan.failAt === step.id ? 'failure' : 'success', outputs: plan.outputs?.[step.id] };
    }
    if (step.run !== undefined && plan.failAt === step.id) end = { ...end, outcome: 'failure' };
    record.outcome = end.outcome;
    record.outputs = end.outputs ?? {};
    if (end.outcome === 'failure' && !step.continueOnError) failed = true;
  }
  return failed ? 'failure' : 'success';
}

/** A `run:` step as the runner starts it on Linux: bash -e -o pipefail, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files. */
function runScript(script: string, record: StepRun, github: Record<string, string>): StepEnd {
  const dir = mkdtempSync(join(tmpdir(), 'wf-step-'));
  try {
    const files = { output: join(dir, 'output'), summary: join(dir, 'summary'), script: join(dir, 'script.sh') };
    writeFileSync(files.output, '');
    writeFileSync(files.summary, '');
    writeFileSync(files.script, script);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_RUN_ID: github.run_id,
      GITHUB_RUN_ATTEMPT: github.run_attempt,
      GITHUB_JOB: github.job,
      ...record.env,
    };
    const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', files.script], { env, encoding: 'utf8', cwd: dir });
    record.summary = readFileSync(files.summary, 'utf8');
    record.log = `${result.stdout}${result.stderr}`;
    return { outcome: result.status === 0 ? 'success' : 'failure', outputs: parseOutputs(readFileSync(files.output, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GITHUB_OUTPUT: `name=value` lines and `name<<DELIM` blocks. */
function parseOutputs(text: string): Record<string, string> {
  const values = parseRunnerFile(text);
  for (const line of text.split('\n')) {
    const m = /^([^=<\s]+)=(.*)$/.exec(line);
    if (m) values[m[1]!] = m[2]!;
  }
  return values;
}

/** The jobs that ran, in order. */
export function ranJobs(run: WorkflowRun): string[] {
  return Object.values(run.jobs)
    .filter((j) => j.ran)
    .map((j) => j.id);
}

/**
 * The inputs a caller's job (`uses: …/deploy.yml@v1`) hands the called workflow under the
 * caller's scenario, typed as GitHub hands them (a boolean stays a boolean).
 */
export function callInputs(
  model: WorkflowModel,
  jobId: string,
  scenario: Pick<Scenario, 'trigger' | 'inputs' | 'github'>,
): Record<string, string | boolean | number> {
  const job = model.jobs.find((j) => j.id === jobId);
  if (!job?.uses) throw new Error(`${model.name}: ${jobId} calls no workflow`);
  const context = {
    inputs: scenario.trigger === 'dispatch' ? inputsFor(model, scenario) : {},
    github: {
      event_name: scenario.trigger === 'dispatch' ? 'workflow_dispatch' : 'push',
      run_id: '17000000001',
      run_attempt: '1',
      sha: '0123456789abcdef0123456789abcdef01234567',
      ...scenario.github,
    },
    secrets: {},
    vars: {},
    needs: {},
  };
  const out: Record<string, string | boolean | number> = {};
  for (const [name, value] of Object.entries(job.with ?? {})) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { expr?: unknown }).expr === 'string') {
      const result = JSON.parse(JSON.stringify(evaluate((value as { expr: string }).expr, context), data.replacer)) as unknown;
      out[name] = result === null ? '' : (result as string | boolean | number);
    } else out[name] = value as string | boolean | number;
  }
  return out;
}
