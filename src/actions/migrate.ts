import { migrateSpec } from '../core/specs/migrate.js';
import { notBuilt, runAction } from './runtime.js';

await runAction(migrateSpec, {
  main: async () => notBuilt('migrate'),
});
