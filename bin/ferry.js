#!/usr/bin/env node
/* eslint-disable @typescript-eslint/no-require-imports -- node runs this CommonJS entry point as it is */
// In a clone the sources run through tsx, so the command is never older than them; an installed
// package without its sources runs the build.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const source = join(root, 'src', 'cli', 'ferry.ts');
if (existsSync(source) && existsSync(join(root, 'node_modules', 'tsx'))) {
  require('tsx/cjs/api').register();
  void require(source).main(process.argv);
} else {
  void require(join(root, 'dist', 'src', 'cli', 'ferry.js')).main(process.argv);
}
