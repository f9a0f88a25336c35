import { type Flow, notBuiltFlow } from './core/flow.js';
import { blueGreenSpec } from './core/specs/blue-green.js';
import { canarySpec } from './core/specs/canary.js';
import { migrateSpec } from './core/specs/migrate.js';
import { rollbackSpec } from './core/specs/rollback.js';
import type { ActionSpec } from './core/specs/spec.js';
import { validateSpec } from './core/specs/validate.js';

/** Every action's flow, by name: what the command line runs. */
export const flows: Record<string, Flow<ActionSpec>> = {
  'blue-green': notBuiltFlow(blueGreenSpec),
  canary: notBuiltFlow(canarySpec),
  validate: notBuiltFlow(validateSpec),
  migrate: notBuiltFlow(migrateSpec),
  rollback: notBuiltFlow(rollbackSpec),
};
