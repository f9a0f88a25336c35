/**
 * The command line with the blue-green flow, for tests that run a switch in a process of its own
 * (and kill it). Same entry as `src/cli.ts blue-green`, whatever src/core/specs/index.ts lists.
 */
import { runCli } from '../../src/cli/main.js';
import { blueGreenFlow } from '../../src/core/blue-green/flow.js';
import { blueGreenSpec } from '../../src/core/specs/blue-green.js';

process.exitCode = await runCli([{ spec: blueGreenSpec, flow: async () => blueGreenFlow }], process.argv.slice(2));
