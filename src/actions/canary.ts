import { canarySpec } from '../core/specs/canary.js';
import { notBuilt, runAction } from './runtime.js';

await runAction(canarySpec, {
  main: async () => notBuilt('canary'),
});
