import '../quiet-deprecations.js';
import { migrateFlow } from '../core/migrate/migrate-flow.js';
import { runFlow } from './runtime.js';

await runFlow(migrateFlow);
