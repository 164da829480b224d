#!/usr/bin/env node
/** The `chainrule` executable: runs the command line and exits with its code. */
import { runProcess } from './cli.js';

// A closed or full standard output (`chainrule predict ... | head -1`) is one line and exit 4 (see runProcess).
process.exitCode = await runProcess(process.argv.slice(2));
