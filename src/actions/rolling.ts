/**
 * actions/rolling: rolls one Deployment out to a new image (src/core/rolling), its post step
 * undoing the image of a run killed mid-rollout. The source twin of the dist/rolling/index.cjs
 * stub that `npm run build` writes from the list in src/core/specs/index.ts; tests run this one
 * through tsx.
 */
import '../quiet-deprecations.js';
import { startAction } from './start.js';

await startAction('rolling', () => import('./runtime.js'));
