import { rollbackSpec } from '../core/specs/rollback.js';
import { notBuilt, runAction } from './runtime.js';

await runAction(rollbackSpec, {
  main: async () => notBuilt('rollback'),
});
