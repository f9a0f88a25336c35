import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Starts an action as GitHub's runner does: INPUT_* variables (hyphens kept, which a shell would
 * drop), and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_STATE files; the post step with
 * STATE_isPost and the main step's state file. Runs the TypeScript entry through tsx, or a
 * committed bundle with a given Node.
 */
export interface ActionRunOptions {
  /** `src/actions/<name>.ts` (run with tsx) or `dist/<name>/index.cjs` (run as is). */
  entry: string;
  inputs: Record<string, string>;
  /** Folder for the runner's files. */
  dir: string;
  /** Extra environment: GITHUB_RUN_ID, GITHUB_WORKSPACE… */
  env?: NodeJS.ProcessEnv;
  /** The Node binary. Default: the one running the tests. */
  node?: string;
  /** Run the post step, with the state file of the main step. */
  post?: { stateFile: string };
  /** Own process group, so a test can kill the action and what it started. */
  detached?: boolean;
}

export interface ActionRun {
  code: number | null;
  /** stdout and stderr together, as the step log shows them. */
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
  stateFile: string;
}

let runs = 0;

export function startAction(options: ActionRunOptions): { child: ChildProcess; done: Promise<ActionRun>; stateFile: string } {
  const n = ++runs;
  const files = {
    output: join(options.dir, `output-${n}`),
    summary: join(options.dir, `summary-${n}`),
    state: options.post?.stateFile ?? join(options.dir, `state-${n}`),
  };
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  if (!options.post) writeFileSync(files.state, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    ...options.env,
    ...(options.post ? { STATE_isPost: 'true', ...statesOf(files.state) } : {}),
  };
  for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const args = options.entry.endsWith('.ts') ? ['--import', 'tsx', options.entry] : [options.entry];
  const child = spawn(options.node ?? process.execPath, args, {
    env,
    cwd: process.cwd(),
    detached: options.detached,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stdout += c.toString()));
  const done = new Promise<ActionRun>((resolve) =>
    child.on('close', (code) =>
      resolve({
        code,
        stdout,
        outputs: parseRunnerFile(readFileSync(files.output, 'utf8')),
        summary: readFileSync(files.summary, 'utf8'),
        stateFile: files.state,
      }),
    ),
  );
  return { child, done, stateFile: files.state };
}

export function runAction(options: ActionRunOptions): Promise<ActionRun> {
  return startAction(options).done;
}

/**
 * GITHUB_OUTPUT and GITHUB_STATE as the runner reads them (actions/runner, FileCommandManager.cs):
 * line by line, `name=value` when the line's first `=` comes before its first `<<`, otherwise a
 * `name<<DELIMITER` record whose value runs to the line that is exactly DELIMITER.
 */
export function parseRunnerFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const equals = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      values[line.slice(0, equals)] = line.slice(equals + 1);
      continue;
    }
    if (heredoc < 0) throw new Error(`runner file line ${i + 1} is neither name=value nor name<<DELIMITER: ${JSON.stringify(line)}`);
    const delimiter = line.slice(heredoc + 2);
    const end = lines.indexOf(delimiter, i + 1);
    if (end < 0) throw new Error(`runner file: no closing ${delimiter} for ${line.slice(0, heredoc)}`);
    values[line.slice(0, heredoc)] = lines.slice(i + 1, end).join('\n');
    i = end;
  }
  return values;
}

/** The runner hands the post step the main step's saved state as STATE_<name> variables. */
function statesOf(stateFile: string): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(parseRunnerFile(readFileSync(stateFile, 'utf8'))).map(([name, value]) => [`STATE_${name}`, value]),
  );
}

/** What a person sees in the step log: without the runner's masking commands. */
export function visibleLog(run: Pick<ActionRun, 'stdout'>): string {
  return run.stdout
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}
