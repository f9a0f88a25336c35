/**
 * The command line with every action (src/core/specs/index.ts), for tests that run a flow in a process of its
 * own and SIGKILL it: same entry as `src/cli.ts`.
 */
import { runCli } from '../../src/cli/main.js';
import { actions } from '../../src/core/specs/index.js';

process.exitCode = await runCli(actions, process.argv.slice(2));
