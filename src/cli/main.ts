import { writeFile } from 'node:fs/promises';
import { type Flow, FlowFailure, type FlowOutputs, outputStrings, runIdFor, runInfoFromEnv } from '../core/flow.js';
import { InputError } from '../core/config/input-error.js';
import { Secrets } from '../core/secrets.js';
import { parseInputs, secretInputs, type ActionSpec } from '../core/specs/spec.js';
import { parseCliArgs, usage } from './args.js';
import { ConsoleReporter } from './console-reporter.js';

/**
 * The command line: runs the same flows as the actions, outside GitHub Actions (other CI
 * systems, local dry runs). Progress goes to stderr, outputs to stdout as name=value lines.
 * Exit codes: 0 success, 1 the flow failed, 2 bad usage or input.
 */
export async function runCli(flows: Record<string, Flow<ActionSpec>>, argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const flow = name ? flows[name] : undefined;
  if (!flow) {
    process.stderr.write(`usage: progressive-delivery <${Object.keys(flows).join('|')}> [--input value]... (--help for the inputs)\n`);
    return name === '--help' ? 0 : 2;
  }
  const secrets = new Secrets();
  const reporter = new ConsoleReporter(secrets);
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('the run was cancelled'));
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  let args;
  try {
    args = parseCliArgs(flow.spec, rest);
    for (const input of secretInputs(flow.spec)) secrets.add(args.inputs[input]);
    if (args.help) {
      process.stdout.write(`${usage(flow.spec)}\n`);
      return 0;
    }
    const inputs = parseInputs(flow.spec, args.inputs);
    const run = runInfoFromEnv();
    const state = new Map<string, string>();
    const context = {
      reporter,
      secrets,
      runId: runIdFor(inputs, run),
      signal: controller.signal,
      state: { get: (key: string) => state.get(key) ?? '', set: (key: string, value: string) => void state.set(key, value) },
      run,
    };
    try {
      printOutputs(await flow.main(inputs, context));
      return 0;
    } catch (error) {
      if (error instanceof FlowFailure) printOutputs(error.outputs);
      throw error;
    } finally {
      // One process is both steps: the post step's cleanup runs right after the main one.
      await flow.post?.(inputs, context);
    }
  } catch (error) {
    reporter.error((error as Error).message);
    return error instanceof InputError ? 2 : 1;
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
    if (args?.summaryFile) await writeFile(args.summaryFile, reporter.summaries.join('\n\n'));
  }
}

function printOutputs(outputs: FlowOutputs): void {
  for (const [name, value] of outputStrings(outputs)) process.stdout.write(`${name}=${value}\n`);
}
