/**
 * A small GitHub-flavoured Markdown builder for job summaries. Text given as a string is
 * escaped, so a service name or an error message cannot break a table or inject HTML; build
 * links and other trusted Markdown with `link()` / `raw()`.
 */

/** Markdown that is inserted as is (made by `raw()`, `link()`, `code()`). */
export class Raw {
  constructor(readonly markdown: string) {}
}

/** Markdown that is inserted as is. */
export function raw(markdown: string): Raw {
  return new Raw(markdown);
}

export type Inline = string | number | Raw;

/** [text](url), or just the text when the URL is not http(s). */
export function link(text: string, url: string | undefined): Inline {
  if (!url || !/^https?:\/\//i.test(url)) return text;
  return raw(`[${escapeText(text)}](${url.replace(/[()\s<>]/g, encodeURIComponent)})`);
}

/** Inline code: `text`, with a fence long enough for the backticks inside. */
export function code(text: string): Raw {
  const flat = text.replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return raw(`${fence}${pad}${flat}${pad}${fence}`);
}

/** Escape text for a paragraph or heading: HTML, emphasis, links, code and a leading # cannot be started from it. */
export function escapeText(text: string): string {
  return escapeInline(text).replace(/^(\s*)#/, '$1\\#');
}

/** Escape text for a table cell: HTML, emphasis, links, code and `|`; a newline becomes <br> so the row holds. */
export function escapeCell(text: string): string {
  return escapeInline(text).replace(/\r?\n/g, '<br>');
}

function escapeInline(text: string): string {
  return text
    .replace(/([\\*_[\]~|])/g, '\\$1')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/`/g, '&#96;');
}

function inline(value: Inline, escapeAs: (text: string) => string): string {
  if (value instanceof Raw) return value.markdown;
  return escapeAs(String(value));
}

export class Markdown {
  private readonly parts: string[] = [];

  heading(level: 1 | 2 | 3 | 4, text: Inline): this {
    return this.push(`${'#'.repeat(level)} ${inline(text, (t) => escapeText(t.replace(/\s+/g, ' ')))}`);
  }

  paragraph(...pieces: Inline[]): this {
    return this.push(pieces.map((p) => inline(p, escapeText)).join(''));
  }

  /** A quoted note, e.g. why a deployment failed. */
  quote(...pieces: Inline[]): this {
    const text = pieces.map((p) => inline(p, escapeText)).join('');
    return this.push(
      text
        .split('\n')
        .map((line) => `> ${line}`)
        .join('\n'),
    );
  }

  bullets(items: Inline[]): this {
    return this.push(items.map((item) => `- ${inline(item, (t) => escapeCell(t))}`).join('\n'));
  }

  table(headers: Inline[], rows: Inline[][]): this {
    const cell = (value: Inline) => inline(value, escapeCell) || ' ';
    const lines = [
      `| ${headers.map(cell).join(' | ')} |`,
      `| ${headers.map(() => '---').join(' | ')} |`,
      ...rows.map((row) => `| ${headers.map((_, i) => cell(row[i] ?? '')).join(' | ')} |`),
    ];
    return this.push(lines.join('\n'));
  }

  /** A fenced block; the fence is longer than any backtick run inside. */
  codeBlock(language: string, body: string): this {
    const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
    const fence = '`'.repeat(longest + 1);
    return this.push(`${fence}${language}\n${body.replace(/\n$/, '')}\n${fence}`);
  }

  /** Collapsed by default; the inner Markdown is trusted. */
  details(summary: string, inner: Markdown | Raw): this {
    const body = inner instanceof Raw ? inner.markdown : inner.toString();
    return this.push(`<details><summary>${escapeText(summary)}</summary>\n\n${body}\n\n</details>`);
  }

  raw(markdown: string): this {
    return this.push(markdown);
  }

  toString(): string {
    return this.parts.length === 0 ? '' : `${this.parts.join('\n\n')}\n`;
  }

  private push(block: string): this {
    this.parts.push(block);
    return this;
  }
}
