/**
 * What PostgreSQL looks like around a migration: open transactions older than a limit (a DDL
 * statement would queue behind them and, queued, block every query of the application on that
 * table), lock requests that wait, and connections. Only sessions of the current database count.
 */
import { formatDuration } from '../config/primitives.js';
import type { Db } from './connection.js';

export interface DatabaseHealth {
  longTransactions: LongTransaction[];
  waitingLocks: WaitingLock[];
  connections: { total: number; active: number; idleInTransaction: number };
  /** Sessions of other users whose details this user may not see (PostgreSQL hides them without pg_monitor). */
  hiddenSessions: number;
}

export interface LongTransaction {
  pid: number;
  user: string;
  applicationName: string;
  state: string;
  ageMs: number;
  /** ISO 8601 */
  transactionStart: string;
  /** ISO 8601, or null when the session has not run a query. */
  queryStart: string | null;
  /** Its current or last query, string literals replaced by '…' and cut at 200 characters ('' when hidden). */
  query: string;
}

export interface WaitingLock {
  pid: number;
  user: string;
  lockType: string;
  mode: string;
  relation: string | null;
  waitingMs: number;
  blockedBy: number[];
}

export async function inspectDatabase(db: Db, maxTransactionAgeMs: number): Promise<DatabaseHealth> {
  const long = await db.query<{
    pid: number;
    usename: string | null;
    application_name: string | null;
    state: string | null;
    age_ms: number;
    xact_start: Date;
    query_start: Date | null;
    query: string | null;
  }>(
    `SELECT pid, usename, application_name, state, xact_start, query_start, query,
            (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS age_ms
       FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        AND xact_start IS NOT NULL AND clock_timestamp() - xact_start > $1 * interval '1 millisecond'
      ORDER BY xact_start`,
    [maxTransactionAgeMs],
  );
  const waiting = await db.query<{
    pid: number;
    usename: string | null;
    locktype: string;
    mode: string;
    relation: string | null;
    waiting_ms: number | null;
    blocked_by: number[];
  }>(
    `SELECT l.pid, a.usename, l.locktype, l.mode, l.relation::regclass::text AS relation,
            (extract(epoch FROM clock_timestamp() - l.waitstart) * 1000)::float8 AS waiting_ms,
            pg_blocking_pids(l.pid) AS blocked_by
       FROM pg_locks l
       JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE NOT l.granted AND a.datname = current_database()
      ORDER BY l.waitstart NULLS LAST`,
  );
  const counts = await db.query<{ total: string; active: string; idle_in_transaction: string; hidden: string }>(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE state = 'active') AS active,
            count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_in_transaction,
            count(*) FILTER (WHERE backend_type IS NULL) AS hidden
       FROM pg_stat_activity
      WHERE datname = current_database() AND (backend_type = 'client backend' OR backend_type IS NULL)`,
  );
  const count = counts.rows[0];
  return {
    longTransactions: long.rows.map((r) => ({
      pid: r.pid,
      user: r.usename ?? '(unknown)',
      applicationName: r.application_name ?? '',
      state: r.state ?? 'unknown',
      ageMs: Math.round(r.age_ms),
      transactionStart: r.xact_start.toISOString(),
      queryStart: r.query_start ? r.query_start.toISOString() : null,
      query: describeQuery(r.query),
    })),
    waitingLocks: waiting.rows.map((r) => ({
      pid: r.pid,
      user: r.usename ?? '(unknown)',
      lockType: r.locktype,
      mode: r.mode,
      relation: r.relation,
      waitingMs: Math.round(r.waiting_ms ?? 0),
      blockedBy: r.blocked_by,
    })),
    connections: {
      total: Number(count?.total ?? 0),
      active: Number(count?.active ?? 0),
      idleInTransaction: Number(count?.idle_in_transaction ?? 0),
    },
    hiddenSessions: Number(count?.hidden ?? 0),
  };
}

/** Each reason the database is not safe to migrate now, one sentence each; [] when it is. */
export function safetyProblems(health: DatabaseHealth, maxTransactionAgeMs: number): string[] {
  const problems = health.longTransactions.map(
    (t) =>
      `a transaction has been open for ${formatDuration(t.ageMs)} (more than max-transaction-age ${formatDuration(maxTransactionAgeMs)}): ` +
      `pid ${t.pid}, user ${t.user}${t.applicationName ? `, application_name "${t.applicationName}"` : ''}, state ${t.state}, ` +
      `transaction started ${t.transactionStart}, last query started ${t.queryStart ?? 'never'}` +
      `${t.query ? ` ("${t.query}")` : ''}. ` +
      `DDL would queue behind it and block the application; end it (pg_terminate_backend(${t.pid})) or wait`,
  );
  for (const w of health.waitingLocks) {
    problems.push(
      `a lock request is waiting: pid ${w.pid}, user ${w.user}, ${w.mode} on ${w.relation ?? w.lockType} for ${formatDuration(w.waitingMs)}` +
        (w.blockedBy.length ? `, blocked by pid ${w.blockedBy.join(', ')}` : ''),
    );
  }
  return problems;
}

/**
 * A session's query as safe to show: string literals (which may hold personal data or secrets)
 * and dollar-quoted bodies become '…', whitespace is folded, and it is cut at `max` characters.
 * The caller still redacts registered secrets.
 */
export function describeQuery(query: string | null, max = 200): string {
  if (!query) return '';
  const safe = query
    .replace(/\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g, "'…'")
    .replace(/'(?:[^']|'')*'?/g, "'…'")
    .replace(/\s+/g, ' ')
    .trim();
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

export function describeConnections(health: DatabaseHealth): string {
  const c = health.connections;
  const hidden = health.hiddenSessions
    ? `; ${health.hiddenSessions} session(s) of other users are not visible to this user, so their transactions are not checked (grant it pg_monitor)`
    : '';
  return `${c.total} connection(s): ${c.active} active, ${c.idleInTransaction} idle in transaction${hidden}`;
}
