/**
 * The JSON schema of the canary config file, generated from the zod schema that validates it
 * (what a user writes: the input side of every transform). Published as
 * `actions/canary/config.schema.json` for editors (`# yaml-language-server: $schema=...`);
 * a test keeps the committed file equal to this.
 */
import * as z from 'zod';
import { canaryConfigSchema } from './config-schema.js';

export function canaryConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(canaryConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    title: 'Canary config (actions/canary)',
    description:
      'Steps in Argo Rollouts vocabulary (setWeight, pause, analysis), the router, the stable and canary workloads, metric templates and a background analysis.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}

/** The file's text: two-space JSON and a final newline. */
export function canaryConfigJsonSchemaText(): string {
  return `${JSON.stringify(canaryConfigJsonSchema(), null, 2)}\n`;
}
