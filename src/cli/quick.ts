/**
 * The command line's input errors before the specs and zod are loaded: the action's arguments
 * are read against its quick checks (src/core/specs/quick-checks.ts, which the build derives from
 * the specs), and a bad input is reported with the message and exit code runCli would give. Help,
 * an unknown action and inputs the quick checks cannot judge go on to runCli (src/cli/main.ts).
 */
import { writeFile } from 'node:fs/promises';
import { InputError } from '../core/config/input-error.js';
import { Secrets } from '../core/secrets.js';
import { quickCheckWithoutFile } from '../core/specs/delivery-file-path.js';
import { quickChecks } from '../core/specs/quick-checks.js';
import { type CliArgs, parseCliArgs } from './args.js';
import { ConsoleReporter } from './console-reporter.js';

/** 2 after reporting a bad input that the quick checks are sure of; undefined when runCli must judge. */
export async function quickCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  const [name, ...rest] = argv;
  const quick = name === undefined ? undefined : quickChecks[name];
  if (name === undefined || !quick) return undefined;
  const secrets = new Secrets();
  let args: CliArgs | undefined;
  try {
    args = parseCliArgs({ name, inputs: quick.inputs }, rest, env);
    if (args.help) return undefined;
    for (const input of Object.keys(quick.inputs)) if (quick.inputs[input]!.secret) secrets.add(args.inputs[input]);
    quickCheckWithoutFile(name, quick, args.inputs, env.GITHUB_WORKSPACE ?? process.cwd());
    return undefined;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    new ConsoleReporter(secrets).error(error.message);
    // As runCli: the summary file is written also when the inputs are bad (empty: no summary yet).
    if (args?.summaryFile) await writeFile(args.summaryFile, '');
    return 2;
  }
}
