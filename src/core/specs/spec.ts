import * as z from 'zod';
import { parseWith } from '../config/parse.js';

/**
 * One action's interface: its inputs (each with the schema that parses it), outputs and
 * branding. `npm run build` writes `actions/<name>/action.yml` from this, so the
 * documentation, the validation and the runner's defaults cannot drift apart.
 */
export interface InputDef {
  description: string;
  required?: boolean;
  /** Applied by the runner (from action.yml) and by our own parser when the input is empty. */
  default?: string;
  /** Masked before anything runs and never echoed in messages. */
  secret?: boolean;
  /** Parses the input's string form. Optional inputs may be absent (undefined). */
  schema: z.ZodType;
}

export interface ActionSpec {
  name: string;
  title: string;
  description: string;
  branding: { icon: string; color: string };
  inputs: Record<string, InputDef>;
  outputs: Record<string, { description: string }>;
  /** A post step runs after the job, also when it was cancelled, to release locks and restore traffic. */
  post?: boolean;
  /** GitHub token permissions the action needs, written into the README. */
  permissions?: string[];
}

export function defineAction<const S extends ActionSpec>(spec: S): S {
  return spec;
}

type InputValue<D extends InputDef> = D['required'] extends true
  ? z.output<D['schema']>
  : D['default'] extends string
    ? z.output<D['schema']>
    : z.output<D['schema']> | undefined;

export type ParsedInputs<S extends ActionSpec> = { [K in keyof S['inputs']]: InputValue<S['inputs'][K]> };

/** Names of the inputs that hold secrets. */
export function secretInputs(spec: ActionSpec): string[] {
  return Object.entries(spec.inputs)
    .filter(([, def]) => def.secret)
    .map(([name]) => name);
}

/**
 * Parse raw string inputs (empty string = not given) into typed values, applying defaults,
 * or throw one InputError naming every bad input.
 */
export function parseInputs<S extends ActionSpec>(spec: S, raw: Record<string, string | undefined>): ParsedInputs<S> {
  const shape: Record<string, z.ZodType> = {};
  const values: Record<string, string | undefined> = {};
  for (const [name, def] of Object.entries(spec.inputs)) {
    shape[name] = def.required || def.default !== undefined ? def.schema : def.schema.optional();
    const given = raw[name]?.trim() === '' ? undefined : raw[name];
    values[name] = given ?? def.default;
  }
  return parseWith(z.object(shape), values, {
    label: `inputs of ${spec.name}`,
    secretKeys: secretInputs(spec),
  }) as ParsedInputs<S>;
}
