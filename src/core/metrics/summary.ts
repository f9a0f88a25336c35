/**
 * The job summary of an analysis: the verdict and why, then per metric its query, each measured
 * value against its condition, and the metric's verdict. Everything that came from outside
 * (queries, values, messages) is escaped, so no Markdown or HTML in it can change the page.
 */
import { fmt } from './judge.js';
import type { AnalysisPhase, AnalysisResult, Judgement, MetricResult } from './result.js';

const ICON: Record<AnalysisPhase, string> = { Successful: '✅', Failed: '❌', Inconclusive: '⚠️', Error: '🛑' };
const MAX_ROWS = 50;

export function renderSummary(result: AnalysisResult, title = 'Metric analysis'): string {
  const lines = [
    `### ${ICON[result.phase]} ${escapeMarkdown(title)}: ${result.phase}`,
    '',
    escapeMarkdown(result.message),
    '',
    ...(result.stopped ? [`Stopped before every metric finished: ${escapeMarkdown(result.stopped)}.`, ''] : []),
    `<sub>${escapeMarkdown(result.startedAt)} → ${escapeMarkdown(result.finishedAt)}</sub>`,
    '',
  ];
  for (const metric of result.metrics) lines.push(...renderMetric(metric), '');
  return lines.join('\n');
}

function renderMetric(metric: MetricResult): string[] {
  const lines = [
    `#### ${ICON[metric.phase]} ${escapeMarkdown(metric.name)}: ${metric.phase}${metric.dryRun ? ' (dry run, does not count)' : ''}`,
    '',
    escapeMarkdown(metric.message),
    '',
  ];
  if (metric.provider !== 'judge') {
    lines.push(`${metric.provider === 'web' ? 'Request' : 'Query'}: <code>${escapeMarkdown(metric.query)}</code>`, '');
    const conditions = [
      metric.successCondition && `success when <code>${escapeMarkdown(metric.successCondition)}</code>`,
      metric.failureCondition && `failure when <code>${escapeMarkdown(metric.failureCondition)}</code>`,
    ].filter(Boolean);
    lines.push(`Condition: ${conditions.length > 0 ? conditions.join(', ') : 'none (any value that can be measured passes)'}`, '');
  }
  if (metric.planned !== undefined && metric.count < metric.planned)
    lines.push(`Measured ${metric.count} of ${metric.planned} planned (errors not counted: ${metric.error}).`, '');
  const shown = metric.measurements.slice(-MAX_ROWS);
  if (shown.length < metric.measurements.length) lines.push(`Last ${shown.length} of ${metric.measurements.length} measurements:`, '');
  lines.push('| # | Time (UTC) | Value | Result | Why |', '| ---: | --- | --- | --- | --- |');
  const offset = metric.measurements.length - shown.length;
  shown.forEach((m, i) => {
    lines.push(
      `| ${offset + i + 1} | ${escapeMarkdown(m.startedAt.slice(11, 19))} | ${escapeMarkdown(m.value ?? '–')} | ${ICON[m.phase]} ${m.phase} | ${escapeMarkdown(m.message ?? '')} |`,
    );
  });
  if (metric.measurements.length === 0) lines.push('| – | – | – | – | no measurement was taken |');
  const judgement = metric.measurements.at(-1)?.judgement;
  if (judgement) lines.push('', ...renderJudgement(judgement));
  return lines;
}

function renderJudgement(j: Judgement): string[] {
  const lines = [
    `Canary against baseline over ${escapeMarkdown(j.windowStart.slice(11, 19))}–${escapeMarkdown(j.windowEnd.slice(11, 19))}: ${escapeMarkdown(j.reason)}`,
    '',
    '| Metric | Baseline median | Canary median | Mean ratio | Shift (Hodges–Lehmann) [interval, its confidence] | Classification | Weight |',
    '| --- | ---: | ---: | ---: | --- | --- | ---: |',
  ];
  for (const m of j.metrics) {
    const interval =
      m.lower === undefined || m.upper === undefined
        ? 'no interval'
        : `${fmt(m.lower)}, ${fmt(m.upper)}, ${fmt(Math.round((m.confidence ?? Number.NaN) * 1000) / 10)}%`;
    const shift = m.estimate === undefined ? '–' : `${fmt(m.estimate)} [${interval}]`;
    const label = `${m.classification === 'Pass' ? '✅' : m.classification === 'NoData' || m.classification === 'Insufficient' ? '⚠️' : '❌'} ${m.classification}${m.critical ? ' (critical)' : ''}`;
    lines.push(
      `| ${escapeMarkdown(m.name)} (${escapeMarkdown(m.samples)} samples) | ${escapeMarkdown(fmt(m.baseline.median))} (n=${m.baseline.count}) | ${escapeMarkdown(fmt(m.canary.median))} (n=${m.canary.count}) | ${escapeMarkdown(fmt(m.effectSize))} | ${escapeMarkdown(shift)} | ${label} | ${m.weight} |`,
    );
  }
  return lines;
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '|': '&#124;',
  '\\': '&#92;',
  '`': '&#96;',
  '*': '&#42;',
  _: '&#95;',
  '[': '&#91;',
  ']': '&#93;',
  '~': '&#126;',
  '#': '&#35;',
  '!': '&#33;',
  $: '&#36;',
};

/**
 * Text for Markdown/HTML: every character that means something to either becomes an entity,
 * line breaks become spaces (a table row is one line).
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/\r?\n|\r/g, ' ').replace(/[&<>"'|\\`*_[\]~#!$]/g, (ch) => ENTITIES[ch]!);
}
