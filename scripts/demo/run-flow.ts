import { Writable } from 'node:stream';
import { ConsoleReporter } from '../../src/cli/console-reporter.js';
import { runFlowOnce } from '../../src/cli/main.js';
import { type Flow, FlowFailure, type FlowOutputs, outputStrings } from '../../src/core/flow.js';
import { Secrets } from '../../src/core/secrets.js';
import type { ActionSpec } from '../../src/core/specs/spec.js';

export interface FlowRun {
  /** succeeded: main returned; failed: a FlowFailure (the flow ran and did not succeed); error: anything else. */
  outcome: 'succeeded' | 'failed' | 'error';
  outputs: FlowOutputs;
  /** The job summary (Markdown), secrets redacted, as `--summary-file` writes it. */
  summary: string;
  error?: string;
  durationMs: number;
}

/** Runs one flow as the command line does (src/cli/main.ts `runFlowOnce`), with its log written to `out`. */
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
    return finish('succeeded', await runFlowOnce(flow, raw, { reporter, secrets, signal: options.signal, env: options.env }));
  } catch (error) {
    reporter.error((error as Error).message);
    return error instanceof FlowFailure ? finish('failed', error.outputs, error) : finish('error', {}, error);
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
