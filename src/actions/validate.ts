import { validateSpec } from '../core/specs/validate.js';
import { notBuilt, runAction } from './runtime.js';

await runAction(validateSpec, {
  main: async () => notBuilt('validate'),
});
