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
