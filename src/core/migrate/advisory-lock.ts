/**
 * One migration at a time per database: a session-level PostgreSQL advisory lock, keyed from a
 * fixed namespace and the database's name, held on a dedicated connection for the whole phase.
 * It is released by `release()`, and by PostgreSQL when the connection ends, so a run that
 * crashes or is cancelled cannot leave it behind.
 */
import { formatDuration } from '../config/primitives.js';
import { sleepMs } from '../retry.js';
import type { Db } from './connection.js';

/** First key: the namespace of this tool's locks ("PDMG"), so other advisory lock users do not collide. */
export const LOCK_NAMESPACE = 0x5044_4d47;

/** Second key: 28 bits of md5(current_database()), positive so it compares as-is with pg_locks.objid. */
const DATABASE_KEY_SQL = `('x' || substr(md5(current_database()), 1, 7))::bit(28)::int`;

export interface LockHolder {
  pid: number;
  user: string;
  applicationName: string;
  /** When the holder's connection opened: the lock is taken right after. ISO 8601. */
  since: string;
  state: string;
}

export interface AcquireOptions {
  timeoutMs: number;
  /** How often to try again. Default 1 s. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Told once, when the lock is busy at the first try. */
  onWait?: (holder: LockHolder | undefined) => void;
}

export interface HeldLock {
  release(): Promise<void>;
}

export class MigrationLockTimeoutError extends Error {
  override readonly name = 'MigrationLockTimeoutError';
  constructor(
    readonly holder: LockHolder | undefined,
    readonly waitedMs: number,
  ) {
    super(
      `another migration holds the migration lock of this database after waiting ${formatDuration(waitedMs)}: ${describeHolder(holder)}`,
    );
  }
}

export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'its holder ended just now (try again)';
  return `pid ${holder.pid}, user ${holder.user}, application_name "${holder.applicationName}", connected since ${holder.since} (${holder.state})`;
}

/** Polls pg_try_advisory_lock until it is ours or `timeoutMs` has passed (then throws MigrationLockTimeoutError). */
export async function acquireMigrationLock(db: Db, options: AcquireOptions): Promise<HeldLock> {
  const pollMs = options.pollMs ?? 1_000;
  const started = Date.now();
  let told = false;
  for (;;) {
    const result = await db.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, ${DATABASE_KEY_SQL}) AS ok`, [LOCK_NAMESPACE]);
    if (result.rows[0]?.ok) {
      return {
        release: async () => {
          await db.query(`SELECT pg_advisory_unlock($1, ${DATABASE_KEY_SQL})`, [LOCK_NAMESPACE]);
        },
      };
    }
    const waited = Date.now() - started;
    if (waited >= options.timeoutMs) throw new MigrationLockTimeoutError(await findLockHolder(db), waited);
    if (!told) {
      told = true;
      options.onWait?.(await findLockHolder(db));
    }
    await sleepMs(Math.min(pollMs, Math.max(0, options.timeoutMs - waited)), options.signal);
  }
}

/** The session holding the migration lock of this database, from pg_locks joined with pg_stat_activity. */
export async function findLockHolder(db: Db): Promise<LockHolder | undefined> {
  const result = await db.query<{
    pid: number;
    usename: string | null;
    application_name: string | null;
    backend_start: Date | null;
    state: string | null;
  }>(
    `SELECT a.pid, a.usename, a.application_name, a.backend_start, a.state
       FROM pg_locks l
       JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint = $1 AND l.objid::bigint = ${DATABASE_KEY_SQL} AND l.objsubid = 2
      LIMIT 1`,
    [LOCK_NAMESPACE],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    pid: row.pid,
    user: row.usename ?? '(unknown)',
    applicationName: row.application_name ?? '',
    since: row.backend_start ? row.backend_start.toISOString() : '(not visible: grant pg_monitor)',
    state: row.state ?? 'unknown state',
  };
}
