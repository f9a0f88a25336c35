/**
 * The rollback action's inputs and outputs (src/core/rollback runs it); `npm run build` writes
 * actions/rollback/action.yml and its README reference from this spec.
 */
import * as z from 'zod';
import { booleanInput, duration, integerInput, objectName } from '../config/primitives.js';
import { clusterInputs, deliveryFileInput, notifyInputs, notifyOutputs, runInputs } from './common.js';
import { migrateSpec } from './migrate.js';
import { defineAction } from './spec.js';

export const rollbackSpec = defineAction({
  name: 'rollback',
  title: 'Progressive delivery: rollback',
  description:
    'Undoes what blue-green, canary, rolling and migrate recorded, in reverse: traffic first, then workloads, then (when asked) the compensating migration.',
  branding: { icon: 'rotate-ccw', color: 'red' },
  post: true,
  permissions: ['deployments: write (only with github-token)'],
  inputs: {
    ...clusterInputs,
    ...deliveryFileInput,
    mode: {
      description:
        'What to undo. `auto`: the changes not yet undone of the release (see `release`; the newest one of the service by default), across all its runs, back to the state before it: a Deployment it scaled down is scaled back up (and waited for) first, then traffic, then images and other workload changes; never a migration, never a rollback. Each object is read first (already as before: nothing written; changed by someone since: refused unless `force`) and read back after. `traffic` (with that capacity) or `workload`: only that part of them. `workload` with `to-revision`: roll the Deployment back to that revision, as `kubectl rollout undo --to-revision`. `migration`: the compensating migration of the migration phases of the release, newest first, each with the rollback-command recorded with it (needs `database-url`; a contract needs `contract-rollback-command` and `confirm: data-loss`). `all`: traffic, workloads, then the migration.',
      default: 'auto',
      schema: z.enum(['auto', 'traffic', 'workload', 'migration', 'all']),
    },
    deployment: {
      description: 'With `to-revision`: the Deployment to roll back (in `namespace`). Empty: the service name.',
      schema: objectName,
    },
    'to-revision': {
      description:
        'With mode `workload`: roll the Deployment back to this revision (`kubectl rollout history` lists them), and record it so it can be seen and undone.',
      schema: integerInput(1, 1_000_000),
    },
    'route-rule': {
      description:
        'Undo traffic on this HTTP route of the VirtualService or rule of the HTTPRoute (its name or index) instead of the one recorded. Only needed when the recorded route is gone or was renamed: runs record the route by its name (or, unnamed, by its destinations), so a route inserted in front does not move it.',
      schema: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'expected a route name or index'),
    },
    reason: {
      description: 'Why: shown in the log, the job summary, Slack and the GitHub deployment status.',
      schema: z.string().max(500, 'expected at most 500 characters'),
    },
    force: {
      description:
        'Take over the service lock from the run holding it (use only when that run was cancelled or died), and put back the recorded state even over a change someone made since the release; both are said in the log and summary.',
      default: 'false',
      schema: booleanInput,
    },
    'rollout-timeout': {
      description: 'Longest wait for a Deployment put back (image or revision) to roll out.',
      default: '5m',
      schema: duration,
    },
    'database-url': migrateSpec.inputs['database-url'],
    'rollback-command': {
      description:
        "With mode `migration` or `all`, optional: overrides the rollback-command recorded in the migration ledger for the newest phase to compensate (never a contract's), and only that phase is compensated. Empty: each phase is compensated with the rollback-command migrate recorded with it, newest first. An argument list, run without a shell, with DATABASE_URL in its environment.",
      schema: migrateSpec.inputs['rollback-command'].schema,
    },
    'contract-rollback-command': {
      description:
        'With mode `migration` or `all`: the command that re-creates what a finished contract dropped. A contract is irreversible (the data it dropped is gone), so a rollback past it is refused unless this is given together with `confirm: data-loss`; the refusal names what the contract dropped.',
      schema: migrateSpec.inputs['rollback-command'].schema,
    },
    confirm: {
      description:
        '`data-loss`: allow `contract-rollback-command` to roll back past a contract, accepting that the values of what it dropped are not restored.',
      schema: z.enum(['data-loss']),
    },
    version: {
      description:
        'With mode `migration` or `all`: compensate only this migration version. Empty: the versions the `release` recorded in the migration ledger; with no release either, the release of the newest ledger row (named in the log). Give `release` so an older, finished version is never compensated.',
      schema: migrateSpec.inputs.version.schema,
    },
    'command-timeout': migrateSpec.inputs['command-timeout'],
    'max-transaction-age': migrateSpec.inputs['max-transaction-age'],
    'statement-lock-timeout': migrateSpec.inputs['statement-lock-timeout'],
    'statement-timeout': migrateSpec.inputs['statement-timeout'],
    ...runInputs,
    release: {
      description:
        'The release to undo (the `release` its runs were given), or the run id of one of its runs. Empty: the newest release of the service that is not already undone. A release whose runs changed nothing has nothing to undo: the result is `nothing-to-do` and nothing is touched.',
      schema: runInputs.release.schema,
    },
    ...notifyInputs,
  },
  outputs: {
    result: {
      description:
        'rolled-back (something was undone, and every object read back as before the release), nothing-to-do (the release was already undone or as before it, or the run or release given changed nothing; the step fails instead when nothing was ever recorded), failed (an undo failed, someone changed an object since, or the read-back differs), or planned (dry run).',
    },
    actions: {
      description:
        'JSON list of the compensations, in the order applied (planned, on a dry run): `entry` (journal entry id, or `ledger/<id>`), `entries` (every journal entry it settled), `step`, `object`, `before`, `after`.',
    },
    ...notifyOutputs,
  },
});
