/**
 * The rolling part of the job summary, beside the deployment summary (steps and timing): the
 * Deployment and container, the image and revision before and after, each analysis, and how to
 * roll back.
 */
import type { AnalysisResult } from '../metrics/result.js';
import { renderSummary } from '../metrics/summary.js';
import { code, Markdown } from '../notify/markdown.js';
import { rollbackStepYaml } from '../notify/rollback-step.js';

export interface RolloutReport {
  service: string;
  namespace: string;
  /** `Deployment shop/checkout`. */
  deployment: string;
  container?: string;
  result: string;
  before?: { image: string; revision?: number };
  after?: { image: string; revision?: number };
  /** The image the run was asked to roll out. */
  image: string;
  analyses: { title: string; result: AnalysisResult }[];
  dryRun: boolean;
  /** `owner/repo/actions/rollback@ref` of this release, when known. */
  rollbackAction: string;
}

export function rollingSummary(report: RolloutReport): string {
  const doc = new Markdown();
  doc.heading(3, `Rolling update: ${report.result}`);
  const rows: [string, string | ReturnType<typeof code>][] = [['Deployment', report.deployment]];
  if (report.container) rows.push(['Container', report.container]);
  const revision = (r?: number) => (r === undefined ? '' : ` (revision ${r})`);
  if (report.before) rows.push(['Before', code(`${report.before.image}${revision(report.before.revision)}`)]);
  if (report.after)
    rows.push([report.dryRun ? 'After (planned)' : 'After', code(`${report.after.image}${revision(report.after.revision)}`)]);
  else rows.push(['Image', code(report.image)]);
  doc.table(['', ''], rows);
  for (const analysis of report.analyses) doc.raw(renderSummary(analysis.result, analysis.title));
  if (report.result === 'rolled-out' && report.before && report.before.image !== report.after?.image) {
    doc.heading(4, 'How to roll back');
    doc.paragraph(
      `Run the rollback action with the same service: it puts ${report.before.image} back from what this run recorded in ConfigMap pd-state-${report.service}, and waits for its rollout:`,
    );
    doc.codeBlock(
      'yaml',
      rollbackStepYaml({ action: report.rollbackAction, namespace: report.namespace, service: report.service, mode: 'auto' }),
    );
  }
  return doc.toString();
}
