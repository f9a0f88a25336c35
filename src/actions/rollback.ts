import '../quiet-deprecations.js';
import { rollbackFlow } from '../core/rollback/rollback-flow.js';
import { runFlow } from './runtime.js';

/** actions/rollback: undoes what blue-green, canary and migrate recorded, in reverse (src/core/rollback). */
await runFlow(rollbackFlow);
