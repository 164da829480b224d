/** `chainrule generate DIR`: text sampled from a GPT checkpoint (train --model gpt --out DIR), seeded. */
import { loadCheckpoint } from '../../io/checkpoint.js';
import { Generator } from '../../tensor/random.js';
import { sampleGpt } from '../../train/generate.js';
import { validateGptRunConfig } from '../../train/gpt-config.js';
import { GPT } from '../../train/gpt-model.js';
import { loadGptWeights } from '../../train/gpt.js';
import { CharVocab } from '../../train/text.js';
import { flag, formatFlags, parseArgs } from '../args.js';
import { UsageError } from '../errors.js';
import type { Command } from './types.js';

const FLAGS = {
  prompt: flag.string('text to continue (its characters must be in the model\'s vocabulary)', { defaultText: 'a new line' }),
  tokens: flag.int('characters to generate', { nonNegative: true, defaultText: '500' }),
  seed: flag.int('seed of the sampling; the same seed gives the same text', { nonNegative: true, defaultText: '0' }),
  temperature: flag.number('divide the logits by this (below 1: safer, above: wilder; 0: always the most likely)', { nonNegative: true, defaultText: '1' }),
  topK: flag.int('sample among the K most likely characters only', { positive: true, defaultText: 'all' }),
};

const HELP = `Usage: chainrule generate DIR [options]

Samples text from the GPT checkpoint in DIR (written by chainrule train --model gpt --out DIR),
one character at a time. The prompt, when given, is printed first, then its continuation.

Options:
${formatFlags(FLAGS)}

Examples:
  chainrule generate runs/gpt --tokens 300
  chainrule generate runs/gpt --prompt "The river" --temperature 0.8 --top-k 10 --seed 3
`;

export const generateCommand: Command = {
  name: 'generate',
  summary: 'sample text from a GPT checkpoint (train --model gpt)',
  help: () => HELP,
  async run(argv, io) {
    const { values: v, positionals } = parseArgs(argv, FLAGS, 'chainrule generate');
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length === 0 ? 'chainrule generate needs the checkpoint directory: chainrule generate DIR' : `chainrule generate takes one directory, got ${positionals.join(' ')}`);
    }
    const dir = positionals[0]!;
    const ckpt = await loadCheckpoint(dir);
    const cfg = validateGptRunConfig(ckpt.config, `${dir}/config.json`);
    const model = new GPT(cfg.model);
    loadGptWeights(model, ckpt);
    const vocab = new CharVocab(cfg.vocab);
    let prompt: Int32Array;
    let shown: number;
    if (v.prompt !== undefined) {
      prompt = vocab.encode(v.prompt, '--prompt');
      shown = 0;
    } else {
      prompt = vocab.encode(vocab.has('\n') ? '\n' : vocab.chars[0]!);
      shown = 1; // the start character is not part of the sample
    }
    const ids = sampleGpt(model, prompt, {
      tokens: v.tokens ?? 500, temperature: v.temperature ?? 1, topK: v.topK ?? null, generator: new Generator(v.seed ?? 0),
    });
    io.stdout.write(`${vocab.decode(ids.subarray(shown))}\n`);
    return 0;
  },
};
