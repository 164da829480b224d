/** `chainrule explain`: one step of backpropagation with every number of the four equations. */
import { explain } from '../../inspect/explain.js';
import { renderExplain } from '../../inspect/explain-render.js';
import { workedExample } from '../../inspect/examples.js';
import { flag, formatFlags, noPositionals, parseArgs } from '../args.js';
import type { Command } from './types.js';

const LOSSES = ['half-mse', 'mse', 'bce', 'ce'] as const;
const ACTIVATIONS = ['sigmoid', 'tanh', 'relu', 'leakyrelu', 'identity'] as const;

const FLAGS = {
  format: flag.choice('output format', ['text', 'markdown', 'json'] as const, { defaultText: 'text' }),
  loss: flag.choice('loss: the seeds\' ½-MSE, mean MSE, sigmoid + binary cross-entropy, softmax + cross-entropy', LOSSES, { defaultText: 'half-mse' }),
  activation: flag.choice('activation of the hidden layer', ACTIVATIONS, { defaultText: 'sigmoid' }),
  lr: flag.number('learning rate η of the SGD step', { nonNegative: true, defaultText: '0.5' }),
};

const HELP = `Usage: chainrule explain [options]

Runs one step of backpropagation on the seeds' worked example (chapter 16.5: a 2-3-1 sigmoid
network, W¹ = [[0.15, 0.20], [0.25, 0.30], [0.35, 0.40]], b¹ = 0.35, W² = [0.40, 0.45, 0.50],
b² = 0.60, x = (0.05, 0.10), y = 0.01, η = 0.5) and prints every number: the forward pass with
the weighted sums written out, the loss, BP1 (δᴸ = ∇ₐL ⊙ σ′(zᴸ)), BP2 (δˡ = (Wˡ⁺¹)ᵀδˡ⁺¹ ⊙ σ′(zˡ)),
BP3 (∂L/∂Wˡ = δˡ(aˡ⁻¹)ᵀ), BP4 (∂L/∂bˡ = δˡ), the update and the loss after it. The numbers come
from the equations written out, and are then checked against chainrule's autograd: a mismatch
is an error.

With --loss bce the output stays a sigmoid and δᴸ = a − y (exercise 16.1); with --loss ce the
output layer gets a second unit, softmax moves into the loss and δᴸ = softmax(z) − onehot(y)
(exercise 16.4). In code: explain(model, x, y, { loss, lr }) from chainrule/inspect.

Options:
${formatFlags(FLAGS)}

Examples:
  chainrule explain
  chainrule explain --loss ce --format markdown
  chainrule explain --activation relu --format json
`;

export const explainCommand: Command = {
  name: 'explain',
  summary: 'backpropagation step by step, with the numbers (the seeds\' worked example)',
  help: () => HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs(argv, FLAGS, 'chainrule explain');
    noPositionals('explain', positionals);
    const hidden = values.activation === 'leakyrelu' ? 'leakyRelu' : (values.activation ?? 'sigmoid');
    const ex = workedExample({ loss: values.loss ?? 'half-mse', hidden });
    const result = explain(ex.model, ex.x, ex.y, { loss: ex.loss, lr: values.lr ?? ex.lr });
    io.stdout.write(renderExplain(result, values.format ?? 'text'));
    return 0;
  },
};
