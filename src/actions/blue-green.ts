import '../quiet-deprecations.js';
import { blueGreenFlow } from '../core/blue-green/flow.js';
import { runFlow } from './runtime.js';

/** actions/blue-green: the blue-green switch (src/core/blue-green), its post step restoring an unfinished switch. */
await runFlow(blueGreenFlow);
