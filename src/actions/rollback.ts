/**
 * actions/rollback: undoes what blue-green, canary, rolling and migrate recorded, in reverse (src/core/rollback).
 * The source twin of the dist/rollback/index.cjs stub that `npm run build` writes from the list in
 * src/core/specs/index.ts; tests run this one through tsx.
 */
import '../quiet-deprecations.js';
import { startAction } from './start.js';

await startAction('rollback', () => import('./runtime.js'));
