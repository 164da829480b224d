/** `chainrule graph`: the recorded graph of the worked example's loss, as DOT or SVG. */
import { writeFile } from 'node:fs/promises';
import { toDot, toSvg } from '../../inspect/dot.js';
import { traceLoss, workedExample } from '../../inspect/examples.js';
import { flag, formatFlags, noPositionals, parseArgs } from '../args.js';
import type { Command } from './types.js';

const FLAGS = {
  format: flag.choice('dot (Graphviz source) or svg (rendered in-process by a WebAssembly Graphviz)', ['dot', 'svg'] as const, { defaultText: 'svg with --out FILE.svg, else dot' }),
  out: flag.string('write here instead of to standard output', { valueName: 'FILE' }),
  loss: flag.choice('loss of the worked example', ['half-mse', 'mse', 'bce', 'ce'] as const, { defaultText: 'half-mse' }),
  rankdir: flag.choice('layout direction', ['tb', 'lr'] as const, { defaultText: 'tb' }),
  noGradients: flag.bool('draw the forward edges only'),
};

const HELP = `Usage: chainrule graph [options]

Draws the graph autograd recorded for the loss of the seeds' 2-3-1 worked example, after one
backward pass: one node per recorded op (its gradFn, output shape, value and gradient), one per
parameter (by module path, e.g. 0.weight) and per constant input. Forward edges are blue;
gradient edges dashed vermillion; a node used by several ops says its gradient is their sum.
In code: toDot(tensor, { modelForNames: model }) and toSvg(dot) from chainrule/inspect.

Options:
${formatFlags(FLAGS)}

Examples:
  chainrule graph --out graph.svg
  chainrule graph --format dot | dot -Tpng > graph.png
`;

export const graphCommand: Command = {
  name: 'graph',
  summary: 'draw the recorded autograd graph of a loss (DOT or SVG)',
  help: () => HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs(argv, FLAGS, 'chainrule graph');
    noPositionals('graph', positionals);
    const loss = values.loss ?? 'half-mse';
    const ex = workedExample({ loss });
    const traced = traceLoss(ex.model, ex.x, ex.y, loss);
    const dot = toDot(traced.loss, {
      modelForNames: ex.model,
      tensors: traced.tensors,
      rankdir: values.rankdir === 'lr' ? 'LR' : 'TB',
      gradientEdges: !values.noGradients,
      title: `The seeds' 2-3-1 worked example: ${loss} loss after backward()`,
    });
    const format = values.format ?? (values.out?.toLowerCase().endsWith('.svg') ? 'svg' : 'dot');
    const text = format === 'svg' ? await toSvg(dot) : dot;
    if (values.out) {
      await writeFile(values.out, text);
      io.stdout.write(`wrote ${values.out} (${format})\n`);
    } else {
      io.stdout.write(text);
    }
    return 0;
  },
};
