#!/usr/bin/env node
// The `chainrule` command: runs the CLI built into dist/ (npm ci and npm install build it
// through the "prepare" script; after editing src/, run `npm run build`).
try {
  await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('chainrule: the CLI is not built (dist/cli/main.js is missing); run `npm run build` in the chainrule directory');
    process.exit(1);
  }
  throw err;
}
