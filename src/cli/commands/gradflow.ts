/** `chainrule gradflow`: the seeds' vanishing-gradient experiment, sigmoid against ReLU. */
import { writeFile } from 'node:fs/promises';
import { gradflowNetwork } from '../../inspect/examples.js';
import { GradientMonitor } from '../../inspect/gradient-monitor.js';
import { compareGradientFlowSvg } from '../../inspect/gradflow-chart.js';
import { mseLoss } from '../../nn/functional/loss.js';
import { flag, formatFlags, noPositionals, parseArgs } from '../args.js';
import { UsageError } from '../errors.js';
import type { Command } from './types.js';

const MAX_BATCH = 100_000;

const FLAGS = {
  reluOutput: flag.bool("put a ReLU on the ReLU network's output layer too, as the seeds did (it dies)"),
  seed: flag.int('seed of the weights and the example', { nonNegative: true, defaultText: '0' }),
  batch: flag.int('examples in the batch (the seeds used one)', { positive: true, defaultText: '1' }),
  svg: flag.string('also draw the per-layer norms of both networks here', { valueName: 'FILE' }),
  format: flag.choice('output format', ['text', 'json'] as const, { defaultText: 'text' }),
};

const HELP = `Usage: chainrule gradflow [options]

Reproduces the seeds' gradient-flow experiment (chapter 16.6): a 10-20-20-20-20-20-1 network
without biases, Xavier-normal weights, one random example and ½(a − y)², once with sigmoid
and once with ReLU, and prints ‖δˡ‖ and ‖∂L/∂Wˡ‖ for every layer with the first-to-last ratio
(about 1e-3 for sigmoid: its early layers barely learn) and the GradientMonitor's warnings.

The seeds also put the activation on the output layer; their ReLU run printed all-zero
gradients because that output ReLU died. Here the ReLU network's output is linear unless you
pass --relu-output, which rebuilds the seeds' network; the monitor then says the output layer
is dead instead of printing zeros.

Options:
${formatFlags(FLAGS)}

Examples:
  chainrule gradflow
  chainrule gradflow --relu-output
  chainrule gradflow --batch 64 --svg gradflow.svg
`;

export const gradflowCommand: Command = {
  name: 'gradflow',
  summary: "gradient norms per layer: the seeds' sigmoid vs ReLU vanishing-gradient experiment",
  help: () => HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs(argv, FLAGS, 'chainrule gradflow');
    noPositionals('gradflow', positionals);
    const seed = values.seed ?? 0;
    const batch = values.batch ?? 1;
    // The experiment is about a random batch of a 10-20-…-1 network: beyond this it only fills memory.
    if (batch > MAX_BATCH) throw new UsageError(`--batch ${batch} is more than this experiment uses (at most ${MAX_BATCH.toLocaleString('en')} examples)`);
    const setups = [
      { name: 'sigmoid', activation: 'sigmoid' as const, outputActivation: 'sigmoid' as const, note: 'sigmoid on every layer, the output included (as the seeds)' },
      values.reluOutput
        ? { name: 'relu', activation: 'relu' as const, outputActivation: 'relu' as const, note: 'ReLU on every layer, the output included (as the seeds)' }
        : { name: 'relu', activation: 'relu' as const, outputActivation: 'identity' as const, note: 'ReLU on the hidden layers, linear output' },
    ];
    const runs = setups.map((s) => {
      const { model, x, y } = gradflowNetwork({ activation: s.activation, outputActivation: s.outputActivation, seed, batch });
      const monitor = new GradientMonitor(model);
      const out = model.call(x);
      mseLoss(out, y, { reduction: 'sum' }).mul(0.5 / batch).backward();
      monitor.step();
      monitor.detach();
      return { ...s, monitor };
    });
    if (values.format === 'json') {
      io.stdout.write(`${JSON.stringify(runs.map((r) => ({
        name: r.name, note: r.note, layers: r.monitor.layers, record: r.monitor.history[0], firstToLastRatio: r.monitor.firstToLastRatio(), warnings: r.monitor.warnings(),
      })), null, 2)}\n`);
    } else {
      io.stdout.write(`The seeds' gradient-flow experiment: 10-20-20-20-20-20-1, no biases, Xavier-normal weights, ${batch === 1 ? 'one random example' : `${batch} random examples`} (seed ${seed}), ½(a − y)².\n`);
      for (const r of runs) io.stdout.write(`\n${r.name}: ${r.note}\n${r.monitor.report()}`);
    }
    if (values.svg) {
      await writeFile(values.svg, compareGradientFlowSvg(runs.map((r) => ({ name: `${r.name} (${r.note.split(',')[0]})`, monitor: r.monitor })), `‖δ‖ per layer, sigmoid against ReLU (seed ${seed}, batch ${batch})`));
      if (values.format !== 'json') io.stdout.write(`\nwrote ${values.svg}\n`);
    }
    return 0;
  },
};
