#!/usr/bin/env node
import './quiet-deprecations.js';
import { runCli } from './cli/main.js';
import { flows } from './flows.js';

process.exitCode = await runCli(flows, process.argv.slice(2));
