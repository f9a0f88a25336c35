/**
 * The entry of the one bundle (`npm run build` writes it to dist/index.js, with the modules it
 * loads on demand beside it as numbered chunks). Every action's `dist/<name>/index.cjs` starts
 * dist/start.cjs (src/actions/start.ts), which loads this bundle once the quick input checks pass;
 * the command line's `dist/cli/index.js` imports it. Both stubs are written from the list in
 * src/core/specs/index.ts.
 */
import './quiet-deprecations.js';

export { runAction } from './actions/runtime.js';

/**
 * The command line over every action of the list; resolves to the exit code. Loaded on demand:
 * an action's start-up path (runAction, up to its quick input checks) then holds neither the
 * command line nor the specs and zod. The command line's own bad inputs fail on its quick
 * checks first (src/cli/quick.ts), before the specs and zod are loaded.
 */
export async function cli(argv: readonly string[]): Promise<number> {
  const quickCode = await (await import('./cli/quick.js')).quickCli(argv);
  if (quickCode !== undefined) return quickCode;
  const [{ runCli }, { actions }] = await Promise.all([import('./cli/main.js'), import('./core/specs/index.js')]);
  return runCli(actions, argv);
}
