/**
 * actions/rollback: undoes what blue-green, canary and migrate recorded, in reverse (src/core/rollback).
 * The source twin of the dist/rollback/index.js stub that `npm run build` writes from the list in
 * src/core/specs/index.ts; tests run this one through tsx.
 */
import '../quiet-deprecations.js';
import { runAction } from './runtime.js';

await runAction('rollback');
