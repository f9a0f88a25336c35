import { blueGreenFlow } from './core/blue-green/flow.js';
import { canaryFlow } from './core/canary/index.js';
import { type Flow, notBuiltFlow } from './core/flow.js';
import { validateFlow } from './core/metrics/validate-flow.js';
import { migrateFlow } from './core/migrate/migrate-flow.js';
import { rollbackSpec } from './core/specs/rollback.js';
import type { ActionSpec } from './core/specs/spec.js';

/** Every action's flow, by name: what the command line runs. */
export const flows: Record<string, Flow<ActionSpec>> = {
  'blue-green': blueGreenFlow,
  canary: canaryFlow,
  validate: validateFlow,
  migrate: migrateFlow,
  rollback: notBuiltFlow(rollbackSpec),
};
