/**
 * GitHub keeps at most 1 MiB of job summary per step and rejects the rest. Every action writes
 * its summary through one JobSummary, which counts what it wrote and cuts the last piece to
 * fit, with a note saying so, rather than losing the whole summary.
 */
import type { Reporter } from '../reporter.js';
import { utf8Bytes, utf8Prefix } from './text.js';

export const SUMMARY_LIMIT_BYTES = 1024 * 1024;

const TRUNCATION_NOTE =
  "\n> [!NOTE]\n> This summary was cut here to stay within GitHub's job summary limit (1 MiB per step); the full record is in the step log.\n";

export class JobSummary {
  private written = 0;
  private full = false;
  private held: string[] | undefined;

  constructor(
    private readonly reporter: Pick<Reporter, 'summary' | 'warn'>,
    private readonly limitBytes = SUMMARY_LIMIT_BYTES,
  ) {}

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /**
   * From now on, pieces written before the headline (a piece opening with a `## ` heading) wait
   * for it, so the summary opens with its headline, whatever part of the run wrote first.
   */
  holdUntilHeadline(): this {
    this.held = [];
    return this;
  }

  write(markdown: string): void {
    if (!this.held) {
      this.append(markdown);
      return;
    }
    if (!markdown.startsWith('## ')) {
      this.held.push(markdown);
      return;
    }
    this.held.unshift(markdown);
    this.flush();
  }

  /** Writes what is still held (when no headline came). */
  flush(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const piece of held) this.append(piece);
  }

  private append(markdown: string): void {
    if (this.full) return;
    const room = this.limitBytes - this.written;
    const fitted = fitMarkdown(markdown, room);
    if (fitted !== markdown) {
      this.full = true;
      this.reporter.warn(`The job summary reached GitHub's limit of ${formatKiB(this.limitBytes)}: the rest is only in this log.`);
    }
    if (fitted === '') return;
    this.reporter.summary(fitted);
    this.written += utf8Bytes(fitted);
  }
}

/**
 * `markdown` when it fits in `maxBytes` (UTF-8); else its longest whole-line prefix that does,
 * never ending inside a fenced block (a half chart does not render), followed by a note.
 * Empty when not even the note fits.
 */
export function fitMarkdown(markdown: string, maxBytes: number): string {
  if (utf8Bytes(markdown) <= maxBytes) return markdown;
  const note = TRUNCATION_NOTE;
  const room = maxBytes - utf8Bytes(note);
  if (room <= 0) return '';
  let kept = utf8Prefix(markdown, room);
  const lastNewline = kept.lastIndexOf('\n');
  kept = lastNewline >= 0 ? kept.slice(0, lastNewline + 1) : '';
  kept = kept.slice(0, openFenceStart(kept));
  return kept + note;
}

/** Where an unclosed ``` or ~~~ fence starts in `text`, or text.length when every fence is closed. */
function openFenceStart(text: string): number {
  let open: { marker: string; at: number } | undefined;
  let offset = 0;
  for (const line of text.split('\n')) {
    const fence = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (!open) open = { marker: fence, at: offset };
      else if (fence[0] === open.marker[0] && fence.length >= open.marker.length && line.trim() === fence) open = undefined;
    }
    offset += line.length + 1;
  }
  return open ? open.at : text.length;
}

function formatKiB(bytes: number): string {
  return bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${Math.floor(bytes / 1024)} KiB`;
}
