/**
 * actions/validate: runs the metric analysis (src/core/metrics) and fails the step unless it is Successful.
 * The source twin of the dist/validate/index.cjs stub that `npm run build` writes from the list in
 * src/core/specs/index.ts; tests run this one through tsx.
 */
import '../quiet-deprecations.js';
import { startAction } from './start.js';

await startAction('validate', () => import('./runtime.js'));
