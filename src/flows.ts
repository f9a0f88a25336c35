import { type Flow, notBuiltFlow } from './core/flow.js';
import { blueGreenSpec } from './core/specs/blue-green.js';
import { canarySpec } from './core/specs/canary.js';
import { migrateFlow } from './core/migrate/migrate-flow.js';
import { rollbackSpec } from './core/specs/rollback.js';
import type { ActionSpec } from './core/specs/spec.js';
import { validateFlow } from './core/metrics/validate-flow.js';

/** Every action's flow, by name: what the command line runs. */
export const flows: Record<string, Flow<ActionSpec>> = {
  'blue-green': notBuiltFlow(blueGreenSpec),
  canary: notBuiltFlow(canarySpec),
  validate: validateFlow,
  migrate: migrateFlow,
  rollback: notBuiltFlow(rollbackSpec),
};
