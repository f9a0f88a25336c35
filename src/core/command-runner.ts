/**
 * How the actions run the team's tools (the migration phases' psql, Flyway, knex…; blue-green's
 * smoke test): an argument list, never a shell string, with extra environment variables, a time
 * limit and a cancel signal.
 */
import { spawn } from 'node:child_process';

export interface CommandRunner {
  run(command: CommandRequest): Promise<CommandResult>;
}

export interface CommandRequest {
  /** The program and its arguments. No shell sees them. */
  argv: readonly string[];
  /** Added to (and overriding) the runner's own environment. */
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with each line the command writes, stdout and stderr alike. */
  onLine?: (line: string) => void;
}

export interface CommandResult {
  /** The exit code; -1 when the command could not start or was killed. */
  exitCode: number;
  /** Why the command was stopped before it finished, if it was. */
  stopped?: 'timeout' | 'cancelled';
  /** The error that kept the command from starting (e.g. ENOENT), if any. */
  startError?: string;
}

/** How long a command gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

/**
 * The environment a command inherits: the runner's, without the action's inputs (INPUT_*, which
 * hold the kubeconfig and tokens) or the command line's secret inputs (PD_*).
 */
export function commandEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^(INPUT|PD)_/i.test(name)));
}

/**
 * Runs commands with node:child_process (no shell). The command gets its own process group so
 * that a timeout or a cancel stops what it started too (npx -> node -> psql). It inherits the
 * runner's environment without the action's inputs, which hold secrets.
 */
export function spawnCommandRunner(baseEnv: NodeJS.ProcessEnv = commandEnvironment(process.env)): CommandRunner {
  return {
    run: (request) =>
      new Promise<CommandResult>((resolve) => {
        const [file, ...args] = request.argv;
        if (!file) return resolve({ exitCode: -1, startError: 'empty command' });
        if (request.signal?.aborted) return resolve({ exitCode: -1, stopped: 'cancelled' });
        const ownGroup = process.platform !== 'win32';
        const child = spawn(file, args, {
          env: { ...baseEnv, ...request.env },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: ownGroup,
          windowsHide: true,
        });
        let stopped: CommandResult['stopped'];
        let killTimer: NodeJS.Timeout | undefined;
        const stop = (why: NonNullable<CommandResult['stopped']>) => {
          if (stopped || child.exitCode !== null) return;
          stopped = why;
          signalChild('SIGTERM');
          killTimer = setTimeout(() => signalChild('SIGKILL'), KILL_GRACE_MS);
        };
        const signalChild = (signal: NodeJS.Signals) => {
          try {
            if (ownGroup && child.pid !== undefined) process.kill(-child.pid, signal);
            else child.kill(signal);
          } catch {
            // already gone
          }
        };
        const timer = setTimeout(() => stop('timeout'), request.timeoutMs);
        const onAbort = () => stop('cancelled');
        request.signal?.addEventListener('abort', onAbort, { once: true });

        const splitter = lineSplitter((line) => request.onLine?.(line));
        child.stdout.on('data', (chunk: Buffer) => splitter.push('out', chunk));
        child.stderr.on('data', (chunk: Buffer) => splitter.push('err', chunk));

        let startError: string | undefined;
        child.on('error', (error) => {
          startError = error.message;
        });
        child.on('close', (code) => {
          clearTimeout(timer);
          if (killTimer) clearTimeout(killTimer);
          request.signal?.removeEventListener('abort', onAbort);
          splitter.flush();
          const exitCode = code ?? -1;
          resolve({
            exitCode: startError ? -1 : exitCode,
            ...(stopped ? { stopped } : {}),
            ...(startError ? { startError } : {}),
          });
        });
      }),
  };
}

/** Turns chunks of two streams into whole lines, each stream buffered on its own. */
function lineSplitter(emit: (line: string) => void) {
  const pending: Record<string, string> = {};
  return {
    push(stream: string, chunk: Buffer) {
      const text = (pending[stream] ?? '') + chunk.toString('utf8');
      const lines = text.split(/\r?\n/);
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) emit(line);
    },
    flush() {
      for (const [stream, rest] of Object.entries(pending)) {
        if (rest) emit(rest);
        pending[stream] = '';
      }
    },
  };
}
