import { applicationName, openConnection } from './connection.js';
import { failRunningEntries, type LedgerRow } from './ledger.js';

/**
 * After the main step (the action's post step): a ledger row of this run and version that is
 * still `running` means the main step was cancelled or killed mid-phase. Mark it failed so the
 * ledger stays honest. The migration lock needs nothing: it ended with the main step's connection.
 */
export async function recordCancelledRun(options: { databaseUrl: string; version: string; runId: string }): Promise<LedgerRow[]> {
  const { client } = await openConnection({ databaseUrl: options.databaseUrl, applicationName: applicationName(options.runId, 'post') });
  try {
    return await failRunningEntries(
      client,
      { version: options.version, runId: options.runId },
      `cancelled: run ${options.runId} ended while this phase was running; its command may have been stopped part-way, check before re-running`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
