/**
 * The command line with the blue-green flow, for tests that run a switch in a process of its own
 * (and kill it). Same entry as `src/cli.ts blue-green`, whatever src/flows.ts wires.
 */
import { runCli } from '../../src/cli/main.js';
import { blueGreenFlow } from '../../src/core/blue-green/flow.js';

process.exitCode = await runCli({ 'blue-green': blueGreenFlow }, process.argv.slice(2));
