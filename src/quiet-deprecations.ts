/**
 * Imported first by every action entry and the command line. A dependency of @kubernetes/client-node 1.x (tr46, via
 * node-fetch) loads Node's deprecated `punycode` module, and node24 prints a DEP0040 warning for
 * it in every step's log. Deprecation warnings speak to a library's developers, not to the people
 * reading a deployment log, so the actions do not print them.
 */
process.noDeprecation = true;
