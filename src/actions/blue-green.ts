import { blueGreenSpec } from '../core/specs/blue-green.js';
import { notBuilt, runAction } from './runtime.js';

await runAction(blueGreenSpec, {
  main: async () => notBuilt('blue-green'),
});
