import type { Db } from './connection.js';

/**
 * The phase ledger: one row per attempt at a phase of a migration version, kept in the
 * database it describes (schema `progressive_delivery`), so that every run, a rollback and a
 * person with psql see the same history. Rows are never deleted; an attempt moves from
 * `running` to `succeeded`, `failed` or `rolled-back`.
 */
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
];

/** Creates the schema and table when missing. Call while holding the migration lock (concurrent CREATEs race). */
export async function ensureLedger(db: Db): Promise<void> {
  for (const statement of CREATE_STATEMENTS) await db.query(statement);
}

const COLUMNS = `id, version, phase, status, compensates, run_id, started_at, finished_at, message`;

/** Every row of `version` (or of all versions), oldest first; [] when the ledger does not exist yet. */
export async function readLedger(db: Db, version?: string): Promise<LedgerRow[]> {
  const exists = await db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [LEDGER_TABLE]);
  if (!exists.rows[0]?.ok) return [];
  const result =
    version === undefined
      ? await db.query(`SELECT ${COLUMNS} FROM ${LEDGER_TABLE} ORDER BY id`)
      : await db.query(`SELECT ${COLUMNS} FROM ${LEDGER_TABLE} WHERE version = $1 ORDER BY id`, [version]);
  return result.rows.map(toRow);
}

export async function startEntry(
  db: Db,
  entry: { version: string; phase: LedgerPhase; runId: string; compensates?: ForwardPhase; message?: string },
): Promise<LedgerRow> {
  const result = await db.query(
    `INSERT INTO ${LEDGER_TABLE} (version, phase, status, compensates, run_id, message)
     VALUES ($1, $2, 'running', $3, $4, $5) RETURNING ${COLUMNS}`,
    [entry.version, entry.phase, entry.compensates ?? null, entry.runId, entry.message ?? ''],
  );
  return toRow(result.rows[0]);
}

/** Moves a row to its final status: a `running` row to any; a `succeeded` or `failed` one to `rolled-back` (compensated). */
export async function finishEntry(db: Db, id: number, status: Exclude<LedgerStatus, 'running'>, message: string): Promise<LedgerRow> {
  const result = await db.query(
    `UPDATE ${LEDGER_TABLE}
        SET status = $2, message = $3, finished_at = COALESCE(finished_at, clock_timestamp())
      WHERE id = $1 AND (status = 'running' OR (status IN ('succeeded', 'failed') AND $2 = 'rolled-back'))
      RETURNING ${COLUMNS}`,
    [id, status, message],
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
export async function failRunningEntries(
  db: Db,
  filter: { version?: string; runId?: string },
  message: string,
): Promise<LedgerRow[]> {
  const exists = await db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [LEDGER_TABLE]);
  if (!exists.rows[0]?.ok) return [];
  const result = await db.query(
    `UPDATE ${LEDGER_TABLE}
        SET status = 'failed', message = $3, finished_at = clock_timestamp()
      WHERE status = 'running' AND ($1::text IS NULL OR version = $1) AND ($2::text IS NULL OR run_id = $2)
      RETURNING ${COLUMNS}`,
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
  };
}
