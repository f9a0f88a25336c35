/**
 * The smoke test run against the idle color before traffic moves: the team's command as an
 * argument list, no shell.
 */
import { formatDuration } from '../config/primitives.js';
import type { CommandRunner } from '../command-runner.js';
import type { Reporter } from '../reporter.js';

export interface SmokeTestOptions {
  argv: readonly string[];
  env: { TARGET_COLOR: string; NAMESPACE: string; SERVICE: string; VERSION: string };
  timeoutMs: number;
  runner: CommandRunner;
  reporter: Reporter;
  signal: AbortSignal;
}

/** The smoke test against the idle color: an argument list, no shell. Returns why it failed, or undefined when it passed. */
export async function runSmokeTest(options: SmokeTestOptions): Promise<string | undefined> {
  const shown = options.argv.join(' ');
  options.reporter.info(`Smoke test: ${shown} (TARGET_COLOR=${options.env.TARGET_COLOR})`);
  const result = await options.runner.run({
    argv: options.argv,
    env: options.env,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    onLine: (line) => options.reporter.info(`  ${line}`),
  });
  options.signal.throwIfAborted();
  if (result.startError) return `smoke test \`${shown}\` could not start: ${result.startError}`;
  if (result.stopped === 'timeout')
    return `smoke test \`${shown}\` did not finish within smoke-timeout ${formatDuration(options.timeoutMs)}`;
  if (result.exitCode !== 0) return `smoke test \`${shown}\` failed with exit code ${result.exitCode}`;
  options.reporter.info('Smoke test passed');
  return undefined;
}
