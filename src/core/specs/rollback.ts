import { z } from 'zod';
import { booleanInput, integerInput } from '../config/primitives.js';
import { clusterInputs, notifyInputs, runInputs } from './common.js';
import { migrateSpec } from './migrate.js';
import { defineAction } from './spec.js';

export const rollbackSpec = defineAction({
  name: 'rollback',
  title: 'Progressive delivery: rollback',
  description:
    'Undoes what blue-green, canary and migrate recorded, in reverse: traffic first, then workloads, then (when asked) the compensating migration.',
  branding: { icon: 'rotate-ccw', color: 'red' },
  post: true,
  permissions: ['deployments: write (only with github-token)'],
  inputs: {
    ...clusterInputs,
    mode: {
      description: 'auto (undo the last recorded change), traffic, workload, migration or all.',
      default: 'auto',
      schema: z.enum(['auto', 'traffic', 'workload', 'migration', 'all']),
    },
    'to-revision': { description: 'Roll the workload back to this revision instead of the previous one.', schema: integerInput(1, 1_000_000) },
    reason: { description: 'Why: recorded with the rollback and shown in the summary.', schema: z.string().max(500) },
    force: {
      description: 'Take over the service lock when its holder is a cancelled run (and say so).',
      default: 'false',
      schema: booleanInput,
    },
    'database-url': migrateSpec.inputs['database-url'],
    'rollback-command': migrateSpec.inputs['rollback-command'],
    ...runInputs,
    ...notifyInputs,
  },
  outputs: {
    result: { description: 'rolled-back, nothing-to-do, failed or planned (dry run).' },
    actions: { description: 'JSON list of the compensations applied, each with before and after.' },
  },
});
