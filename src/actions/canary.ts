/**
 * actions/canary: walks a canary through its steps (src/core/canary), promoting or aborting it.
 * The source twin of the dist/canary/index.cjs stub that `npm run build` writes from the list in
 * src/core/specs/index.ts; tests run this one through tsx.
 */
import '../quiet-deprecations.js';
import { startAction } from './start.js';

await startAction('canary', () => import('./runtime.js'));
