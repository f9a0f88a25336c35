/**
 * After the main step (the action's post step): a ledger row of this run and version that is
 * still `running` means the main step was cancelled or killed mid-phase. Mark it failed so the
 * ledger stays honest, after stopping any statement its command left running on the server.
 * The migration lock needs nothing: it ended with the main step's connection.
 */
import { applicationName, openConnection, stopCommandSessions } from './connection.js';
import { failRunningEntries, type LedgerRow } from './ledger.js';

export async function recordCancelledRun(options: { databaseUrl: string; version: string; runId: string }): Promise<{
  rows: LedgerRow[];
  stoppedSessions: number[];
}> {
  const { client } = await openConnection({ databaseUrl: options.databaseUrl, applicationName: applicationName(options.runId, 'post') });
  try {
    const stoppedSessions = await stopCommandSessions(client, options.runId);
    const rows = await failRunningEntries(
      client,
      { version: options.version, runId: options.runId },
      `cancelled: run ${options.runId} ended while this phase was running; its command may have been stopped part-way, check before re-running`,
    );
    return { rows, stoppedSessions };
  } finally {
    await client.end().catch(() => undefined);
  }
}
