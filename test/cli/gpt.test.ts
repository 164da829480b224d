import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { defaultTextPath, GPT_DEFAULTS } from '../../src/train/gpt.js';
import { validateGptRunConfig } from '../../src/train/gpt-config.js';
import { CharVocab, textDataset } from '../../src/train/text.js';
import { Generator } from '../../src/tensor/random.js';
import { cli, tempDir } from './helpers.js';

// `chainrule train --model gpt` and `chainrule generate`: the default model trained for a short
// run beats the unigram entropy of the shipped text on its validation split; generate repeats
// itself for one seed and differs for another.

/** Entropy (nats) of the character frequencies, computed here from the text itself. */
function entropyOf(text: string): number {
  const counts: Record<string, number> = {};
  const chars = Array.from(text);
  for (const c of chars) counts[c] = (counts[c] ?? 0) + 1;
  return -Object.values(counts).reduce((h, k) => h + (k / chars.length) * Math.log(k / chars.length), 0);
}

const STEPS = 80;
let dir: string;
let trainOut: string;

describe('chainrule train --model gpt', () => {
  beforeAll(async () => {
    dir = tempDir('gpt');
    const r = await cli('train', '--model', 'gpt', '--steps', String(STEPS), '--eval-interval', '40', '--eval-iters', '4', '--out', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    trainOut = r.stdout;
  }, 120_000);

  it('the default model\'s validation loss falls below the text\'s unigram entropy in a short run', async () => {
    const text = readFileSync(defaultTextPath(), 'utf8');
    const h = entropyOf(text);
    expect(h).toBeGreaterThan(2.5); // English letters: about 4 bits
    const ckpt = await loadCheckpoint(dir);
    const cfg = validateGptRunConfig(ckpt.config, dir);
    expect(cfg.model).toMatchObject({ layers: GPT_DEFAULTS.layers, heads: GPT_DEFAULTS.heads, embed: GPT_DEFAULTS.embed, context: GPT_DEFAULTS.context });
    expect(cfg.step).toBe(STEPS);
    const metrics = ckpt.metrics as { step: number; valLoss: number; trainLoss: number }[];
    expect(metrics.map((m) => m.step)).toEqual([40, 80]);
    const last = metrics[metrics.length - 1]!;
    expect(last.valLoss).toBeLessThan(h);
    expect(last.valLoss).toBeLessThan(metrics[0]!.valLoss);
    expect(trainOut).toMatch(/step 80\/80 {2}train loss \d\.\d{4} {2}val loss \d\.\d{4}/);
    expect(trainOut).toMatch(/^done: val loss /m);
    expect(readFileSync(join(dir, 'metrics.csv'), 'utf8').split('\n')[0]).toBe('step,train_loss,val_loss,lr,seconds');
  });

  it('generate is deterministic for a seed and differs across seeds', async () => {
    const a = await cli('generate', dir, '--tokens', '60', '--seed', '5', '--prompt', 'The river');
    const b = await cli('generate', dir, '--tokens', '60', '--seed', '5', '--prompt', 'The river');
    const c = await cli('generate', dir, '--tokens', '60', '--seed', '6', '--prompt', 'The river');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(c.stdout).not.toBe(a.stdout);
    expect(a.stdout.startsWith('The river')).toBe(true);
    expect(Array.from(a.stdout.trimEnd()).length).toBeGreaterThanOrEqual('The river'.length + 50);
    const topK = await cli('generate', dir, '--tokens', '40', '--seed', '5', '--temperature', '0.7', '--top-k', '3');
    expect(topK.code).toBe(0);
    const greedy1 = await cli('generate', dir, '--tokens', '30', '--seed', '1', '--temperature', '0');
    const greedy2 = await cli('generate', dir, '--tokens', '30', '--seed', '2', '--temperature', '0');
    expect(greedy1.stdout).toBe(greedy2.stdout); // greedy draws nothing
  });

  it('resume continues the run to a larger --steps', async () => {
    const r = await cli('train', '--resume', dir, '--steps', String(STEPS + 10), '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^done: val loss \d\.\d{4} after step 90/);
    expect(validateGptRunConfig((await loadCheckpoint(dir)).config, dir).step).toBe(STEPS + 10);
  }, 60_000);

  it('refuses bad settings with one line naming the flag or field', async () => {
    const r = await cli('train', '--model', 'gpt', '--embed', '30', '--heads', '4');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--embed 30 must be a multiple of --heads 4/);
    const p = await cli('generate', dir, '--prompt', 'The §');
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/--prompt: character "§" \(U\+00A7\) at position 4 is not in the model's vocabulary/);
    const none = await cli('generate');
    expect(none.code).toBe(2);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const bad = tempDir('gpt-bad-config');
    cfg.model.heads = 3;
    expect(() => validateGptRunConfig(cfg, 'x/config.json')).toThrow(/model.embed: 64 is not a multiple of model.heads \(3\)/);
    const short = join(bad, 'short.txt');
    writeFileSync(short, 'abcabc');
    const s = await cli('train', '--model', 'gpt', '--text', short, '--steps', '2');
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/fewer than the context \+ 1/);
    const e = await cli('eval', dir);
    expect(e.code).not.toBe(0);
    expect(e.stderr).toMatch(/GPT checkpoint/);
  });
});

describe('text data', () => {
  it('a character vocabulary in code-point order; windows of x and the next characters y', () => {
    const v = CharVocab.fromText('banana é');
    expect(v.chars).toEqual([' ', 'a', 'b', 'n', 'é']);
    expect(v.decode(v.encode('nab é'))).toBe('nab é');
    const d = textDataset('abcdefghijklmnopqrstuvwxyz'.repeat(4), { valFraction: 0.25 });
    expect(d.train.length).toBe(78);
    expect(d.val.length).toBe(26);
    const [x, y] = d.batch('train', 3, 5, new Generator(1));
    const [x2] = d.batch('train', 3, 5, new Generator(1));
    expect(x.dataSync()).toEqual(x2.dataSync());
    const xs = x.dataSync();
    const ys = y.dataSync();
    for (let i = 0; i < 15; i++) expect(ys[i]).toBe((xs[i]! + 1) % 26);
  });
});
