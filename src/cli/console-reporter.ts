/**
 * The command line's Reporter: progress on stderr, secrets redacted, job summaries kept for the
 * end.
 */
import type { Reporter } from '../core/reporter.js';
import type { Secrets } from '../core/secrets.js';

/** Progress on stderr, as a person at a terminal or another CI system reads it; summaries kept for the end. */
export class ConsoleReporter implements Reporter {
  readonly summaries: string[] = [];
  private depth = 0;

  constructor(
    private readonly secrets: Secrets,
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly verbose = false,
  ) {}

  debug(message: string): void {
    if (this.verbose) this.write('debug', message);
  }
  info(message: string): void {
    this.write('', message);
  }
  warn(message: string): void {
    this.write('warning', message);
  }
  error(message: string): void {
    this.write('error', message);
  }
  async group<T>(title: string, work: () => Promise<T>): Promise<T> {
    this.write('', `▶ ${title}`);
    this.depth++;
    try {
      return await work();
    } finally {
      this.depth--;
    }
  }
  summary(markdown: string): void {
    this.summaries.push(this.secrets.redact(markdown));
  }

  private write(level: string, message: string): void {
    const indent = '  '.repeat(this.depth);
    const prefix = level ? `${level}: ` : '';
    for (const line of this.secrets.redact(message).split('\n')) this.out.write(`${indent}${prefix}${line}\n`);
  }
}
