/**
 * The JSON schemas we publish for editors (`# yaml-language-server: $schema=...`), generated
 * from the zod schema that validates the file: what a user writes, the input side of every
 * transform. One shape for all of them: `$schema`, then title and description, then the rest.
 */
import * as z from 'zod';

export function publishedJsonSchema(schema: z.ZodType, title: string, description: string): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: generated.$schema,
    title,
    description,
    ...Object.fromEntries(Object.entries(generated).filter(([key]) => key !== '$schema')),
  };
}

/** A published schema file's text: two-space JSON and a final newline. */
export function jsonSchemaText(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
