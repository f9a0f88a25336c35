/** The ledger as a GitHub-flavoured Markdown table; every cell escaped so no value can break the table or inject HTML. */
import type { LedgerRow } from './ledger.js';

export function ledgerTable(rows: readonly LedgerRow[]): string {
  if (rows.length === 0) return '_The ledger has no rows for this version._';
  const header = ['#', 'version', 'phase', 'status', 'run', 'release', 'schema', 'started', 'finished', 'message'];
  const lines = [row(header), row(header.map(() => '---'))];
  for (const r of rows) {
    const phase = r.compensates ? `rollback of ${r.compensates}` : r.phase;
    const schema = r.changed === null ? '' : r.changed ? 'changed' : 'unchanged';
    lines.push(
      row([String(r.id), r.version, phase, r.status, r.runId, r.release ?? '', schema, r.startedAt, r.finishedAt ?? '', r.message]),
    );
  }
  return lines.join('\n');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(escapeCell).join(' | ')} |`;
}

export function escapeCell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/`/g, '\\`')
    .replace(/\r?\n/g, '<br>');
}
