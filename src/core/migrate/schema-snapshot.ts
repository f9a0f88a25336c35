/**
 * A compact picture of the schema a migration may touch, read from the catalog: every table,
 * view and materialized view of the database's own schemas (not `progressive_delivery`, not the
 * system schemas), their columns with type and nullability, indexes, constraints and triggers,
 * and the schemas' functions. One sorted line per object, so two snapshots compare as sets and
 * a difference lists itself. It says nothing about data: a dropped column re-added is the same
 * line, with every value gone. Data is what `verify-command` is for.
 */
import type { Db } from './connection.js';
import { LEDGER_SCHEMA } from './ledger.js';

export type SchemaSnapshot = string[];

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', '${LEDGER_SCHEMA}')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

const SNAPSHOT_QUERY = `
SELECT 'table ' || n.nspname || '.' || c.relname || CASE c.relkind WHEN 'v' THEN ' (view)' WHEN 'm' THEN ' (materialized view)' ELSE '' END AS line
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${USER_SCHEMAS}
UNION ALL
SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped AND ${USER_SCHEMAS}
UNION ALL
SELECT 'index ' || n.nspname || '.' || i.relname || ': ' || pg_get_indexdef(i.oid)
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
 WHERE ${USER_SCHEMAS}
UNION ALL
SELECT 'constraint ' || n.nspname || '.' || c.relname || '.' || k.conname || ': ' || pg_get_constraintdef(k.oid)
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE ${USER_SCHEMAS}
UNION ALL
SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || t.tgname || ': ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND ${USER_SCHEMAS}
UNION ALL
SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  LEFT JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.objid IS NULL AND ${USER_SCHEMAS}`;

export async function takeSnapshot(db: Db): Promise<SchemaSnapshot> {
  const result = await db.query<{ line: string }>(SNAPSHOT_QUERY);
  return [...new Set(result.rows.map((r) => r.line))].sort();
}

export interface SchemaDifference {
  /** In the second snapshot only. */
  added: string[];
  /** In the first snapshot only. */
  removed: string[];
}

export function diffSnapshots(from: SchemaSnapshot, to: SchemaSnapshot): SchemaDifference {
  const a = new Set(from);
  const b = new Set(to);
  return { added: to.filter((line) => !a.has(line)), removed: from.filter((line) => !b.has(line)) };
}

export function isSame(difference: SchemaDifference): boolean {
  return difference.added.length === 0 && difference.removed.length === 0;
}

/** "added: …; removed: …", at most `limit` objects each (then "and N more"). */
export function describeDifference(difference: SchemaDifference, limit = 10): string {
  const list = (lines: string[]) => lines.slice(0, limit).join(', ') + (lines.length > limit ? ` and ${lines.length - limit} more` : '');
  const parts: string[] = [];
  if (difference.added.length) parts.push(`added: ${list(difference.added)}`);
  if (difference.removed.length) parts.push(`removed: ${list(difference.removed)}`);
  return parts.join('; ') || 'no difference';
}

/** The name a line describes, without its definition: `column s.t.c`, `index s.i`, `table s.t`. */
function objectKey(line: string): string {
  if (line.startsWith('column ')) return line.split(' ').slice(0, 2).join(' ');
  const colon = line.indexOf(': ');
  return colon === -1 ? line : line.slice(0, colon);
}

/** What a phase dropped (objects gone by name) and what it altered (same name, other definition), from its two snapshots. */
export function droppedAndAltered(before: SchemaSnapshot, after: SchemaSnapshot): { dropped: string[]; altered: string[] } {
  const keys = new Set(after.map(objectKey));
  const removed = diffSnapshots(before, after).removed;
  return { dropped: removed.filter((l) => !keys.has(objectKey(l))), altered: removed.filter((l) => keys.has(objectKey(l))) };
}
