/**
 * Blue-green's job summary: before and after, the deployed image, each analysis, and how to switch
 * back.
 */
import { describeRef } from '../kube/object-ref.js';
import type { Weights } from '../kube/weights.js';
import type { AnalysisResult } from '../metrics/result.js';
import { renderSummary } from '../metrics/summary.js';
import { code, Markdown } from '../notify/markdown.js';
import { rollbackStepYaml } from '../notify/rollback-step.js';
import { describeColorWeights, type Color, type Colors } from './colors.js';

export interface SwitchReport {
  service: string;
  namespace: string;
  routed: string;
  colors: Colors;
  before: { color?: Color; weights: Weights };
  after?: { color?: Color; weights: Weights };
  target?: Color;
  image?: string;
  result: string;
  analyses: { title: string; result: AnalysisResult }[];
  dryRun: boolean;
  /** The new color had 0 replicas (an earlier switch scaled it down): scaled up to this many before any traffic. */
  scaledUp?: number;
  /** The old color was scaled to zero after the switch. */
  scaledDown?: boolean;
  /** `owner/repo/actions/rollback@ref` of this release, when known. */
  rollbackAction: string;
}

/**
 * The blue-green part of the job summary, beside the deployment summary (steps and timing):
 * the colors before and after, the image, every analysis table, and how to switch back.
 */
export function switchSummary(report: SwitchReport): string {
  const doc = new Markdown();
  const { destination } = report.colors;
  doc.heading(3, `Blue-green switch: ${report.result}`);
  const rows: [string, string | ReturnType<typeof code>][] = [
    ['Router', report.routed],
    ['Before', `${report.before.color ?? 'split'} (${describeColorWeights(report.before.weights, destination)})`],
  ];
  if (report.after)
    rows.push([
      report.dryRun ? 'After (planned)' : 'After',
      `${report.after.color ?? 'split'} (${describeColorWeights(report.after.weights, destination)})`,
    ]);
  if (report.target) {
    const workload = report.colors.workload[report.target];
    rows.push(['New color', `${report.target}: ${describeRef({ kind: 'Deployment', ...workload })}`]);
    if (report.scaledUp) rows.push(['Scaled up', `${report.target}: 0 → ${report.scaledUp} replicas, ready before any traffic`]);
  }
  if (report.image) rows.push(['Image', code(report.image)]);
  doc.table(['', ''], rows);
  for (const analysis of report.analyses) doc.raw(renderSummary(analysis.result, analysis.title));
  const active = report.after?.color ?? report.before.color;
  if (!report.dryRun && active && report.before.color && active !== report.before.color) {
    doc.heading(4, 'How to roll back');
    const old = report.scaledDown
      ? `The ${report.before.color} color was scaled to zero: undoing everything this run recorded, newest first, scales it up again and then moves traffic back.`
      : `The ${report.before.color} color is kept warm, so switching back is one write.`;
    doc.paragraph(
      `${old} Run the rollback action with the same service (it undoes what this run recorded in ConfigMap pd-state-${report.service}, newest first):`,
    );
    doc.codeBlock(
      'yaml',
      rollbackStepYaml({
        action: report.rollbackAction,
        namespace: report.namespace,
        service: report.service,
        mode: report.scaledDown ? 'all' : 'traffic',
      }),
    );
  }
  return doc.toString();
}
