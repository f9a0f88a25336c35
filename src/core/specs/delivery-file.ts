/**
 * The delivery file: one YAML file per service in the caller's repository (by default
 * `.github/delivery/<service>.yaml`) holding what stays the same from one release to the next
 * (namespace, routing, steps, analysis, timeouts…), so that a run started by hand and a run
 * called from a workflow read the same settings and only what changes per release is typed in.
 *
 * Its keys are the actions' own input names, validated by the same schemas as the inputs:
 *
 *   namespace: shop                  # top level: every action that has this input
 *   blue-green: { router: istio, steps: [10, 50, 100], analysis: deploy/analysis.yaml }
 *   canary: { config: deploy/canary.yaml }
 *   rolling: { deployment: checkout-web }
 *   rollback: { rollout-timeout: 10m }
 *   environments:                    # by the `environment` input: overrides the above
 *     staging: { blue-green: { steps: 100 } }
 *
 * Precedence, per input: an input given (not empty) > environments.<env>.<action> >
 * environments.<env> > <action> > top level > the input's default. Secrets never go in the file
 * (it is committed): a key or a value that looks like one is refused, naming the secret input to
 * use. Per-release and per-run inputs (image, release, dry-run, run-id, …) are not file keys.
 * Every problem is an InputError naming the file, the key and the fix. The file's JSON schema is
 * generated from the zod schema below and published as actions/delivery.schema.json.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { InputError } from '../config/input-error.js';
import { jsonSchemaText, publishedJsonSchema } from '../config/json-schema.js';
import { formatIssues } from '../config/parse.js';
import { serviceName } from '../config/primitives.js';
import { blueGreenSpec } from './blue-green.js';
import { canarySpec } from './canary.js';
import { rollbackSpec } from './rollback.js';
import { rollingSpec } from './rolling.js';
import { defaultDeliveryFile, noDeliveryFileHint } from './delivery-file-path.js';
import { parseInputs, type ActionSpec, type ParsedInputs } from './spec.js';

/** The actions that read a delivery file (each has the `delivery-file` input). */
export const deliveryFileActions: readonly ActionSpec[] = [blueGreenSpec, canarySpec, rollingSpec, rollbackSpec];

/** Inputs that change per release or per run: always inputs, never file keys. */
const PER_RUN = new Set([
  'service',
  'environment',
  'image',
  'release',
  'run-id',
  'dry-run',
  'delivery-file',
  'slack-message',
  'action',
  'full',
  'force',
  'confirm',
  'reason',
  'mode',
  'to-revision',
  'version',
  'rollback-command',
  'contract-rollback-command',
]);

/** Keys that name a secret (matched case-insensitively on the key, wherever it sits). */
const SECRET_KEY = /token|secret|password|passwd|webhook|api[-_]?key|credential|private[-_]?key|kubeconfig|database[-_]?url|dsn/i;

/** Values that are secrets whatever their key: Slack and GitHub tokens, private keys, URLs with a password. */
const SECRET_VALUE = [
  /\bxox[abposr]-[A-Za-z0-9-]{6,}/,
  /\bgh[pousr]_[A-Za-z0-9]{20,}/,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s@]+@/i,
  /hooks\.slack\.com\/services\//i,
];

/**
 * Inputs that are per run for one action only: rollback's `deployment` goes with its `to-revision`
 * (and is refused without it), while rolling's is the service's Deployment, a file key: a
 * top-level `deployment:` must not reach rollback.
 */
const PER_RUN_OF: Readonly<Record<string, ReadonlySet<string>>> = { rollback: new Set(['deployment']) };

/** Inputs whose file value may be a list or a map: written as text the input accepts. */
const STRUCTURED = new Set(['steps', 'analysis', 'analysis-args', 'config', 'smoke-command']);

/** The inputs of `spec` a delivery file may set. */
export function fileKeys(spec: ActionSpec): string[] {
  if (!('delivery-file' in spec.inputs)) return [];
  return Object.entries(spec.inputs)
    .filter(([name, def]) => !def.secret && !PER_RUN.has(name) && !PER_RUN_OF[spec.name]?.has(name))
    .map(([name]) => name);
}

/** Whether `spec`'s input `name` may come from a delivery file (then action.yml gives it no runner default). */
export function isFileKey(spec: ActionSpec, name: string): boolean {
  return fileKeys(spec).includes(name);
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A file value as YAML has it; its meaning is checked by the input's own schema afterwards. */
function fileValue(spec: ActionSpec, name: string): z.ZodType {
  const def = spec.inputs[name]!;
  const enumValues = def.schema instanceof z.ZodEnum ? (def.schema.options as string[]) : undefined;
  const base: z.ZodType = enumValues
    ? z.enum(enumValues as [string, ...string[]])
    : STRUCTURED.has(name)
      ? z.union([scalar, z.array(scalar), z.record(z.string(), z.unknown())])
      : def.schema instanceof z.ZodString
        ? z.union([def.schema, z.number()]) // its pattern, for editors; a number (a rule index) as text
        : scalar;
  return base.meta({ description: def.description + (def.default !== undefined ? ` Default: ${def.default}.` : '') });
}

/** The keys every action shares at the top level: each one's first definition. */
function topLevelShape(): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const spec of deliveryFileActions) {
    for (const name of fileKeys(spec)) shape[name] ??= fileValue(spec, name);
  }
  return shape;
}

function sectionSchema(spec: ActionSpec): z.ZodType {
  return z
    .strictObject(Object.fromEntries(fileKeys(spec).map((name) => [name, fileValue(spec, name).optional()])))
    .meta({ description: `Inputs of the ${spec.name} action only; they override the top level.` });
}

function layerShape(): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = Object.fromEntries(Object.entries(topLevelShape()).map(([k, v]) => [k, v.optional()]));
  for (const spec of deliveryFileActions) shape[spec.name] = sectionSchema(spec).optional();
  return shape;
}

/** The whole file: the top level, one section per action, and per-environment overrides of both. */
export const deliveryFileSchema = z.strictObject({
  ...layerShape(),
  environments: z
    .record(z.string().regex(/^[\w .-]{1,80}$/, 'expected an environment name such as production'), z.strictObject(layerShape()))
    .meta({
      description: 'Overrides for one GitHub environment (the `environment` input), e.g. staging: its own steps or environment-url.',
    })
    .optional(),
});

type Layer = Record<string, unknown>;

/** The JSON schema of the delivery file, from the zod schema above. */
export function deliveryFileJsonSchema(): Record<string, unknown> {
  return publishedJsonSchema(
    deliveryFileSchema,
    'Delivery file (.github/delivery/<service>.yaml)',
    "What stays the same from one release of a service to the next, read by the blue-green, canary, rolling and rollback actions. Keys are the actions' input names; an input given to the action wins over the file. No secrets: pass them as secret inputs.",
  );
}

export function deliveryFileJsonSchemaText(): string {
  return jsonSchemaText(deliveryFileJsonSchema());
}

export interface LoadedDeliveryFile {
  path: string;
  /** The file's values for this action and environment, as input strings, by input name. */
  values: Record<string, string>;
}

/**
 * Reads the delivery file for `spec` from the raw inputs: the `delivery-file` input (which must
 * exist), else `.github/delivery/<service>.yaml` when it exists (none there: undefined).
 */
export async function loadDeliveryFile(
  spec: ActionSpec,
  raw: Record<string, string | undefined>,
  workspace: string,
): Promise<LoadedDeliveryFile | undefined> {
  if (!('delivery-file' in spec.inputs)) return undefined;
  const given = raw['delivery-file']?.trim();
  const service = raw.service?.trim() ?? '';
  let path: string;
  if (given) path = given;
  else if (serviceName.safeParse(service).success) path = defaultDeliveryFile(service);
  else return undefined; // the service input's own error is reported by the input parser
  const full = resolve(workspace, path);
  const inside = relative(resolve(workspace), full);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new InputError(
      `delivery-file: ${path} is outside the workspace (${workspace}); give a path inside the repository, such as ${defaultDeliveryFile(service || '<service>')}`,
    );
  }
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!given && code === 'ENOENT') return undefined;
    const hint =
      code === 'ENOENT'
        ? 'check the path (relative to the repository root), or leave delivery-file empty to use the inputs only'
        : 'check that it is a readable file';
    throw new InputError(`delivery-file: cannot read ${path} (${code ?? 'error'}) in ${workspace}; ${hint}`);
  }
  return { path, values: deliveryFileValues(spec, text, path, raw.environment?.trim() || undefined) };
}

/** Parses the file's text and returns this action's values for `environment`, checked by the inputs' schemas. */
export function deliveryFileValues(spec: ActionSpec, text: string, path: string, environment?: string): Record<string, string> {
  const label = `delivery file ${path}`;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new InputError(
      `${label}: not valid YAML (${(error as Error).message.split('\n')[0]}); fix the syntax, or check it with the JSON schema actions/delivery.schema.json`,
    );
  }
  if (doc === null || doc === undefined) doc = {};
  refuseSecrets(doc, label);
  const parsed = deliveryFileSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) {
    throw new InputError(
      `${formatIssues(parsed.error.issues, { label })}\n  The keys are the actions' input names (see actions/delivery.schema.json and the README, "The delivery file").`,
    );
  }
  const file = parsed.data as Layer & { environments?: Record<string, Layer> };
  const layers: { at: string; values: Layer }[] = [];
  const push = (at: string, layer: Layer | undefined) => {
    if (!layer) return;
    const own = Object.fromEntries(Object.entries(layer).filter(([key]) => spec.inputs[key] && isFileKey(spec, key)));
    layers.push({ at, values: own });
  };
  push('', file);
  push(`${spec.name}.`, file[spec.name] as Layer | undefined);
  const env = environment ? file.environments?.[environment] : undefined;
  push(`environments.${environment}.`, env);
  push(`environments.${environment}.${spec.name}.`, env?.[spec.name] as Layer | undefined);

  const values: Record<string, string> = {};
  const where: Record<string, string> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      if (value === undefined) continue;
      values[key] = inputText(value);
      where[key] = `${layer.at}${key}`;
    }
  }
  // Each value as the input would parse it, so a bad one is named here, by its key in the file.
  const issues = Object.entries(values).flatMap(([key, text]) => {
    const result = spec.inputs[key]!.schema.safeParse(text, { reportInput: true });
    return result.success ? [] : result.error.issues.map((issue) => ({ ...issue, path: where[key]!.split('.') }));
  });
  if (issues.length > 0) throw new InputError(formatIssues(issues as z.core.$ZodIssue[], { label }));
  return values;
}

/** A file value as the input's text: lists of numbers comma-separated (steps), other lists and maps as JSON (which is YAML). */
function inputText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'number')) return value.join(',');
  return JSON.stringify(value);
}

/** Refuses secrets (by key or by value) and per-run keys, each with its fix. */
function refuseSecrets(doc: unknown, label: string): void {
  const walk = (node: unknown, path: string[]): void => {
    if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) walk(item, [...path, String(i)]);
      return;
    }
    if (typeof node === 'string') {
      if (SECRET_VALUE.some((pattern) => pattern.test(node))) {
        throw new InputError(
          `${label}: '${path.join('.')}' holds what looks like a secret (a token, a private key or a URL with a password; not shown). The delivery file is committed: remove it from the file, rotate it, and pass it through a secret input instead (e.g. slack-token: \${{ secrets.SLACK_TOKEN }}).`,
        );
      }
      return;
    }
    if (!node || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) {
      const at = [...path, key];
      // Only the file's own keys: the inside of an inline analysis or canary config is theirs to check.
      const ownKey =
        path.length === 0 ||
        (path.length === 1 && (path[0] === 'environments' || isSection(path[0]!))) ||
        (path.length === 2 && path[0] === 'environments') ||
        (path.length === 3 && path[0] === 'environments' && isSection(path[2]!));
      if (ownKey && SECRET_KEY.test(key)) {
        const input = secretInputFor(key);
        throw new InputError(
          `${label}: '${at.join('.')}' is a secret, and secrets never go in the delivery file (it is committed). Remove it and pass ${input ? `the \`${input}\` input` : 'it as a secret input'} from a secret, e.g. \`${input ?? key}: \${{ secrets.${(input ?? key).toUpperCase().replace(/-/g, '_')} }}\`.`,
        );
      }
      if (ownKey && PER_RUN.has(key) && !(path.length === 1 && path[0] === 'environments')) {
        const why =
          key === 'service' || key === 'environment'
            ? `is what the run names (the file is one service's; per-environment settings go under environments.<name>)`
            : 'changes from run to run, so it is an input, not a delivery file key';
        throw new InputError(`${label}: '${at.join('.')}' ${why}: give \`${key}\` to the action or the workflow (a dispatch asks for it).`);
      }
      walk(child, at);
    }
  };
  walk(doc, []);
}

function isSection(key: string): boolean {
  return deliveryFileActions.some((spec) => spec.name === key);
}

function secretInputFor(key: string): string | undefined {
  for (const spec of deliveryFileActions) {
    const found = Object.entries(spec.inputs).find(([name, def]) => def.secret && name === key);
    if (found) return found[0];
  }
  return undefined;
}

/**
 * The raw inputs with the delivery file applied: an input given (not empty) is kept, an empty
 * one takes the file's value; what neither gives gets the input's default from the parser.
 */
export async function withDeliveryFile(
  spec: ActionSpec,
  raw: Record<string, string | undefined>,
  workspace: string,
): Promise<{ raw: Record<string, string | undefined>; file?: LoadedDeliveryFile }> {
  const file = await loadDeliveryFile(spec, raw, workspace);
  if (!file) return { raw };
  const merged = { ...raw };
  for (const [key, value] of Object.entries(file.values)) {
    if ((merged[key] ?? '').trim() === '') merged[key] = value;
  }
  return { raw: merged, file };
}

/**
 * parseInputs after the delivery file: the typed inputs, and the file read (for the log). An
 * input error says where the empty inputs were looked for.
 */
export async function parseInputsWithFile<S extends ActionSpec>(
  spec: S,
  raw: Record<string, string | undefined>,
  workspace: string,
): Promise<{ inputs: ParsedInputs<S>; file?: LoadedDeliveryFile }> {
  const { raw: merged, file } = await withDeliveryFile(spec, raw, workspace);
  try {
    return { inputs: parseInputs(spec, merged), file };
  } catch (error) {
    if (!(error instanceof InputError) || !('delivery-file' in spec.inputs)) throw error;
    const where = file
      ? `Inputs left empty were read from the delivery file ${file.path}; give them there or as inputs.`
      : noDeliveryFileHint(raw);
    throw new InputError(`${error.message}\n  ${where}`);
  }
}
