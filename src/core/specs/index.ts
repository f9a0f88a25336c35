import { blueGreenSpec } from './blue-green.js';
import { canarySpec } from './canary.js';
import { migrateSpec } from './migrate.js';
import { rollbackSpec } from './rollback.js';
import type { ActionSpec } from './spec.js';
import { validateSpec } from './validate.js';

/** Every action of the suite, by name. */
export const actionSpecs: Record<string, ActionSpec> = {
  'blue-green': blueGreenSpec,
  canary: canarySpec,
  validate: validateSpec,
  migrate: migrateSpec,
  rollback: rollbackSpec,
};
