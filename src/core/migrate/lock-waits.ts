/**
 * Who a command's statements waited behind. While a command runs, its sessions (found by the
 * application_name PGAPPNAME gives them) are looked at a few times a second; a session waiting
 * for a lock names the pids that block it (pg_blocking_pids). When lock_timeout then ends a
 * statement, the blocker is gone from the command's own error, but not from this record.
 */
import { applicationName, type Db } from './connection.js';
import { describeQuery } from './safety-checks.js';

export interface Blocker {
  pid: number;
  user: string;
  applicationName: string;
  state: string;
  /** Its query, literals hidden and cut (safety-checks.ts describeQuery). */
  query: string;
}

export interface LockWaitWatch {
  /** Stops watching; the blockers seen, newest sighting last, each pid once. */
  stop(): Promise<Blocker[]>;
}

export function watchLockWaits(db: Db, runId: string, pollMs = 200): LockWaitWatch {
  const seen = new Map<number, Blocker>();
  let stopped = false;
  let pending: Promise<void> = Promise.resolve();
  const look = async () => {
    const result = await db.query<{
      pid: number;
      usename: string | null;
      application_name: string | null;
      state: string | null;
      query: string | null;
    }>(
      `SELECT b.pid, b.usename, b.application_name, b.state, b.query
         FROM pg_stat_activity w, unnest(pg_blocking_pids(w.pid)) AS blocker(pid)
         JOIN pg_stat_activity b ON b.pid = blocker.pid
        WHERE w.application_name = $1 AND w.wait_event_type = 'Lock'`,
      [applicationName(runId, 'command')],
    );
    for (const r of result.rows) {
      seen.delete(r.pid);
      seen.set(r.pid, {
        pid: r.pid,
        user: r.usename ?? '(unknown)',
        applicationName: r.application_name ?? '',
        state: r.state ?? 'unknown',
        query: describeQuery(r.query),
      });
    }
  };
  const timer = setInterval(() => {
    if (stopped) return;
    pending = pending.then(look).catch(() => undefined);
  }, pollMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await pending;
      return [...seen.values()];
    },
  };
}

/** "pid 123 (user app, application_name "psql", state idle in transaction, query "…")". */
export function describeBlocker(b: Blocker): string {
  const app = b.applicationName ? `, application_name "${b.applicationName}"` : '';
  const query = b.query ? `, query "${b.query}"` : '';
  return `pid ${b.pid} (user ${b.user}${app}, state ${b.state}${query})`;
}

/** Whether a command's output says lock_timeout ended one of its statements. */
export function endedByLockTimeout(lines: readonly string[]): boolean {
  return lines.some((line) => /canceling statement due to lock timeout/i.test(line));
}
