/**
 * Sampling text from a GPT, one token at a time (the core: no Node modules).
 *
 *   const ids = sampleGpt(model, vocab.encode('The '), { tokens: 200, temperature: 0.8, topK: 10, generator: new Generator(7) });
 *
 * Each step runs the model on the last `context` tokens, divides the last position's logits by
 * the temperature, keeps the top-k of them (the rest get probability 0) and draws the next token
 * with multinomial from the generator, so one seed gives one text. Temperature 0 takes the most
 * likely token (greedy decoding, no draws).
 */
import { noGrad } from '../autograd/grad-mode.js';
import { ValueError } from '../errors.js';
import { softmax } from '../ops/functional.js';
import { multinomial } from '../ops/sampling.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { GPT } from './gpt-model.js';

export interface SampleOptions {
  /** New tokens to draw. */
  tokens: number;
  /** Default 1; 0 is greedy. */
  temperature?: number;
  /** Sample from the k most likely tokens only; default: all. */
  topK?: number | null;
  generator?: Generator;
}

/** The prompt's ids followed by `tokens` sampled ones. */
export function sampleGpt(model: GPT, prompt: Int32Array, opts: SampleOptions): Int32Array {
  const who = 'sampleGpt';
  const { tokens } = opts;
  const temperature = opts.temperature ?? 1;
  const V = model.config.vocabSize;
  const topK = opts.topK ?? null;
  if (!Number.isInteger(tokens) || tokens < 0) throw new ValueError(`${who}: tokens must be a non-negative integer, got ${tokens}`);
  if (!(temperature >= 0 && Number.isFinite(temperature))) throw new ValueError(`${who}: temperature must be a finite number ≥ 0, got ${temperature}`);
  if (topK !== null && !(Number.isInteger(topK) && topK >= 1)) throw new ValueError(`${who}: topK must be a positive integer, got ${topK}`);
  if (prompt.length === 0) throw new ValueError(`${who}: the prompt needs at least one token`);
  for (const id of prompt) {
    if (!(id >= 0 && id < V)) throw new ValueError(`${who}: prompt token ${id} is outside the vocabulary of ${V}`);
  }
  const gen = opts.generator ?? defaultGenerator;
  const out = new Int32Array(prompt.length + tokens);
  out.set(prompt);
  const ctx = model.config.context;
  const k = topK === null ? V : Math.min(topK, V);
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (let n = prompt.length; n < out.length; n++) {
        const from = Math.max(0, n - ctx);
        const idx = new Tensor(out.slice(from, n), [1, n - from], 'int32');
        const logits = model.call(idx).select(1, n - from - 1).reshape([V]).to('float64');
        const z = logits.dataSync() as Float64Array;
        if (temperature === 0) {
          let best = 0;
          for (let j = 1; j < V; j++) if (z[j]! > z[best]!) best = j;
          out[n] = best;
          continue;
        }
        const scaled = Float64Array.from(z, (v) => v / temperature);
        if (k < V) {
          // The k-th largest value: everything below it is dropped (ties at it are kept, as nanoGPT).
          const kth = Float64Array.from(scaled).sort().reverse()[k - 1]!;
          for (let j = 0; j < V; j++) if (scaled[j]! < kth) scaled[j] = -Infinity;
        }
        const probs = softmax(new Tensor(scaled, [V], 'float64'), -1);
        out[n] = multinomial(probs, 1, false, gen).dataSync()[0]!;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return out;
}
