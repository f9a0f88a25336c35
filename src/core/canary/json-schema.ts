/**
 * The JSON schema of the canary config file, generated from the zod schema that validates it
 * (what a user writes: the input side of every transform). Published as
 * `actions/canary/config.schema.json` for editors (`# yaml-language-server: $schema=...`);
 * a test keeps the committed file equal to this.
 */
import { jsonSchemaText, publishedJsonSchema } from '../config/json-schema.js';
import { canaryConfigSchema } from './config-schema.js';

export function canaryConfigJsonSchema(): Record<string, unknown> {
  return publishedJsonSchema(
    canaryConfigSchema,
    'Canary config (actions/canary)',
    'Steps in Argo Rollouts vocabulary (setWeight, pause, analysis), the router, the stable and canary workloads, metric templates and a background analysis.',
  );
}

export function canaryConfigJsonSchemaText(): string {
  return jsonSchemaText(canaryConfigJsonSchema());
}
