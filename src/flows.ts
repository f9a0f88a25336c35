import { blueGreenFlow } from './core/blue-green/flow.js';
import { canaryFlow } from './core/canary/index.js';
import type { Flow } from './core/flow.js';
import { validateFlow } from './core/metrics/validate-flow.js';
import { migrateFlow } from './core/migrate/migrate-flow.js';
import { rollbackFlow } from './core/rollback/rollback-flow.js';
import type { ActionSpec } from './core/specs/spec.js';

/** Every action's flow, by name: what the command line runs. */
export const flows: Record<string, Flow<ActionSpec>> = {
  'blue-green': blueGreenFlow,
  canary: canaryFlow,
  validate: validateFlow,
  migrate: migrateFlow,
  rollback: rollbackFlow,
};
