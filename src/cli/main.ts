#!/usr/bin/env node
/** The `chainrule` executable: runs the command line and exits with its code. */
import { main } from './cli.js';

// `chainrule predict ... | head` closes the pipe early: stop quietly, as other tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
