/**
 * The phase ledger: one row per attempt at a phase of a migration version, kept in the
 * database it describes (schema `progressive_delivery`), so that every run, a rollback and a
 * person with psql see the same history. Rows are never deleted; an attempt moves from
 * `running` to `succeeded`, `failed` or `rolled-back`.
 */
import type { Db } from './connection.js';

export const LEDGER_SCHEMA = 'progressive_delivery';
export const LEDGER_TABLE = `${LEDGER_SCHEMA}.migration_ledger`;

/** The phases that change the schema, in the order they must run. */
export const FORWARD_PHASES = ['expand', 'migrate', 'contract'] as const;
export type ForwardPhase = (typeof FORWARD_PHASES)[number];
/** A row's phase: a forward phase, or `rollback` (the compensating migration of one). */
export type LedgerPhase = ForwardPhase | 'rollback';
export type LedgerStatus = 'running' | 'succeeded' | 'failed' | 'rolled-back';

export interface LedgerRow {
  id: number;
  version: string;
  phase: LedgerPhase;
  status: LedgerStatus;
  /** For a `rollback` row: the forward phase it compensates. */
  compensates: ForwardPhase | null;
  runId: string;
  /** ISO 8601. */
  startedAt: string;
  finishedAt: string | null;
  message: string;
  /** The release this attempt belongs to (null on rows written before releases were recorded). */
  release: string | null;
  /** The phase's command, as given (the database URL written as `$DATABASE_URL`). */
  command: string[] | null;
  /** The rollback-command given to this phase: what compensates it later. */
  rollbackCommand: string[] | null;
  /** `sha256:<hex>` of the command and the files it names (checksum.ts). */
  checksum: string | null;
  checksumParts: { argv: string; files: Record<string, string> } | null;
  /** Whether the schema differs after the attempt from before it; null when not known (no snapshot yet, or a row from before snapshots). */
  changed: boolean | null;
}

/** A row's schema snapshots, read on their own (they can be long, and outputs carry the rows). */
export interface RowSnapshots {
  before: string[] | null;
  after: string[] | null;
}

const CREATE_STATEMENTS = [
  `CREATE SCHEMA IF NOT EXISTS ${LEDGER_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
    id bigserial PRIMARY KEY,
    version text NOT NULL,
    phase text NOT NULL CHECK (phase IN ('expand', 'migrate', 'contract', 'rollback')),
    status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'rolled-back')),
    compensates text CHECK (compensates IN ('expand', 'migrate', 'contract')),
    run_id text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    message text NOT NULL DEFAULT ''
  )`,
  `CREATE INDEX IF NOT EXISTS migration_ledger_version_idx ON ${LEDGER_TABLE} (version, id)`,
  // Added later: a ledger made by an older version gets them in place; its rows keep NULL (unknown).
  `ALTER TABLE ${LEDGER_TABLE}
     ADD COLUMN IF NOT EXISTS release text,
     ADD COLUMN IF NOT EXISTS command jsonb,
     ADD COLUMN IF NOT EXISTS rollback_command jsonb,
     ADD COLUMN IF NOT EXISTS checksum text,
     ADD COLUMN IF NOT EXISTS checksum_parts jsonb,
     ADD COLUMN IF NOT EXISTS schema_before jsonb,
     ADD COLUMN IF NOT EXISTS schema_after jsonb,
     ADD COLUMN IF NOT EXISTS changed boolean`,
  `CREATE INDEX IF NOT EXISTS migration_ledger_release_idx ON ${LEDGER_TABLE} (release, id)`,
];

/**
 * Creates the schema and table when missing, and adds the columns an older ledger lacks. Call while
 * holding the migration lock (concurrent CREATEs race).
 */
export async function ensureLedger(db: Db): Promise<void> {
  for (const statement of CREATE_STATEMENTS) await db.query(statement);
}

const BASE_COLUMNS = `id, version, phase, status, compensates, run_id, started_at, finished_at, message`;
const NEW_COLUMNS = `release, command, rollback_command, checksum, checksum_parts, changed`;

/** The row columns a ledger has: an older ledger, not yet brought up to date (no run has taken the lock since), lacks the new ones. */
async function columnsOf(db: Db): Promise<string | undefined> {
  const found = await db.query<{ ok: boolean; current: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS ok,
            EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = $2 AND table_name = 'migration_ledger' AND column_name = 'changed') AS current`,
    [LEDGER_TABLE, LEDGER_SCHEMA],
  );
  const row = found.rows[0];
  if (!row?.ok) return undefined;
  return row.current ? `${BASE_COLUMNS}, ${NEW_COLUMNS}` : BASE_COLUMNS;
}
const COLUMNS = `${BASE_COLUMNS}, ${NEW_COLUMNS}`;

/** Every row of `version` (or of all versions), oldest first; [] when the ledger does not exist yet. */
export async function readLedger(db: Db, version?: string): Promise<LedgerRow[]> {
  const columns = await columnsOf(db);
  if (!columns) return [];
  const result =
    version === undefined
      ? await db.query(`SELECT ${columns} FROM ${LEDGER_TABLE} ORDER BY id`)
      : await db.query(`SELECT ${columns} FROM ${LEDGER_TABLE} WHERE version = $1 ORDER BY id`, [version]);
  return result.rows.map(toRow);
}

/** Every row of `release`, oldest first. */
export async function readRelease(db: Db, release: string): Promise<LedgerRow[]> {
  const columns = await columnsOf(db);
  if (!columns?.includes('release')) return [];
  return (await db.query(`SELECT ${columns} FROM ${LEDGER_TABLE} WHERE release = $1 ORDER BY id`, [release])).rows.map(toRow);
}

export async function readSnapshots(db: Db, id: number): Promise<RowSnapshots> {
  const result = await db.query<{ schema_before: string[] | null; schema_after: string[] | null }>(
    `SELECT schema_before, schema_after FROM ${LEDGER_TABLE} WHERE id = $1`,
    [id],
  );
  const row = result.rows[0];
  return { before: row?.schema_before ?? null, after: row?.schema_after ?? null };
}

export interface NewEntry {
  version: string;
  phase: LedgerPhase;
  runId: string;
  compensates?: ForwardPhase;
  message?: string;
  release?: string;
  command?: readonly string[];
  rollbackCommand?: readonly string[];
  checksum?: string;
  checksumParts?: LedgerRow['checksumParts'];
  schemaBefore?: readonly string[];
}

export async function startEntry(db: Db, entry: NewEntry): Promise<LedgerRow> {
  const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));
  const result = await db.query(
    `INSERT INTO ${LEDGER_TABLE} (version, phase, status, compensates, run_id, message, release, command, rollback_command, checksum, checksum_parts, schema_before)
     VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${COLUMNS}`,
    [
      entry.version,
      entry.phase,
      entry.compensates ?? null,
      entry.runId,
      entry.message ?? '',
      entry.release ?? null,
      json(entry.command),
      json(entry.rollbackCommand),
      entry.checksum ?? null,
      json(entry.checksumParts),
      json(entry.schemaBefore),
    ],
  );
  return toRow(result.rows[0]);
}

/**
 * Moves a row to its final status: a `running` row to any; a `succeeded` or `failed` one to
 * `rolled-back` (compensated). With `after`, records the schema after the attempt and whether it changed.
 */
export async function finishEntry(
  db: Db,
  id: number,
  status: Exclude<LedgerStatus, 'running'>,
  message: string,
  after?: { schema: readonly string[]; changed: boolean },
): Promise<LedgerRow> {
  const result = await db.query(
    `UPDATE ${LEDGER_TABLE}
        SET status = $2, message = $3, finished_at = COALESCE(finished_at, clock_timestamp())
            ${after ? ', schema_after = $4, changed = $5' : ''}
      WHERE id = $1 AND (status = 'running' OR (status IN ('succeeded', 'failed') AND $2 = 'rolled-back'))
      RETURNING ${COLUMNS}`,
    after ? [id, status, message, JSON.stringify(after.schema), after.changed] : [id, status, message],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`ledger row ${id} cannot move to ${status}: it is no longer running`);
  return toRow(row);
}

/**
 * Marks `running` rows failed: those of `runId` (its run was cancelled), or, with `runId`
 * undefined, every running row of `version` (found by a run that holds the lock, so their run
 * is gone). Returns the rows it changed.
 */
export async function failRunningEntries(db: Db, filter: { version?: string; runId?: string }, message: string): Promise<LedgerRow[]> {
  const columns = await columnsOf(db);
  if (!columns) return [];
  const result = await db.query(
    `UPDATE ${LEDGER_TABLE}
        SET status = 'failed', message = $3, finished_at = clock_timestamp()
      WHERE status = 'running' AND ($1::text IS NULL OR version = $1) AND ($2::text IS NULL OR run_id = $2)
      RETURNING ${columns}`,
    [filter.version ?? null, filter.runId ?? null, message],
  );
  return result.rows.map(toRow);
}

function toRow(raw: Record<string, unknown>): LedgerRow {
  return {
    id: Number(raw.id),
    version: String(raw.version),
    phase: raw.phase as LedgerPhase,
    status: raw.status as LedgerStatus,
    compensates: (raw.compensates as ForwardPhase | null) ?? null,
    runId: String(raw.run_id),
    startedAt: (raw.started_at as Date).toISOString(),
    finishedAt: raw.finished_at ? (raw.finished_at as Date).toISOString() : null,
    message: String(raw.message),
    release: (raw.release as string | null | undefined) ?? null,
    command: (raw.command as string[] | null | undefined) ?? null,
    rollbackCommand: (raw.rollback_command as string[] | null | undefined) ?? null,
    checksum: (raw.checksum as string | null | undefined) ?? null,
    checksumParts: (raw.checksum_parts as LedgerRow['checksumParts'] | undefined) ?? null,
    changed: (raw.changed as boolean | null | undefined) ?? null,
  };
}
