/**
 * Writes the shipped least-privilege Roles (deploy/rbac/*.yaml) from src/core/delivery/roles.ts.
 * `--check`: fails when the committed files differ from what the sources give.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_ROLE, MIGRATE_ROLE, roleYaml, SHIPPED_ROLES } from '../src/core/delivery/roles.js';

const dir = join(import.meta.dirname, '..', 'deploy', 'rbac');
const check = process.argv.includes('--check');
let stale = 0;
for (const role of [...SHIPPED_ROLES, MIGRATE_ROLE, ALL_ROLE]) {
  const file = join(dir, `${role.name}.yaml`);
  const text = roleYaml(role);
  if (check) {
    let now = '';
    try {
      now = readFileSync(file, 'utf8');
    } catch {}
    if (now !== text) {
      console.error(`${file} is not what src/core/delivery/roles.ts gives; run npx tsx scripts/rbac-roles.ts`);
      stale++;
    }
  } else writeFileSync(file, text);
}
process.exit(stale ? 1 : 0);
