/**
 * The command line: runs the same flows as the actions, outside GitHub Actions (other CI
 * systems, local dry runs). Progress goes to stderr, outputs to stdout as name=value lines.
 * Exit codes: 0 success, 1 the flow failed, 2 bad usage or input. The inputs are parsed before
 * the flow is loaded, so bad input fails fast and before any cluster call.
 */
import { writeFile } from 'node:fs/promises';
import { InputError } from '../core/config/input-error.js';
import { type Flow, type FlowContext, FlowFailure, type FlowOutputs, outputStrings, runIdFor, runInfoFromEnv } from '../core/flow.js';
import type { Reporter } from '../core/reporter.js';
import { Secrets } from '../core/secrets.js';
import { parseInputsWithFile } from '../core/specs/delivery-file.js';
import type { ActionEntry } from '../core/specs/index.js';
import { parseInputs, secretInputs, type ActionSpec, type ParsedInputs } from '../core/specs/spec.js';
import { type CliArgs, parseCliArgs, topUsage, usage } from './args.js';
import { ConsoleReporter } from './console-reporter.js';

export async function runCli(actions: readonly ActionEntry[], argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const entry = actions.find((a) => a.spec.name === name);
  if (!entry) {
    const help = name === '--help' || name === '-h' || name === 'help';
    if (!help && name !== undefined) process.stderr.write(`error: no action "${name}"\n\n`);
    (help ? process.stdout : process.stderr).write(`${topUsage(actions.map((a) => a.spec))}\n`);
    return help ? 0 : 2;
  }
  const secrets = new Secrets();
  let reporter = new ConsoleReporter(secrets);
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('the run was cancelled'));
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  let args: CliArgs | undefined;
  try {
    args = parseCliArgs(entry.spec, rest);
    if (args.help) {
      process.stdout.write(`${usage(entry.spec)}\n`);
      return 0;
    }
    reporter = new ConsoleReporter(secrets, process.stderr, args.verbose);
    for (const input of secretInputs(entry.spec)) secrets.add(args.inputs[input]);
    const raw: Record<string, string | undefined> = args.inputs;
    const { inputs, file } = await parseInputsWithFile(entry.spec, raw, process.env.GITHUB_WORKSPACE ?? process.cwd());
    if (file)
      reporter.info(
        `Delivery file ${file.path}: ${
          Object.keys(file.values)
            .filter((key) => !raw[key]?.trim())
            .join(', ') || 'nothing'
        } from the file.`,
      );
    const flow = await entry.flow();
    printOutputs(await runParsedFlowOnce(flow, inputs, { reporter, secrets, signal: controller.signal }));
    return 0;
  } catch (error) {
    if (error instanceof FlowFailure) printOutputs(error.outputs);
    reporter.error((error as Error).message);
    return error instanceof InputError ? 2 : 1;
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
    if (args?.summaryFile) await writeFile(args.summaryFile, reporter.summaries.join('\n\n'));
  }
}

export interface FlowRunOptions {
  reporter: Reporter;
  secrets: Secrets;
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/**
 * One run outside GitHub Actions: registers the secret inputs, parses the inputs, runs the main
 * step and then the post step (one process is both), with the step state kept in memory.
 * Returns the outputs; throws InputError, FlowFailure (with outputs) or the flow's error.
 */
export async function runFlowOnce(flow: Flow<ActionSpec>, raw: Record<string, string>, options: FlowRunOptions): Promise<FlowOutputs> {
  for (const input of secretInputs(flow.spec)) options.secrets.add(raw[input]);
  return runParsedFlowOnce(flow, parseInputs(flow.spec, raw), options);
}

/** runFlowOnce with inputs already parsed (the command line parses them before loading the flow). */
async function runParsedFlowOnce(flow: Flow<ActionSpec>, inputs: ParsedInputs<ActionSpec>, options: FlowRunOptions): Promise<FlowOutputs> {
  const run = runInfoFromEnv(options.env);
  const state = new Map<string, string>();
  const context: FlowContext = {
    reporter: options.reporter,
    secrets: options.secrets,
    runId: runIdFor(inputs, run),
    signal: options.signal,
    state: { get: (key) => state.get(key) ?? '', set: (key, value) => void state.set(key, value) },
    run,
  };
  try {
    return await flow.main(inputs, context);
  } finally {
    await flow.post?.(inputs, context);
  }
}

function printOutputs(outputs: FlowOutputs): void {
  for (const [name, value] of outputStrings(outputs)) process.stdout.write(`${name}=${value}\n`);
}
