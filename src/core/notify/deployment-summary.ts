/**
 * The job summary of a deployment: what, where, the result and why, every step with its
 * measurements, and charts of the weight and one analysed metric over the steps.
 */
import { describeResult, describeTraffic, eventTitle, formatElapsed, type DeploymentEvent, type Outcome } from './event.js';
import { code, escapeText, link, Markdown, raw, type Inline } from './markdown.js';
import { timelineCharts } from './mermaid.js';

const OUTCOME_ICON: Record<Outcome, string> = {
  running: '🔄',
  succeeded: '✅',
  paused: '⏸️',
  failed: '❌',
  'rolled-back': '↩️',
  cancelled: '🚫',
  planned: '📝',
};

export interface SummaryOptions {
  /** The metric charted beside the weight. Default: the first one measured. */
  metric?: string;
}

export function deploymentSummary(event: DeploymentEvent, options: SummaryOptions = {}): string {
  const doc = new Markdown();
  doc.heading(2, raw(`${OUTCOME_ICON[event.outcome]} ${escapeText(eventTitle(event))}`));
  if (event.reason) doc.quote(raw('**Why:** '), event.reason);

  const rows: [string, Inline | undefined][] = [
    ['Result', describeResult(event)],
    ['Service', event.service],
    ['Namespace', event.namespace],
    ['Environment', event.environment ? link(event.environment, event.environmentUrl) : undefined],
    ['Version', event.version],
    ['Image', event.image ? code(event.image) : undefined],
    ['Strategy', event.strategy],
    [event.color && event.weight === undefined ? 'Color' : 'Weight', describeTraffic(event)],
    ['Phase', event.phase],
    ['Duration', event.durationMs === undefined ? undefined : formatElapsed(event.durationMs)],
    ['Started', event.startedAt],
    ['Started by', event.actor],
    ['Run', event.runUrl ? link('workflow run', event.runUrl) : undefined],
  ];
  doc.table(
    ['', ''],
    rows.filter((row): row is [string, Inline] => row[1] !== undefined && row[1] !== ''),
  );

  if (event.timeline.length > 0) {
    const metrics = [...new Set(event.timeline.flatMap((step) => Object.keys(step.analysis ?? {})))];
    doc.heading(3, 'Steps');
    doc.table(
      ['#', 'Step', 'Weight', 'Started', 'Held', ...metrics, 'Verdict'],
      event.timeline.map((step, i) => [
        i + 1,
        step.name,
        step.weight === undefined ? '' : `${step.weight}%`,
        step.startedAt,
        step.heldMs === undefined ? '' : formatElapsed(step.heldMs),
        ...metrics.map((name) => (step.analysis?.[name] === undefined ? '' : String(step.analysis[name]))),
        step.verdict ?? '',
      ]),
    );
    for (const chart of timelineCharts(event.timeline, options.metric)) doc.raw(chart);
  }
  return doc.toString();
}
