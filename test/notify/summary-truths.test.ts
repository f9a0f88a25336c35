import { describe, expect, it } from 'vitest';
import { JobSummary } from '../../src/core/notify/job-summary.js';
import { num, timelineCharts } from '../../src/core/notify/mermaid.js';
import { MemoryReporter } from '../../src/core/reporter.js';

/** Every number a chart line holds: Mermaid's xychart grammar takes plain decimals only (no exponent). */
function chartNumbers(chart: string): string[] {
  return [...chart.matchAll(/(?:bar|line) \[([^\]]*)\]|y-axis "[^"]*" (\S+) --> (\S+)/g)].flatMap((m) =>
    m[1] !== undefined ? m[1].split(', ') : [m[2]!, m[3]!],
  );
}

describe('Mermaid numbers', () => {
  it('writes values below 1e-6 and from 1e21 up as plain decimals, to 6 significant digits', () => {
    expect(num(1.23456789e-7)).toBe('0.000000123457');
    expect(num(-2.5e-8)).toBe('-0.000000025');
    expect(num(1e21)).toBe('1000000000000000000000');
    expect(num(1.5e25)).toBe('15000000000000000000000000');
    expect(num(0.000001)).toBe('0.000001');
    expect(num(0.4)).toBe('0.4');
    expect(num(123)).toBe('123');
    expect(num(0)).toBe('0');
  });

  it('charts a metric measured in the 1e-7 range with plain numbers only', () => {
    const charts = timelineCharts([
      { name: 'canary 10%', startedAt: 't', weight: 10, analysis: { 'error-rate': 2e-7 } },
      { name: 'canary 50%', startedAt: 't', weight: 50, analysis: { 'error-rate': 3.5e-7 } },
    ]);
    expect(charts).toHaveLength(2);
    const numbers = charts.flatMap(chartNumbers);
    expect(numbers.length).toBeGreaterThan(6);
    for (const n of numbers) expect(n).toMatch(/^-?\d+(\.\d+)?$/);
    expect(charts[1]).toContain('line [0.0000002, 0.00000035]');
  });

  it('leaves out a chart with a single point', () => {
    expect(timelineCharts([{ name: 'green 100%', startedAt: 't', weight: 100, analysis: { latency: 120 } }])).toEqual([]);
    const charts = timelineCharts([
      { name: 'a', startedAt: 't', weight: 10, analysis: { latency: 120 } },
      { name: 'b', startedAt: 't', weight: 100 },
    ]);
    expect(charts).toHaveLength(1);
    expect(charts[0]).toContain('title "Traffic weight per step"');
  });
});

describe('job summary order', () => {
  it('opens with the headline even when details were written first; what is held is kept', () => {
    const reporter = new MemoryReporter();
    const summary = new JobSummary(reporter).holdUntilHeadline();
    summary.write('### Blue-green switch: rolled-back\n');
    summary.write('#### Analysis\n');
    expect(reporter.summaries).toEqual([]);
    summary.write('## ↩️ Deploy checkout\n');
    summary.write('### after\n');
    expect(reporter.summaries).toEqual([
      '## ↩️ Deploy checkout\n',
      '### Blue-green switch: rolled-back\n',
      '#### Analysis\n',
      '### after\n',
    ]);

    const headless = new MemoryReporter();
    const alone = new JobSummary(headless).holdUntilHeadline();
    alone.write('### details\n');
    alone.flush();
    expect(headless.summaries).toEqual(['### details\n']);
  });
});
