/**
 * The migrate area's public face: what other areas use of it. The rollback action compensates a
 * release's migration with these (read the ledger, run the rollback phase under the same limits);
 * everything else in src/core/migrate/ is the migrate action's own.
 */
export { openConnection } from './connection.js';
export { readLedger, readRelease, type LedgerRow } from './ledger.js';
export { phaseLimits, runPhase, type PhaseLimits, type PhaseOptions, type PhaseOutcome } from './phase.js';
