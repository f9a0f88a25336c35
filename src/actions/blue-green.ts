/**
 * actions/blue-green: the blue-green switch (src/core/blue-green), its post step restoring an unfinished switch.
 * The source twin of the dist/blue-green/index.cjs stub that `npm run build` writes from the list in
 * src/core/specs/index.ts; tests run this one through tsx.
 */
import '../quiet-deprecations.js';
import { startAction } from './start.js';

await startAction('blue-green', () => import('./runtime.js'));
