/**
 * The migrate action's inputs and outputs (src/core/migrate runs it); `npm run build` writes
 * actions/migrate/action.yml and its README reference from this spec.
 */
import * as z from 'zod';
import { booleanInput, commandInput, duration, imageRef, listInput, namespacedName, objectName } from '../config/primitives.js';
import { clusterInputs, notifyInputs, notifyOutputs, runInputs } from './common.js';
import { defineAction } from './spec.js';

export const migrateSpec = defineAction({
  name: 'migrate',
  title: 'Progressive delivery: database migration phase',
  description:
    'Runs one phase of an expand / migrate / contract database migration with a ledger, an advisory lock and PostgreSQL safety checks.',
  branding: { icon: 'database', color: 'blue' },
  post: true,
  permissions: ['deployments: write (only with github-token: records the GitHub deployment and its statuses)'],
  inputs: {
    phase: {
      description: 'expand, migrate, contract, rollback or status.',
      required: true,
      schema: z.enum(['expand', 'migrate', 'contract', 'rollback', 'status']),
    },
    version: {
      description: "The migration's id, e.g. 2026_11_23_split_name.",
      required: true,
      schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected letters, digits, ".", "_" or "-" (at most 128)'),
    },
    command: {
      description:
        'Your migration tool for this phase (Flyway, Liquibase, Prisma, knex, psql…), run as an argument list without a shell: `npx knex migrate:up 001_expand.js` or a JSON array. Its environment has DATABASE_URL, PGOPTIONS (lock_timeout and statement_timeout, read by libpq tools), MIGRATION_VERSION and MIGRATION_PHASE; `$DATABASE_URL` in an argument is replaced by the URL (e.g. `psql -v ON_ERROR_STOP=1 -f expand.sql $DATABASE_URL`). Required for expand, migrate and contract.',
      schema: commandInput,
    },
    'verify-command': {
      description:
        'Data integrity check run after the command; non-zero fails the phase. The schema snapshots cannot see data: this is the check that can. It also lets an expand or contract that changes no schema object succeed.',
      schema: commandInput,
    },
    'rollback-command': {
      description:
        "This phase's compensating migration: run at once when the command or the verification fails after changing the schema, and recorded in the ledger with the phase, so that phase `rollback` (and actions/rollback) compensates it with this command later. With phase `rollback`: overrides the recorded command of the newest phase to compensate (never a contract's), and only that phase is compensated.",
      schema: commandInput,
    },
    'contract-rollback-command': {
      description:
        'Phase `rollback` only: the command that re-creates what a finished contract dropped. Contract is irreversible (the data it dropped is gone), so a rollback past it is refused unless this is given together with `confirm: data-loss`.',
      schema: commandInput,
    },
    'database-url': {
      description:
        'PostgreSQL URL (use a secret): enables the ledger, the lock and the safety checks, and is given to the commands as DATABASE_URL. Its user needs CREATE on the database (for the progressive_delivery schema) and pg_monitor (to see other sessions). Masked in logs.',
      secret: true,
      schema: z.string().regex(/^postgres(ql)?:\/\//, 'expected a URL such as postgresql://user:pass@host:5432/db'),
    },
    confirm: {
      description:
        'Must be `contract` for the contract phase, which is destructive; `data-loss` lets phase `rollback` run `contract-rollback-command`.',
      schema: z.string(),
    },
    'allow-changed': {
      description:
        'Run a phase that already succeeded again although its command or the files it names changed (their checksum differs from the ledger). Without it such a re-run is refused, naming both checksums; with it, it runs and the ledger records that it was allowed.',
      default: 'false',
      schema: booleanInput,
    },
    'dry-run': {
      description:
        'Read the ledger and the database and report the plan (what would run, with which command and checksum, or why it would be skipped or refused). Runs no command and writes nothing: no ledger row, no lock.',
      default: 'false',
      schema: booleanInput,
    },
    'run-id': runInputs['run-id'],
    release: {
      description:
        "The release this phase belongs to, recorded on its ledger row: actions/rollback with this `release` compensates only this release's phases. Empty: the run id. With phase `rollback`: compensate only this release's phases of the version.",
      schema: runInputs.release.schema,
    },
    'require-rollout': {
      description: 'Deployments (`namespace/name`, comma-separated) whose every replica must already run the new version before contract.',
      schema: listInput(namespacedName()),
    },
    'expected-image': {
      description: 'The image every replica of `require-rollout` must run (the new version), exactly as the pod spec names it.',
      schema: imageRef,
    },
    kubeconfig: {
      description: 'Kubeconfig content for `require-rollout` (use a secret). Masked in logs.',
      secret: true,
      schema: z.string().min(20, 'expected the content of a kubeconfig file'),
    },
    context: { ...clusterInputs.context, description: 'Kubeconfig context for `require-rollout`. Empty: its current-context.' },
    'command-timeout': { description: 'Longest the command may run.', default: '30m', schema: duration },
    'lock-timeout': {
      description: 'How long to wait for another migration of the same database to finish (a PostgreSQL advisory lock).',
      default: '5m',
      schema: duration,
    },
    'max-transaction-age': {
      description: 'Refuse to start while a transaction older than this is open (it would block DDL).',
      default: '5m',
      schema: duration,
    },
    'statement-lock-timeout': {
      description: "PostgreSQL lock_timeout for the command's statements, so DDL cannot queue behind a long transaction.",
      default: '5s',
      schema: duration,
    },
    'statement-timeout': { description: "PostgreSQL statement_timeout for the command's statements.", default: '15m', schema: duration },
    service: {
      description: 'The service this migration belongs to: names it in Slack messages and the GitHub deployment.',
      default: 'database',
      schema: objectName,
    },
    ...notifyInputs,
  },
  outputs: {
    result: {
      description:
        'succeeded, skipped (already done with the same checksum, or nothing to roll back), refused (a precondition failed and nothing ran; or an expand or contract changed no schema object and no verify-command passed), failed, rolled-back (the command failed and rollback-command compensated it, the schema checked back to before), or planned (dry run).',
    },
    phase: { description: 'The phase that ran.' },
    state: { description: 'The furthest phase of the version that is done: none, expand, migrate or contract.' },
    ledger: { description: 'JSON: the ledger rows of this version.' },
    ...notifyOutputs,
  },
});
