import { describe, expect, it } from 'vitest';
import { deploymentSummary } from '../../src/core/notify/deployment-summary.js';
import { fitMarkdown, JobSummary, SUMMARY_LIMIT_BYTES } from '../../src/core/notify/job-summary.js';
import { code, escapeCell, link, Markdown } from '../../src/core/notify/markdown.js';
import { timelineCharts, xyChart } from '../../src/core/notify/mermaid.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { canaryEvent } from './fakes.js';

describe('Markdown builder', () => {
  it('escapes |, <, >, &, backticks and newlines in table cells', () => {
    expect(escapeCell('a|b <script>&`x`\nnext')).toBe('a\\|b &lt;script&gt;&amp;&#96;x&#96;<br>next');
    const table = new Markdown().table(['Name', 'Value'], [['p95 | ms', '<b>250</b>\n`fast`']]).toString();
    expect(table).toBe('| Name | Value |\n| --- | --- |\n| p95 \\| ms | &lt;b&gt;250&lt;/b&gt;<br>&#96;fast&#96; |\n');
  });

  it('keeps emphasis, links and headings from being started by text', () => {
    expect(new Markdown().heading(2, '# not *bold* [x](y)').toString()).toBe('## \\# not \\*bold\\* \\[x\\](y)\n');
  });

  it('builds links only for http(s) URLs and code spans that hold backticks', () => {
    expect(new Markdown().paragraph(link('run', 'https://x.example/a b'), ' ', link('bad', 'javascript:1')).toString()).toBe(
      '[run](https://x.example/a%20b) bad\n',
    );
    expect(code('a `b` c').markdown).toBe('``a `b` c``');
  });

  it('fences code blocks longer than any backtick run inside', () => {
    expect(new Markdown().codeBlock('text', 'x ``` y').toString()).toBe('````text\nx ``` y\n````\n');
  });
});

describe('Mermaid charts', () => {
  it('draws weight bars and the analysed metric as a line over the steps', () => {
    const charts = timelineCharts(canaryEvent().timeline, 'error-rate');
    expect(charts).toEqual([
      '```mermaid\nxychart-beta\n  title "Traffic weight per step"\n  x-axis ["1. canary 10%", "2. canary 25%"]\n  y-axis "weight (%)" 0 --> 100\n  bar [10, 25]\n```',
      '```mermaid\nxychart-beta\n  title "error-rate per step"\n  x-axis ["1. canary 10%", "2. canary 25%"]\n  y-axis "error-rate" 0.38 --> 0.62\n  line [0.4, 0.6]\n```',
    ]);
  });

  it('charts the first metric measured when none is named, and skips steps that lack it', () => {
    const charts = timelineCharts([
      { name: 'a', startedAt: 't', weight: 5 },
      { name: 'b', startedAt: 't', weight: 50, analysis: { latency: 120 } },
      { name: 'c', startedAt: 't', analysis: { latency: 120 } },
    ]);
    expect(charts[1]).toContain('x-axis ["2. b", "3. c"]');
    expect(charts[1]).toContain('y-axis "latency" 108 --> 132');
    expect(charts[0]).toContain('x-axis ["1. a", "2. b"]');
  });

  it('keeps quotes, backticks and newlines out of labels', () => {
    const chart = xyChart({ title: 'a "quoted" `x`\nnew', xLabels: ['s"1'], yTitle: 'y', bar: [1] });
    expect(chart).toContain(`title "a 'quoted' 'x' new"`);
    expect(chart).toContain(`x-axis ["s'1"]`);
    expect(chart.match(/```/g)).toHaveLength(2);
  });

  it('draws nothing for an empty timeline', () => {
    expect(timelineCharts([])).toEqual([]);
  });
});

describe('deployment summary', () => {
  it('has the facts, the reason, the steps with their metrics and the charts', () => {
    const md = deploymentSummary(canaryEvent({ outcome: 'failed', result: 'aborted', reason: 'error-rate > 1%' }));
    expect(md.startsWith('## ❌ Deploy checkout 1.25.0 to production\n\n> **Why:** error-rate &gt; 1%\n')).toBe(true);
    expect(md).toContain('| Result | Failed (aborted) |');
    expect(md).toContain('| Environment | [production](https://shop.example.com) |');
    expect(md).toContain('| Image | `registry.example.com/checkout:1.25.0` |');
    expect(md).toContain('| Run | [workflow run](https://github.com/acme/shop/actions/runs/8812) |');
    expect(md).toContain('| # | Step | Weight | Started | Held | error-rate | p95-ms | Verdict |');
    expect(md).toContain('| 2 | canary 25% | 25% | 2026-11-23T10:01:05.000Z | 2m 00s | 0.6 | 190 | passed |');
    expect(md.match(/```mermaid\nxychart-beta/g)).toHaveLength(2);
  });
});

describe('job summary limit', () => {
  it('cuts at a line, never inside a fenced block, and says so', () => {
    const md = `# Title\n\nline one\n\n\`\`\`mermaid\nxychart-beta\n${'  bar [1, 2]\n'.repeat(40)}\`\`\`\n\nafter\n`;
    const fitted = fitMarkdown(md, 300);
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(300);
    expect(fitted.startsWith('# Title\n\nline one\n\n')).toBe(true);
    expect(fitted).not.toContain('xychart-beta');
    expect(fitted).toContain("This summary was cut here to stay within GitHub's job summary limit");
    expect(fitMarkdown('short', 300)).toBe('short');
  });

  it('keeps several writes together under 1 MiB, counting UTF-8 bytes', () => {
    const reporter = new MemoryReporter();
    const summary = new JobSummary(reporter);
    const row = `| ✅ step | ${'é'.repeat(100)} |\n`;
    summary.write(row.repeat(3000));
    summary.write(row.repeat(3000));
    summary.write('after the limit');
    const total = reporter.summaries.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
    expect(total).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(total).toBeGreaterThan(SUMMARY_LIMIT_BYTES - 1024);
    expect(reporter.summaries).toHaveLength(2);
    expect(reporter.summaries[1]!.endsWith('the full record is in the step log.\n')).toBe(true);
    expect(reporter.summaries.join('')).not.toContain('after the limit');
    expect(reporter.messages('warn')).toEqual(["The job summary reached GitHub's limit of 1 MiB: the rest is only in this log."]);
  });
});
