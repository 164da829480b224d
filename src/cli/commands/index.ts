/**
 * The commands of `chainrule`, in the order the top-level help lists them. To add one, write
 * a module exporting a `Command` (see types.ts and train.ts) and list it here; the help,
 * dispatch and error handling in main.ts need no change.
 */
import { evalCommand } from './eval.js';
import { explainCommand } from './explain.js';
import { exportCommand } from './export.js';
import { generateCommand } from './generate.js';
import { gradflowCommand } from './gradflow.js';
import { graphCommand } from './graph.js';
import { summaryCommand } from './summary.js';
import { predictCommand } from './predict.js';
import { trainCommand } from './train.js';
import type { Command } from './types.js';

export type { CliIO, Command } from './types.js';

export const COMMANDS: readonly Command[] = [
  trainCommand, generateCommand, evalCommand, predictCommand, exportCommand, explainCommand, graphCommand, gradflowCommand, summaryCommand,
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
