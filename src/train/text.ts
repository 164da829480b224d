/**
 * Text as a character-level language-modelling dataset (the core: no Node modules).
 *
 *   const data = textDataset(text, { valFraction: 0.1 });
 *   const [x, y] = data.batch('train', 16, 32, gen);   // int32 [16, 32] each; y is x shifted by one
 *
 * The vocabulary is the text's distinct characters (Unicode code points, not UTF-16 units)
 * in code-point order, so the same text always gives the same token ids. The first
 * (1 − valFraction) of the text trains, the rest validates (as nanoGPT splits), and a batch is
 * random windows drawn from the seeded generator it is given.
 */
import { ValueError } from '../errors.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

export class CharVocab {
  readonly chars: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(chars: readonly string[]) {
    this.chars = [...chars];
    this.ids = new Map(this.chars.map((c, i) => [c, i]));
    if (this.ids.size !== this.chars.length) throw new ValueError('CharVocab: the characters must be distinct');
  }

  /** The distinct characters of `text`, in code-point order. */
  static fromText(text: string): CharVocab {
    const set = [...new Set(Array.from(text))];
    set.sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharVocab(set);
  }

  get size(): number {
    return this.chars.length;
  }

  has(ch: string): boolean {
    return this.ids.has(ch);
  }

  /** Token ids of `text`; a character outside the vocabulary is an error naming it (and `what`). */
  encode(text: string, what = 'text'): Int32Array {
    const chars = Array.from(text);
    const out = new Int32Array(chars.length);
    for (let i = 0; i < chars.length; i++) {
      const id = this.ids.get(chars[i]!);
      if (id === undefined) {
        throw new ValueError(`${what}: character ${JSON.stringify(chars[i])} (U+${chars[i]!.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at position ${i} is not in the model's vocabulary of ${this.size} characters`);
      }
      out[i] = id;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const c = this.chars[ids[i]!];
      if (c === undefined) throw new ValueError(`CharVocab.decode: token id ${ids[i]} is outside the vocabulary of ${this.size}`);
      s += c;
    }
    return s;
  }
}

/** Entropy in nats of the character frequencies of `text`: the loss of the best model that ignores context. */
export function unigramEntropy(text: string): number {
  const counts = new Map<string, number>();
  let n = 0;
  for (const c of text) {
    counts.set(c, (counts.get(c) ?? 0) + 1);
    n++;
  }
  let h = 0;
  for (const k of counts.values()) h -= (k / n) * Math.log(k / n);
  return h;
}

export interface TextDatasetOptions {
  /** Fraction of the text (its end) held out for validation; default 0.1. */
  valFraction?: number;
  /** The vocabulary to use (a checkpoint's); default: the text's own characters. */
  vocab?: CharVocab;
  /** For messages: where the text came from. */
  source?: string;
}

export class TextDataset {
  constructor(
    readonly vocab: CharVocab,
    readonly train: Int32Array,
    readonly val: Int32Array,
    readonly source: string,
  ) {}

  /**
   * `batchSize` random windows of `context` + 1 tokens from one split: inputs x [B, T] and the
   * next tokens y [B, T]. The window starts are drawn from `gen` in order, so a seeded
   * generator repeats the batches.
   */
  batch(split: 'train' | 'val', batchSize: number, context: number, gen: Generator): [Tensor, Tensor] {
    const data = split === 'train' ? this.train : this.val;
    if (data.length < context + 1) {
      throw new ValueError(`${this.source}: the ${split} split has ${data.length} characters, fewer than context + 1 = ${context + 1}; use a longer text or a shorter --context`);
    }
    const x = new Int32Array(batchSize * context);
    const y = new Int32Array(batchSize * context);
    for (let b = 0; b < batchSize; b++) {
      const start = gen.integer(0, data.length - context);
      x.set(data.subarray(start, start + context), b * context);
      y.set(data.subarray(start + 1, start + context + 1), b * context);
    }
    return [new Tensor(x, [batchSize, context], 'int32'), new Tensor(y, [batchSize, context], 'int32')];
  }
}

/** Splits `text` into train and validation token streams over its (or the given) vocabulary. */
export function textDataset(text: string, opts: TextDatasetOptions = {}): TextDataset {
  const source = opts.source ?? 'text';
  const frac = opts.valFraction ?? 0.1;
  if (!(frac > 0 && frac < 1)) throw new ValueError(`${source}: the validation fraction must be in (0, 1), got ${frac}`);
  const vocab = opts.vocab ?? CharVocab.fromText(text);
  if (vocab.size < 2) throw new ValueError(`${source}: the text has ${vocab.size} distinct character${vocab.size === 1 ? '' : 's'}; a language model needs at least 2`);
  const ids = vocab.encode(text, source);
  const cut = Math.round(ids.length * (1 - frac));
  return new TextDataset(vocab, ids.slice(0, cut), ids.slice(cut), source);
}
