/**
 * How the core speaks to a person. The action entries implement it with @actions/core,
 * the CLI with the console, and tests in memory. The core never writes to stdout itself.
 */
export interface Reporter {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Run `work` inside a collapsible group titled `title`. */
  group<T>(title: string, work: () => Promise<T>): Promise<T>;
  /** Append GitHub-flavoured Markdown to the run's job summary. */
  summary(markdown: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  level: LogLevel;
  message: string;
  /** Titles of the groups this entry was written in, outermost first. */
  groups: string[];
}

/** Keeps everything in memory: for tests, and for the CLI to write files from. */
export class MemoryReporter implements Reporter {
  readonly entries: LogEntry[] = [];
  readonly summaries: string[] = [];
  private readonly openGroups: string[] = [];

  debug(message: string): void {
    this.push('debug', message);
  }
  info(message: string): void {
    this.push('info', message);
  }
  warn(message: string): void {
    this.push('warn', message);
  }
  error(message: string): void {
    this.push('error', message);
  }
  async group<T>(title: string, work: () => Promise<T>): Promise<T> {
    this.openGroups.push(title);
    try {
      return await work();
    } finally {
      this.openGroups.pop();
    }
  }
  summary(markdown: string): void {
    this.summaries.push(markdown);
  }

  /** Every message and summary as one text, for assertions such as "no secret appears". */
  text(): string {
    return [...this.entries.map((e) => `${e.level}: ${e.message}`), ...this.summaries].join('\n');
  }

  messages(level?: LogLevel): string[] {
    return this.entries.filter((e) => level === undefined || e.level === level).map((e) => e.message);
  }

  private push(level: LogLevel, message: string): void {
    this.entries.push({ level, message, groups: [...this.openGroups] });
  }
}
