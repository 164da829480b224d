/**
 * A character-level GPT in the style of nanoGPT: token and position embeddings, `layers`
 * pre-LayerNorm blocks of causal self-attention and a GELU MLP (each added back to the
 * residual stream), a final LayerNorm and a linear head over the vocabulary.
 *
 *   h = wte(idx) + wpe(0..T−1)
 *   per block:  h = h + attn(ln_1(h));  h = h + mlp(ln_2(h))
 *   logits = lm_head(ln_f(h))
 *
 * The parameters carry nanoGPT's names (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`,
 * `transformer.h.0.mlp.c_fc.bias`, `transformer.ln_f.weight`, `lm_head.weight`, ...), so the
 * state dict of the same model written in PyTorch loads by name (test/fixtures/gen_gpt.py).
 * The head's weight is its own tensor here, not tied to wte's.
 *
 * The core only: no Node modules (it runs in a browser as well).
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { crossEntropy } from '../nn/functional.js';
import { scaledDotProductAttention } from '../nn/functional/attention.js';
import { constant_, normal_ } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { ModuleList } from '../nn/modules/container.js';
import { Dropout, Linear } from '../nn/modules/linear.js';
import { Embedding } from '../nn/modules/embedding.js';
import { GELU } from '../nn/modules/activation.js';
import { LayerNorm } from '../nn/modules/norm.js';
import { arange } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

export interface GptConfig {
  kind: 'gpt';
  /** Characters in the vocabulary. */
  vocabSize: number;
  /** Longest context the position embedding covers (nanoGPT's block_size). */
  context: number;
  layers: number;
  heads: number;
  /** Width of the residual stream; a multiple of heads. */
  embed: number;
  /** Dropout after the embeddings, on the attention weights and on each residual branch. */
  dropout: number;
}

/** Limits the config check and the CLI apply (a GPT past these is a typo, not a plan). */
export const GPT_LIMITS = { vocabSize: 1 << 20, context: 1 << 16, layers: 256, heads: 1024, embed: 1 << 16 };

/** Throws a ValueError naming the first field of `c` that cannot make a model. */
export function checkGptConfig(c: GptConfig): void {
  for (const key of ['vocabSize', 'context', 'layers', 'heads', 'embed'] as const) {
    const v = c[key];
    if (!Number.isInteger(v) || v < 1 || v > GPT_LIMITS[key]) {
      throw new ValueError(`GPT: ${key} must be an integer in [1, ${GPT_LIMITS[key]}], got ${v}`);
    }
  }
  if (c.embed % c.heads !== 0) throw new ValueError(`GPT: embed (${c.embed}) must be a multiple of heads (${c.heads})`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new ValueError(`GPT: dropout must be in [0, 1), got ${c.dropout}`);
}

export interface GptOptions {
  dtype?: DType;
  generator?: Generator;
}

/** Multi-head causal self-attention with one projection to q, k, v (c_attn) and one back (c_proj). */
export class CausalSelfAttention extends Module {
  c_attn: Linear;
  c_proj: Linear;
  resid_dropout: Dropout;

  constructor(readonly embed: number, readonly heads: number, readonly dropout: number, opts: GptOptions = {}) {
    super();
    this.c_attn = new Linear(embed, 3 * embed, { dtype: opts.dtype });
    this.c_proj = new Linear(embed, embed, { dtype: opts.dtype });
    this.resid_dropout = new Dropout(dropout);
  }

  override forward(x: Tensor): Tensor {
    const [B, T, E] = x.shape as [number, number, number];
    const H = this.heads;
    const hd = E / H;
    // [B, T, 3E] → three [B, H, T, hd] views.
    const qkv = this.c_attn.call(x).reshape([B, T, 3, H, hd]).permute([2, 0, 3, 1, 4]);
    const [q, k, v] = [qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)];
    const y = scaledDotProductAttention(q, k, v, { isCausal: true, dropoutP: this.training ? this.dropout : 0 });
    return this.resid_dropout.call(this.c_proj.call(y.transpose(1, 2).reshape([B, T, E])));
  }
}

export class GptMlp extends Module {
  c_fc: Linear;
  gelu: GELU;
  c_proj: Linear;
  dropout: Dropout;

  constructor(embed: number, dropout: number, opts: GptOptions = {}) {
    super();
    this.c_fc = new Linear(embed, 4 * embed, { dtype: opts.dtype });
    this.gelu = new GELU();
    this.c_proj = new Linear(4 * embed, embed, { dtype: opts.dtype });
    this.dropout = new Dropout(dropout);
  }

  override forward(x: Tensor): Tensor {
    return this.dropout.call(this.c_proj.call(this.gelu.call(this.c_fc.call(x))));
  }
}

export class GptBlock extends Module {
  ln_1: LayerNorm;
  attn: CausalSelfAttention;
  ln_2: LayerNorm;
  mlp: GptMlp;

  constructor(embed: number, heads: number, dropout: number, opts: GptOptions = {}) {
    super();
    this.ln_1 = new LayerNorm(embed, { dtype: opts.dtype });
    this.attn = new CausalSelfAttention(embed, heads, dropout, opts);
    this.ln_2 = new LayerNorm(embed, { dtype: opts.dtype });
    this.mlp = new GptMlp(embed, dropout, opts);
  }

  override forward(x: Tensor): Tensor {
    const h = x.add(this.attn.call(this.ln_1.call(x)));
    return h.add(this.mlp.call(this.ln_2.call(h)));
  }
}

/** nanoGPT's `transformer` ModuleDict, as a module with the same child names. */
export class GptTransformer extends Module<never[], never> {
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  h: ModuleList;
  ln_f: LayerNorm;

  constructor(c: GptConfig, opts: GptOptions = {}) {
    super();
    this.wte = new Embedding(c.vocabSize, c.embed, { dtype: opts.dtype });
    this.wpe = new Embedding(c.context, c.embed, { dtype: opts.dtype });
    this.drop = new Dropout(c.dropout);
    this.h = new ModuleList(Array.from({ length: c.layers }, () => new GptBlock(c.embed, c.heads, c.dropout, opts)));
    this.ln_f = new LayerNorm(c.embed, { dtype: opts.dtype });
  }

  override forward(): never {
    throw new ValueError(`${this.label()}: call the GPT itself, not its transformer`);
  }
}

export class GPT extends Module<[Tensor], Tensor> {
  transformer: GptTransformer;
  lm_head: Linear;
  readonly config: GptConfig;

  constructor(config: GptConfig, opts: GptOptions = {}) {
    super();
    checkGptConfig(config);
    this.config = { ...config };
    this.transformer = new GptTransformer(config, opts);
    this.lm_head = new Linear(config.embed, config.vocabSize, { dtype: opts.dtype, bias: false });
    this.initWeights(opts.generator ?? defaultGenerator);
  }

  /**
   * nanoGPT's initialisation: every Linear and Embedding weight N(0, 0.02), biases 0, LayerNorm
   * 1 and 0, and the projections back into the residual stream (`c_proj`) N(0, 0.02/√(2·layers)).
   */
  private initWeights(gen: Generator): void {
    const residStd = 0.02 / Math.sqrt(2 * this.config.layers);
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('.bias')) constant_(p, 0);
      else if (name.includes('ln_')) constant_(p, 1);
      else normal_(p, 0, name.endsWith('c_proj.weight') ? residStd : 0.02, gen);
    }
  }

  /** Token indices [B, T] (int32, T ≤ context) → logits [B, T, vocabSize]. */
  override forward(idx: Tensor): Tensor {
    const who = this.label();
    if (idx.ndim !== 2) throw new ShapeError(`${who}: expected token indices [batch, time], got shape ${fmtShape(idx.shape)}`);
    const T = idx.shape[1]!;
    if (T < 1 || T > this.config.context) {
      throw new ShapeError(`${who}: a sequence of ${T} tokens does not fit the context of ${this.config.context} (input shape ${fmtShape(idx.shape)})`);
    }
    const tr = this.transformer;
    const pos = arange(0, T, 1, { dtype: 'int32' });
    let h = tr.drop.call(tr.wte.call(idx).add(tr.wpe.call(pos)));
    for (const block of tr.h) h = (block as GptBlock).call(h);
    return this.lm_head.call(tr.ln_f.call(h));
  }

  /** Mean cross-entropy of the next-token predictions: logits [B, T, V] against targets [B, T]. */
  loss(logits: Tensor, targets: Tensor): Tensor {
    const V = this.config.vocabSize;
    return crossEntropy(logits.reshape([-1, V]), targets.reshape([-1]));
  }

  /**
   * The weight-decay groups of nanoGPT: matrices (Linear and Embedding weights) decay, biases
   * and LayerNorm parameters do not.
   */
  decayGroups(): { decay: Tensor[]; noDecay: Tensor[] } {
    const decay: Tensor[] = [];
    const noDecay: Tensor[] = [];
    for (const p of this.parameters()) (p.ndim >= 2 ? decay : noDecay).push(p);
    return { decay, noDecay };
  }
}
