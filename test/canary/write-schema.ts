/** Regenerates actions/canary/config.schema.json: `npx tsx test/canary/write-schema.ts`. */
import { writeFile } from 'node:fs/promises';
import { canaryConfigJsonSchemaText } from '../../src/core/canary/json-schema.js';

await writeFile(new URL('../../actions/canary/config.schema.json', import.meta.url), canaryConfigJsonSchemaText());
