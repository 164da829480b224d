/** `chainrule summary`: parameters and multiply-adds per layer of an MLP. */
import { Sequential } from '../../nn/modules/container.js';
import { Linear } from '../../nn/modules/linear.js';
import type { AnyModule } from '../../nn/module.js';
import { activationModule } from '../../inspect/examples.js';
import { renderSummary, summary } from '../../inspect/summary.js';
import { flag, formatFlags, noPositionals, parseArgs } from '../args.js';
import type { Command } from './types.js';

const FLAGS = {
  layers: flag.intList('layer sizes, input first', { defaultText: '5,10,8,3', minLength: 2 }),
  activation: flag.choice('activation between layers', ['relu', 'sigmoid', 'tanh', 'identity'] as const, { defaultText: 'relu' }),
  batch: flag.int('examples per forward pass (the counts scale with it)', { positive: true, defaultText: '1' }),
  format: flag.choice('output format', ['text', 'json'] as const, { defaultText: 'text' }),
};

const HELP = `Usage: chainrule summary [options]

Prints, for an MLP with the given layer sizes, each layer's output shape, parameter count and
the multiply-adds of one forward and one backward pass, with totals and the backward-to-forward
ratio. The default is the seeds' exercise 16.5: 5-10-8-3, which has 175 parameters.
In code: summary(model, inputShape) from chainrule/inspect, for any model.

Options:
${formatFlags(FLAGS)}

Examples:
  chainrule summary
  chainrule summary --layers 784,256,128,10 --batch 128
`;

export const summaryCommand: Command = {
  name: 'summary',
  summary: 'parameters and multiply-adds (forward and backward) per layer',
  help: () => HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs(argv, FLAGS, 'chainrule summary');
    noPositionals('summary', positionals);
    const sizes = values.layers ?? [5, 10, 8, 3];
    const mods: AnyModule[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      mods.push(new Linear(sizes[i]!, sizes[i + 1]!));
      if (i + 2 < sizes.length && (values.activation ?? 'relu') !== 'identity') mods.push(activationModule(values.activation ?? 'relu'));
    }
    const batch = values.batch ?? 1;
    const s = summary(new Sequential(...mods), batch === 1 ? [sizes[0]!] : [batch, sizes[0]!]);
    io.stdout.write(values.format === 'json' ? `${JSON.stringify(s, null, 2)}\n` : renderSummary(s));
    return 0;
  },
};
