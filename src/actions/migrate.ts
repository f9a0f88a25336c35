/**
 * actions/migrate: database migration phases (src/core/migrate).
 * The source twin of the dist/migrate/index.cjs stub that `npm run build` writes from the list in
 * src/core/specs/index.ts; tests run this one through tsx.
 */
import '../quiet-deprecations.js';
import { startAction } from './start.js';

await startAction('migrate', () => import('./runtime.js'));
