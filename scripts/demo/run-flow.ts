import { Writable } from 'node:stream';
import { ConsoleReporter } from '../../src/cli/console-reporter.js';
import { type Flow, FlowFailure, type FlowOutputs, outputStrings, runIdFor, runInfoFromEnv } from '../../src/core/flow.js';
import { Secrets } from '../../src/core/secrets.js';
import { parseInputs, secretInputs, type ActionSpec } from '../../src/core/specs/spec.js';

export interface FlowRun {
  /** succeeded: main returned; failed: a FlowFailure (the flow ran and did not succeed); error: anything else. */
  outcome: 'succeeded' | 'failed' | 'error';
  outputs: FlowOutputs;
  /** The job summary (Markdown), secrets redacted, as `--summary-file` writes it. */
  summary: string;
  error?: string;
  durationMs: number;
}

/**
 * Runs one flow with the context the command line builds (src/cli/main.ts `runCli`): secrets
 * registered from the spec's secret inputs, inputs parsed by the spec, the run info from the
 * environment, a ConsoleReporter (here writing to `out`), state kept in memory, and the post step
 * run right after the main one, as one CLI process does.
 *
 * This mirrors runCli's context creation because runCli does not export it and prints outputs to
 * process.stdout; if main.ts exported a `createCliContext(flow, raw, { out, signal, env })`, this
 * function would shrink to a call of it.
 */
export async function runFlowLikeCli(
  flow: Flow<ActionSpec>,
  raw: Record<string, string>,
  options: { out: NodeJS.WritableStream; signal: AbortSignal; env?: NodeJS.ProcessEnv; verbose?: boolean },
): Promise<FlowRun> {
  const started = performance.now();
  const secrets = new Secrets();
  const reporter = new ConsoleReporter(secrets, options.out, options.verbose ?? false);
  const finish = (outcome: FlowRun['outcome'], outputs: FlowOutputs, error?: unknown): FlowRun => ({
    outcome,
    outputs,
    summary: reporter.summaries.join('\n\n'),
    ...(error === undefined ? {} : { error: secrets.redact(error instanceof Error ? error.message : String(error)) }),
    durationMs: performance.now() - started,
  });
  try {
    for (const input of secretInputs(flow.spec)) secrets.add(raw[input]);
    const inputs = parseInputs(flow.spec, raw);
    const run = runInfoFromEnv(options.env);
    const state = new Map<string, string>();
    const context = {
      reporter,
      secrets,
      runId: runIdFor(inputs, run),
      signal: options.signal,
      state: { get: (key: string) => state.get(key) ?? '', set: (key: string, value: string) => void state.set(key, value) },
      run,
    };
    try {
      return finish('succeeded', await flow.main(inputs, context));
    } catch (error) {
      if (error instanceof FlowFailure) {
        reporter.error(error.message);
        return finish('failed', error.outputs, error);
      }
      throw error;
    } finally {
      await flow.post?.(inputs, context);
    }
  } catch (error) {
    reporter.error((error as Error).message);
    return finish('error', {}, error);
  }
}

/** Outputs as the CLI prints them (name=value, objects as JSON), redacted by the caller's secrets. */
export function outputLines(outputs: FlowOutputs): string[] {
  return outputStrings(outputs).map(([name, value]) => `${name}=${value}`);
}

/**
 * A stream that writes each line to `sink` with a prefix (`[checkout blue-green] `) and keeps a
 * copy of the lines without it, for the scenario's log file.
 */
export class PrefixedLines extends Writable {
  readonly lines: string[] = [];
  private pending = '';

  constructor(
    private readonly prefix: string,
    private readonly sink: (line: string) => void,
  ) {
    super();
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending += String(chunk);
    const parts = this.pending.split('\n');
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.line(line);
    callback();
  }

  /** Writes out a last line without a newline. */
  flushPending(): void {
    if (this.pending) this.line(this.pending);
    this.pending = '';
  }

  line(text: string): void {
    this.lines.push(text);
    this.sink(`${this.prefix}${text}`);
  }
}
