/**
 * PostgreSQL connections of the migrate phases: one dedicated connection (the advisory lock lives
 * with it), named in pg_stat_activity, and stopping what a stopped command left running on the
 * server.
 */
import pg from 'pg';

/** What the migration modules need of a PostgreSQL connection: pg's Client satisfies it. */
export type Db = Pick<pg.ClientBase, 'query'>;

/** The application_name our sessions carry, so that pg_stat_activity shows whose they are. */
export function applicationName(runId: string, purpose: 'lock' | 'command' | 'post'): string {
  // PostgreSQL truncates application_name at 63 bytes.
  return `progressive-delivery migrate ${purpose} ${runId}`.slice(0, 63);
}

export interface OpenOptions {
  databaseUrl: string;
  applicationName: string;
  connectTimeoutMs?: number;
}

/**
 * Opens one dedicated connection (not a pool: the advisory lock lives and dies with it).
 * A connection that breaks later is reported through `lost` instead of crashing the process.
 */
export async function openConnection(options: OpenOptions): Promise<{ client: pg.Client; lost: () => Error | undefined }> {
  const client = new pg.Client({
    connectionString: options.databaseUrl,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000,
  });
  let lostError: Error | undefined;
  client.on('error', (error) => {
    lostError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new Error(`cannot connect to the database: ${(error as Error).message}`);
  }
  return { client, lost: () => lostError };
}

/**
 * Stopping a command's process does not stop the statement its server session is running: the
 * server only notices the closed socket when it next writes. So after a command was stopped
 * (timeout, cancel), cancel the statements of the sessions that carry its application_name
 * (set through PGAPPNAME; tools that ignore PGAPPNAME are not found), and terminate any that
 * are still there after `graceMs`. Returns the pids it stopped.
 */
export async function stopCommandSessions(db: Db, runId: string, graceMs = 3_000): Promise<number[]> {
  const name = applicationName(runId, 'command');
  const sessions = `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`;
  const found = (await db.query<{ pid: number }>(sessions, [name])).rows.map((r) => r.pid);
  if (found.length === 0) return [];
  await db.query(`SELECT pg_cancel_backend(pid) FROM (${sessions}) s`, [name]);
  const deadline = Date.now() + graceMs;
  while ((await db.query(sessions, [name])).rows.length > 0) {
    if (Date.now() > deadline) {
      await db.query(`SELECT pg_terminate_backend(pid, 1000) FROM (${sessions}) s`, [name]);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return found;
}
