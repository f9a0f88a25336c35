/**
 * Mermaid `xychart-beta` charts, which GitHub renders in Markdown: one `bar` and/or `line`
 * series over a category x-axis and one numeric y-axis. The chart has a single y-axis, so
 * weight (0-100 %) and a metric (any scale) are drawn as two charts over the same steps.
 * Numbers are written as plain decimals: Mermaid's chart grammar has no exponent notation, which
 * JavaScript uses below 1e-6 and from 1e21 up, and one such number breaks the whole chart.
 */
import type { TimelineStep } from './event.js';

export interface XyChart {
  title: string;
  xLabels: string[];
  yTitle: string;
  yMin?: number;
  yMax?: number;
  bar?: number[];
  line?: number[];
}

export function xyChart(chart: XyChart): string {
  const lines = [
    'xychart-beta',
    `  title "${label(chart.title)}"`,
    `  x-axis [${chart.xLabels.map((x) => `"${label(x)}"`).join(', ')}]`,
    `  y-axis "${label(chart.yTitle)}"${chart.yMin !== undefined && chart.yMax !== undefined ? ` ${num(chart.yMin)} --> ${num(chart.yMax)}` : ''}`,
  ];
  if (chart.bar) lines.push(`  bar [${chart.bar.map(num).join(', ')}]`);
  if (chart.line) lines.push(`  line [${chart.line.map(num).join(', ')}]`);
  return `\`\`\`mermaid\n${lines.join('\n')}\n\`\`\``;
}

/** The first metric measured in the timeline: the one charted when none is named. */
export function firstMetric(timeline: TimelineStep[]): string | undefined {
  for (const step of timeline) {
    const name = Object.keys(step.analysis ?? {})[0];
    if (name) return name;
  }
  return undefined;
}

/**
 * Charts of a timeline: the traffic weight per step (bars, 0-100 %) and, when the steps
 * measured it, `metric` per step (a line). Steps without a weight or without the metric are
 * left out of that chart, and a chart of one point (which shows nothing) is left out.
 */
export function timelineCharts(timeline: TimelineStep[], metric = firstMetric(timeline)): string[] {
  const charts: string[] = [];
  const weighted = timeline.map((step, i) => ({ step, i })).filter(({ step }) => isFiniteNumber(step.weight));
  if (weighted.length > 1) {
    charts.push(
      xyChart({
        title: 'Traffic weight per step',
        xLabels: weighted.map(({ step, i }) => stepLabel(step, i)),
        yTitle: 'weight (%)',
        yMin: 0,
        yMax: 100,
        bar: weighted.map(({ step }) => step.weight!),
      }),
    );
  }
  if (metric) {
    const measured = timeline
      .map((step, i) => ({ step, i, value: step.analysis?.[metric] }))
      .filter((p): p is { step: TimelineStep; i: number; value: number } => isFiniteNumber(p.value));
    if (measured.length > 1) {
      const values = measured.map((p) => p.value);
      const [yMin, yMax] = paddedRange(values);
      charts.push(
        xyChart({
          title: `${metric} per step`,
          xLabels: measured.map(({ step, i }) => stepLabel(step, i)),
          yTitle: metric,
          yMin,
          yMax,
          line: values,
        }),
      );
    }
  }
  return charts;
}

function stepLabel(step: TimelineStep, index: number): string {
  return `${index + 1}. ${step.name}`;
}

/** A range a little wider than the values, so a flat line is not drawn on the chart's edge. */
function paddedRange(values: number[]): [number, number] {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const pad = max === min ? Math.abs(max) * 0.1 || 1 : (max - min) * 0.1;
  const low = min >= 0 && min - pad < 0 ? 0 : min - pad;
  return [round(low), round(max + pad)];
}

/** Text inside a quoted Mermaid string: no quotes, backticks or line breaks, and short. */
function label(text: string): string {
  const clean = text
    .replace(/["`]/g, "'")
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[<>]/g, '')
    .trim();
  return clean.length > 40 ? `${clean.slice(0, 39)}…` : clean;
}

/** `value` to 6 significant digits as a plain decimal: `0.000000123457`, never `1.23457e-7`. */
export function num(value: number): string {
  const text = String(round(value));
  const exponent = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!exponent) return text;
  const [, sign, lead, fraction = '', power] = exponent;
  const digits = lead! + fraction;
  const point = 1 + Number(power); // where the decimal point goes in `digits`
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function round(value: number): number {
  return Number.isInteger(value) ? value : +value.toPrecision(6);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
