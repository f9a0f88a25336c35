/** What a rollback did, as the `actions` output and the job summary show it. */
import { describeRef } from '../kube/object-ref.js';
import { code, Markdown } from '../notify/markdown.js';
import type { PlannedUndo } from './plan.js';

/** One compensation, as the `actions` output and the summary table show it. */
export interface RollbackAction {
  /** The journal entry whose recorded `previous` was restored, or `ledger/<id>` for a migration. */
  entry: string;
  /** Every journal entry this compensation settled (marked compensated), oldest first. */
  entries: string[];
  layer: 'capacity' | 'traffic' | 'workload' | 'migration';
  /** The step that made the change, e.g. `traffic-50`, or `rollback expand`. */
  step: string;
  /** `VirtualService shop/checkout`, or `database` for a migration. */
  object: string;
  before: string;
  after: string;
}

export function actionFor(undo: PlannedUndo, before: string, after: string): RollbackAction {
  return {
    entry: undo.target.id,
    entries: [...undo.entries].reverse().map((e) => e.id),
    layer: undo.layer,
    step: undo.target.step,
    object: describeRef(undo.target.object),
    before,
    after,
  };
}

export type RollbackResult = 'rolled-back' | 'nothing-to-do' | 'failed' | 'planned';

export interface RollbackReport {
  result: RollbackResult;
  service: string;
  namespace: string;
  actions: RollbackAction[];
  /** What was undone and why nothing was, in sentences. */
  notes: string[];
  reason?: string;
  /** Nothing was recorded at all: the rollback refused (the step fails), rather than finding everything undone. */
  refused: boolean;
  /** The run whose lock was taken over with `force`. */
  tookOverFrom?: string;
}

const HEADINGS: Record<RollbackResult, string> = {
  'rolled-back': 'What the rollback undid',
  'nothing-to-do': 'Nothing left to undo',
  failed: 'What the rollback undid before it failed',
  planned: 'What the rollback would undo (dry run: nothing was changed)',
};

/** The job summary section: each compensation with before and after, in the order applied. Every cell is escaped. */
export function rollbackSummary(report: RollbackReport): string {
  const doc = new Markdown();
  doc.heading(3, `${HEADINGS[report.result]}: ${report.service} in ${report.namespace}`);
  if (report.tookOverFrom) doc.quote(`force: took the service lock over from run ${report.tookOverFrom}, which still held it.`);
  // On success the deployment summary above already shows the reason as its "Why".
  if (report.reason && (report.result === 'failed' || report.result === 'nothing-to-do')) doc.paragraph('Reason given: ', report.reason);
  if (report.actions.length > 0) {
    doc.table(
      ['#', 'Layer', 'Object', 'Step undone', 'Before', 'After', 'Journal entries'],
      report.actions.map((a, i) => [i + 1, a.layer, a.object, a.step, a.before, a.after, code(a.entries.join(', ') || a.entry)]),
    );
  }
  if (report.notes.length > 0) doc.bullets(report.notes);
  return doc.toString();
}
