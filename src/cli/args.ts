/**
 * The command line's arguments: `--name value` per input of the action (values from `@file` or,
 * for secrets, PD_<INPUT> variables), and the help text built from the specs.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../core/config/input-error.js';
import type { ActionSpec } from '../core/specs/spec.js';

export interface CliArgs {
  inputs: Record<string, string>;
  summaryFile?: string;
  verbose: boolean;
  help: boolean;
}

const OWN_FLAGS = new Set(['summary-file', 'verbose', 'help']);

/**
 * `--name value` or `--name=value` for each input of the action. A value `@path` is read from
 * that file (for a kubeconfig or a config). Secrets may instead come from the environment as
 * PD_<INPUT_NAME> (e.g. PD_SLACK_WEBHOOK_URL) so that they never stand in a command line.
 */
export function parseCliArgs(
  spec: Pick<ActionSpec, 'name'> & { inputs: Record<string, unknown> },
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): CliArgs {
  const args: CliArgs = { inputs: {}, verbose: false, help: false };
  for (const name of Object.keys(spec.inputs)) {
    const fromEnv = env[`PD_${name.toUpperCase().replace(/-/g, '_')}`];
    if (fromEnv) args.inputs[name] = fromEnv;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new InputError(`unexpected argument "${arg}": inputs are given as --name value`);
    const name = match[1]!;
    if (name === 'help' || name === 'verbose') {
      args[name] = true;
      continue;
    }
    if (!OWN_FLAGS.has(name) && !(name in spec.inputs)) {
      throw new InputError(`unknown option --${name} for ${spec.name}; run with --help to list its inputs`);
    }
    let value = match[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new InputError(`--${name} needs a value`);
    }
    if (name === 'summary-file') args.summaryFile = value;
    else args.inputs[name] = value.startsWith('@') ? readInputFile(name, value.slice(1)) : value;
  }
  return args;
}

function readInputFile(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputError(`--${name} @${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** `progressive-delivery --help`: the actions, one line each, and the options every action takes. */
export function topUsage(specs: readonly ActionSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length));
  return [
    'usage: progressive-delivery <action> [--input value]...',
    '',
    'Actions (progressive-delivery <action> --help lists its inputs):',
    ...specs.map((s) => `  ${s.name.padEnd(width)}  ${firstSentence(s.description)}`),
    '',
    'Options of every action:',
    '  --verbose              print debug messages',
    "  --summary-file <path>  write the run's Markdown summary to this file",
    "  --help                 list the action's inputs",
    '',
    'A value @path is read from that file. Secrets may come from PD_<INPUT_NAME> variables instead.',
    'Exit codes: 0 success, 1 the run failed, 2 bad usage or input.',
  ].join('\n');
}

function firstSentence(text: string): string {
  return /^.*?\.(?=\s|$)/.exec(text)?.[0] ?? text;
}

export function usage(spec: ActionSpec): string {
  const lines = [`progressive-delivery ${spec.name} [--input value]...`, '', spec.description, '', 'Inputs:'];
  for (const [name, def] of Object.entries(spec.inputs)) {
    const flags = [
      def.required ? 'required' : undefined,
      def.default !== undefined ? `default ${def.default}` : undefined,
      def.secret ? `secret: prefer PD_${name.toUpperCase().replace(/-/g, '_')}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  --${name}${flags ? ` (${flags})` : ''}`, `      ${def.description}`);
  }
  lines.push('', 'Also: --summary-file <path> (write the Markdown summary), --verbose, --help.', 'A value @path is read from that file.');
  return lines.join('\n');
}
