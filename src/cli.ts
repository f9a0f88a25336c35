#!/usr/bin/env node
/** `npm run cli -- <action> ...`: the command line from the sources (the bundle's is dist/cli/index.js). */
import './quiet-deprecations.js';
import { runCli } from './cli/main.js';
import { actions } from './core/specs/index.js';

process.exitCode = await runCli(actions, process.argv.slice(2));
