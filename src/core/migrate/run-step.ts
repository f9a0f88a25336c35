/**
 * Runs one of the team's migration commands (command, verify, rollback) with its output in a log
 * group, and says how it ended (a psql ERROR line fails it even on exit 0).
 */
import { formatDuration } from '../config/primitives.js';
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import type { CommandRunner } from '../command-runner.js';

/** One of the team's commands, named as its input is. */
export type StepName = 'command' | 'verify-command' | 'rollback-command' | 'contract-rollback-command';

export interface StepContext {
  runner: CommandRunner;
  reporter: Reporter;
  secrets: Secrets;
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface StepResult {
  ok: boolean;
  /** Why the command was stopped before it finished, if it was. */
  stopped: 'timeout' | 'cancelled' | undefined;
  /** e.g. "command exited with code 3", redacted. */
  description: string;
  /** The last lines the command wrote, redacted. */
  lastLines: string[];
}

const KEEP_LINES = 20;

/**
 * A line that reports a PostgreSQL error: `ERROR:  …` (psql -c, libpq tools) or
 * `psql:file.sql:3: ERROR:  …` (psql -f). psql without ON_ERROR_STOP=1 goes on after one and
 * exits 0, so the exit code alone would call a half-applied migration a success.
 */
const ERROR_LINE = /^(?:psql:[^\s]*:\d+: )?ERROR:\s/;

/**
 * A warning when `argv` runs psql without `ON_ERROR_STOP=1` (`-v ON_ERROR_STOP=1`,
 * `--set=ON_ERROR_STOP=1`, `-vON_ERROR_STOP=1`), naming the fix; undefined otherwise.
 */
export function psqlWarning(name: StepName, argv: readonly string[]): string | undefined {
  const program = argv[0]?.split('/').at(-1);
  if (program !== 'psql') return undefined;
  const stops = argv.some((arg) => /(^|[=\s]|^-v)ON_ERROR_STOP=(1|on|true)$/i.test(arg));
  if (stops) return undefined;
  return `${name} runs psql without ON_ERROR_STOP=1: psql goes on after a failed statement and exits 0. Add \`-v ON_ERROR_STOP=1\` to it; until then the phase fails when the output has ERROR: lines.`;
}

/** Runs one command, streaming its output (redacted) into a log group, and says how it ended. */
export async function runStep(name: StepName, argv: readonly string[], context: StepContext): Promise<StepResult> {
  const { reporter, secrets } = context;
  const lastLines: string[] = [];
  const errorLines: string[] = [];
  const title = `${name}: ${secrets.redact(argv.join(' '))}`;
  const started = Date.now();
  const result = await reporter.group(title, () =>
    context.runner.run({
      argv: expandVariables(argv, context.env),
      env: context.env,
      timeoutMs: context.timeoutMs,
      signal: context.signal,
      onLine: (line) => {
        const safe = secrets.redact(line);
        reporter.info(safe);
        lastLines.push(safe);
        if (lastLines.length > KEEP_LINES) lastLines.shift();
        if (ERROR_LINE.test(line) && errorLines.length < KEEP_LINES) errorLines.push(safe);
      },
    }),
  );
  const took = formatDuration(Date.now() - started);
  let description: string;
  if (result.startError) description = `${name} could not start: ${secrets.redact(result.startError)}`;
  else if (result.stopped === 'timeout') description = `${name} was stopped after command-timeout ${formatDuration(context.timeoutMs)}`;
  else if (result.stopped === 'cancelled') description = `${name} was stopped because the run was cancelled`;
  else if (result.exitCode !== 0) description = `${name} exited with code ${result.exitCode} after ${took}`;
  else if (errorLines.length) {
    description = `${name} exited with code 0 after ${took} but wrote ${errorLines.length} ERROR: line(s), so it failed (first: ${errorLines[0]!.slice(0, 300)})`;
  } else description = `${name} succeeded in ${took}`;
  const ok = result.exitCode === 0 && !result.stopped && !result.startError && errorLines.length === 0;
  reporter[ok ? 'info' : 'error'](description);
  return { ok, stopped: result.stopped, description, lastLines };
}

/** Variables of the command's environment that its arguments may name as `$NAME` or `${NAME}`. */
export const ARGUMENT_VARIABLES = ['DATABASE_URL', 'MIGRATION_VERSION', 'MIGRATION_PHASE'] as const;

/** Replaces `$NAME` / `${NAME}` of ARGUMENT_VARIABLES in each argument (no shell: nothing else is expanded). */
export function expandVariables(argv: readonly string[], env: Record<string, string>): string[] {
  return argv.map((arg) =>
    arg.replace(/\$\{([A-Z_]+)\}|\$([A-Z_]+)\b/g, (match, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare)!;
      const value = (ARGUMENT_VARIABLES as readonly string[]).includes(name) ? env[name] : undefined;
      return value ?? match;
    }),
  );
}
