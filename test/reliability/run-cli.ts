/**
 * The command line with every flow (src/flows.ts), for tests that run a flow in a process of its
 * own and SIGKILL it: same entry as `src/cli.ts`.
 */
import { runCli } from '../../src/cli/main.js';
import { flows } from '../../src/flows.js';

process.exitCode = await runCli(flows, process.argv.slice(2));
