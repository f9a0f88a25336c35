/**
 * The one list of the suite's actions. Everything that names the actions derives from it:
 * `npm run build` writes each `actions/<name>/action.yml`, the README reference, the extra files
 * an action publishes (the canary config's JSON schema) and the entry stub `dist/<name>/index.cjs`;
 * the action runtime (src/actions/runtime.ts) and the command line (src/cli/main.ts) look actions
 * up here.
 *
 * Each entry holds the action's spec (light: the input schemas) and loads its flow only when it
 * runs (`import()`), so a run with bad inputs fails before the Kubernetes client, pg or Octokit
 * are even read from disk. Adding an action: its folder under src/core/<area>/ with the flow, its
 * spec in src/core/specs/<name>.ts, and one line below.
 */
import type { Flow } from '../flow.js';
import { blueGreenSpec } from './blue-green.js';
import { canarySpec } from './canary.js';
import { migrateSpec } from './migrate.js';
import { rollbackSpec } from './rollback.js';
import { rollingSpec } from './rolling.js';
import type { ActionSpec } from './spec.js';
import { validateSpec } from './validate.js';

export interface ActionEntry {
  spec: ActionSpec;
  /** The flow, loaded on demand (after the inputs are valid). */
  flow(): Promise<Flow<ActionSpec>>;
  /** Files published beside action.yml, by file name, e.g. a JSON schema users point their editor at. */
  files?(): Promise<Record<string, string>>;
}

export const actions: readonly ActionEntry[] = [
  { spec: blueGreenSpec, flow: async () => (await import('../blue-green/flow.js')).blueGreenFlow },
  {
    spec: canarySpec,
    flow: async () => (await import('../canary/flow.js')).canaryFlow,
    files: async () => ({ 'config.schema.json': (await import('../canary/json-schema.js')).canaryConfigJsonSchemaText() }),
  },
  { spec: rollingSpec, flow: async () => (await import('../rolling/flow.js')).rollingFlow },
  { spec: validateSpec, flow: async () => (await import('../validate/flow.js')).validateFlow },
  { spec: migrateSpec, flow: async () => (await import('../migrate/flow.js')).migrateFlow },
  { spec: rollbackSpec, flow: async () => (await import('../rollback/flow.js')).rollbackFlow },
];

/** Files published in actions/ that belong to no one action: the delivery file's JSON schema. */
export async function publishedFiles(): Promise<Record<string, string>> {
  return { 'delivery.schema.json': (await import('./delivery-file.js')).deliveryFileJsonSchemaText() };
}

/** The action called `name`; throws naming the actions there are. */
export function actionNamed(name: string): ActionEntry {
  const entry = actions.find((a) => a.spec.name === name);
  if (!entry) throw new Error(`no action "${name}"; the actions are ${actions.map((a) => a.spec.name).join(', ')}`);
  return entry;
}

/** Every action's spec, by name. */
export const actionSpecs: Record<string, ActionSpec> = Object.fromEntries(actions.map((a) => [a.spec.name, a.spec]));
