/**
 * explain()'s result as a reader sees it: the seeds' printout of chapter 16.5, in Unicode,
 * for any small network; larger layers are summarised by shape, norm and a few entries.
 */
import type { ExplainLayer, ExplainResult } from './explain.js';
import type { ActivationKind, Matrix } from './explain-math.js';

export type ExplainFormat = 'text' | 'markdown' | 'json';

/** Per-unit equations only for layers up to this many inputs and outputs... */
const SMALL_LAYER = 8;
/** ...and batches up to this many examples. */
const SMALL_BATCH = 4;

type Block = { kind: 'title' | 'section' | 'sub' | 'line'; text: string };

const SUP: Record<string, string> = { '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹', '-': '⁻', l: 'ˡ', L: 'ᴸ' };
const SUB: Record<string, string> = { '0': '₀', '1': '₁', '2': '₂', '3': '₃', '4': '₄', '5': '₅', '6': '₆', '7': '₇', '8': '₈', '9': '₉', ',': ',' };
const sup = (n: number | string): string => [...String(n)].map((c) => SUP[c] ?? c).join('');
const sub = (...ix: number[]): string => [...ix.join(',')].map((c) => SUB[c] ?? c).join('');

/** As the seeds print: 6 decimals, 8 below 0.01, trailing zeros dropped (0.15, not 0.150000). */
export function fmt(v: number): string {
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-4) return v.toExponential(4).replace(/-/g, '−');
  const s = v.toFixed(a >= 0.01 ? 6 : 8);
  return (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s).replace(/-/g, '−');
}

/** A factor in a product: negatives in parentheses, 0.4·(−0.5). */
const term = (v: number): string => (v < 0 ? `(${fmt(v)})` : fmt(v));

const vec = (v: number[], max = 6): string => `[${v.slice(0, max).map(fmt).join(', ')}${v.length > max ? `, … (${v.length})` : ''}]`;
const norm = (m: Matrix | number[]): number => Math.sqrt((m as (number | number[])[]).flat().reduce((s: number, v) => s + (v as number) ** 2, 0));
const summary = (name: string, m: Matrix): string =>
  `${name}: ${m.length} × ${m[0]?.length ?? 0}, ‖·‖ = ${fmt(norm(m))}, first entries ${vec(m.flat(), 4)}`;

const ACT_NAME: Record<ActivationKind, string> = { sigmoid: 'σ', tanh: 'tanh', relu: 'ReLU', leakyRelu: 'LeakyReLU', identity: 'identity' };

function actValue(kind: ActivationKind, z: number, a: number): string {
  return kind === 'identity' ? `${fmt(z)}` : `${ACT_NAME[kind]}(${fmt(z)}) = ${fmt(a)}`;
}

/** σ′(z) with the factors shown, as the seeds write it. */
function derivative(kind: ActivationKind, z: number, a: number, d: number, slope: number): string {
  switch (kind) {
    case 'sigmoid':
      return `σ(z)(1 − σ(z)) = ${fmt(a)}·${fmt(1 - a)} = ${fmt(d)}`;
    case 'tanh':
      return `1 − tanh²(z) = 1 − ${fmt(a)}² = ${fmt(d)}`;
    case 'relu':
      return `${z > 0 ? '1 (z > 0)' : '0 (z ≤ 0: the unit is off)'}`;
    case 'leakyRelu':
      return z > 0 ? '1 (z > 0)' : `${fmt(slope)} (z ≤ 0: the slope α)`;
    case 'identity':
      return '1 (no activation)';
  }
}

function build(r: ExplainResult): Block[] {
  const out: Block[] = [];
  const push = (kind: Block['kind'], text: string) => out.push({ kind, text });
  const L = r.layers.length;
  const N = r.batchSize;
  const smallBatch = N <= SMALL_BATCH;
  const ex = (n: number): string => (N > 1 ? `(example ${n + 1}) ` : '');
  const examples = smallBatch ? [...Array(N).keys()] : [];
  const small = (l: ExplainLayer) => smallBatch && l.inFeatures <= SMALL_LAYER && l.outFeatures <= SMALL_LAYER;
  const c = r.exampleWeight;
  const mean = r.loss.reduction === 'mean' && N > 1;
  const cText = mean ? `(1/${N}) Σₙ ` : N > 1 ? 'Σₙ ' : '';

  push('title', `Backpropagation, step by step: ${r.sizes.join('-')} network, ${r.loss.kind} loss, batch of ${N}, η = ${fmt(r.lr)}`);
  push('line', `Layers: ${r.layers.map((l) => `Linear "${l.path}" (${l.inFeatures} → ${l.outFeatures}) + ${l.activation}`).join(', ')}`);
  push('line', `Per-example loss ${r.loss.formula}; L = ${mean ? `(1/N) Σₙ ℓₙ (mean over the batch)` : N > 1 ? 'Σₙ ℓₙ' : 'ℓ'}`);

  push('section', 'Forward pass: zˡ = Wˡ·aˡ⁻¹ + bˡ, aˡ = σ(zˡ), a⁰ = x');
  if (smallBatch) for (const n of examples) push('line', `${ex(n)}a⁰ = x = ${vec(r.input[n]!, 8)}`);
  else push('line', summary('a⁰ = x', r.input));
  r.layers.forEach((l, i) => {
    const below = i === 0 ? r.input : r.layers[i - 1]!.a;
    const act = r.loss.kind === 'ce' && i === L - 1 ? 'softmax (part of the cross-entropy loss)' : l.activation;
    push('sub', `Layer ${l.index}: Linear "${l.path}" (${l.inFeatures} → ${l.outFeatures}) + ${act}`);
    if (!small(l)) {
      push('line', summary(`z${sup(l.index)}`, l.z));
      push('line', summary(`a${sup(l.index)}`, l.a));
      return;
    }
    for (const n of examples) {
      l.z[n]!.forEach((z, j) => {
        const terms = l.weight[j]!.map((w, k) => `${term(w)}·${term(below[n]![k]!)}`).join(' + ');
        push('line', `${ex(n)}z${sup(l.index)}${sub(j + 1)} = ${terms}${l.biasName ? ` + ${fmt(l.bias[j]!)}` : ''} = ${fmt(z)}`);
      });
      if (r.loss.kind === 'ce' && i === L - 1) {
        const exps = l.z[n]!.map((z) => `e^${term(z)}`).join(' + ');
        r.output[n]!.forEach((a, j) => push('line', `${ex(n)}a${sup(l.index)}${sub(j + 1)} = softmax(z${sup(l.index)})${sub(j + 1)} = e^${term(l.z[n]![j]!)} / (${exps}) = ${fmt(a)}`));
      } else {
        l.a[n]!.forEach((a, j) => push('line', `${ex(n)}a${sup(l.index)}${sub(j + 1)} = ${actValue(l.activation, l.z[n]![j]!, a)}`));
      }
    }
  });

  push('section', 'Loss');
  if (smallBatch) {
    r.perExampleLoss.forEach((v, n) => {
      const a = r.output[n]!;
      const y = r.target[n]!;
      const detail = a.length === 1 && r.loss.kind === 'half-mse' ? ` = ½(${fmt(a[0]!)} − ${fmt(y[0]!)})²` : '';
      push('line', `${ex(n)}ℓ = ${r.loss.formula.split('=')[1]!.split(',')[0]!.trim()}${detail} = ${fmt(v)}   (ŷ = ${vec(a)}, y = ${vec(y)})`);
    });
  }
  push('line', `L = ${mean ? `(1/${N}) Σₙ ℓₙ = ` : ''}${fmt(r.loss.value)}`);

  push('section', `Backward pass. BP1, the output error: δ${sup('L')} = ∇ₐℓ ⊙ σ′(z${sup('L')})`);
  const top = r.layers[L - 1]!;
  const K = top.outFeatures;
  const bp1Small = smallBatch && K <= SMALL_LAYER;
  const sL = sup(L);
  if (r.loss.kind === 'ce') {
    push('line', `With softmax, aₖ depends on every zᵢ: ∂aᵢ/∂zₖ = aᵢ(1[i = k] − aₖ), and ∂ℓ/∂aᵢ = −yᵢ/aᵢ, so`);
    push('line', `δ${sL}ₖ = Σᵢ (−yᵢ/aᵢ)·aᵢ(1[i = k] − aₖ) = aₖ Σᵢ yᵢ − yₖ = aₖ − yₖ   (Σᵢ yᵢ = 1; the seeds' exercise 16.4)`);
  } else if (r.loss.kind === 'bce') {
    push('line', `∂ℓ/∂a = (a − y) / (a(1 − a))${K > 1 ? ` / ${K}` : ''} and σ′(z) = a(1 − a): the factors cancel, δ${sL} = a − y${K > 1 ? ` (÷${K})` : ''}   (the seeds' exercise 16.1)`);
  }
  if (bp1Small) {
    for (const n of examples) {
      for (let k = 0; k < K; k++) {
        const a = r.output[n]![k]!;
        const y = r.target[n]![k]!;
        const g = r.bp1.gradA[n]![k]!;
        const d = r.bp1.delta[n]![k]!;
        const u = `${sL}${sub(k + 1)}`;
        if (r.loss.kind === 'ce') {
          push('line', `${ex(n)}δ${u} = a${u} − y${sub(k + 1)} = ${fmt(a)} − ${fmt(y)} = ${fmt(d)}`);
          continue;
        }
        const gradText = r.loss.kind === 'half-mse' ? `a${u} − y${sub(k + 1)} = ${fmt(a)} − ${fmt(y)}`
          : r.loss.kind === 'mse' ? `(2/${K})(a${u} − y${sub(k + 1)}) = (2/${K})(${fmt(a)} − ${fmt(y)})`
          : `(a${u} − y${sub(k + 1)}) / (a${u}(1 − a${u}))${K > 1 ? ` / ${K}` : ''} = (${fmt(a)} − ${fmt(y)}) / (${fmt(a)}·${fmt(1 - a)})`;
        push('line', `${ex(n)}∂ℓ/∂a${u} = ${gradText} = ${fmt(g)}`);
        const sp = r.bp1.sigmaPrime![n]![k]!;
        push('line', `${ex(n)}σ′(z${u}) = ${derivative(top.activation, top.z[n]![k]!, top.a[n]![k]!, sp, top.negativeSlope)}`);
        push('line', `${ex(n)}δ${u} = ${term(g)}·${term(sp)} = ${fmt(d)}${r.loss.kind === 'bce' ? `  = a − y = ${fmt(a)} − ${fmt(y)} ✓` : ''}`);
      }
    }
  } else {
    push('line', summary(`δ${sL}`, r.bp1.delta));
  }
  if (r.bp1.aMinusYGap !== null) push('line', `Check: δ${sL} = a − y for every example and unit (largest gap ${fmt(r.bp1.aMinusYGap)}).`);

  if (L > 1) push('section', 'BP2, the error carried back: δˡ = (Wˡ⁺¹)ᵀδˡ⁺¹ ⊙ σ′(zˡ)');
  for (let i = L - 2; i >= 0; i--) {
    const l = r.layers[i]!;
    const up = r.layers[i + 1]!;
    const s = sup(l.index);
    const su = sup(up.index);
    push('sub', `Layer ${l.index} (Linear "${l.path}"), from layer ${up.index}`);
    if (!small(l) || !small(up)) {
      push('line', summary(`(W${su})ᵀδ${su}`, l.fromAbove!));
      push('line', summary(`σ′(z${s})`, l.sigmaPrime!));
      push('line', summary(`δ${s}`, l.delta));
      if (l.activation === 'relu') push('line', `units off (σ′ = 0): ${fmt(100 * l.sigmaPrime!.flat().filter((v) => v === 0).length / l.sigmaPrime!.flat().length)}%`);
      continue;
    }
    for (const n of examples) {
      l.delta[n]!.forEach((d, j) => {
        const terms = up.weight.map((row, k) => `${term(row[j]!)}·${term(up.delta[n]![k]!)}`).join(' + ');
        const back = l.fromAbove![n]![j]!;
        const sp = l.sigmaPrime![n]![j]!;
        push('line', `${ex(n)}((W${su})ᵀδ${su})${sub(j + 1)} = ${terms} = ${fmt(back)}`);
        push('line', `${ex(n)}σ′(z${s}${sub(j + 1)}) = ${derivative(l.activation, l.z[n]![j]!, l.a[n]![j]!, sp, l.negativeSlope)}`);
        push('line', `${ex(n)}δ${s}${sub(j + 1)} = ${term(back)}·${term(sp)} = ${fmt(d)}`);
      });
    }
  }

  push('section', `BP3, weight gradients: ∂L/∂Wˡ = ${cText}δˡ(aˡ⁻¹)ᵀ`);
  const sumOver = (parts: string[]): string => (N === 1 ? parts.join('') : `${mean ? `(1/${N})` : ''}(${parts.join(' + ')})`);
  for (let i = L - 1; i >= 0; i--) {
    const l = r.layers[i]!;
    const below = i === 0 ? r.input : r.layers[i - 1]!.a;
    const s = sup(l.index);
    if (!small(l)) {
      push('line', summary(`∂L/∂W${s} (${l.weightName})`, l.gradW));
      continue;
    }
    l.gradW.forEach((row, j) => row.forEach((g, k) => {
      const prods = examples.map((n) => (N === 1 ? `${term(l.delta[n]![j]!)}·${term(below[n]![k]!)}` : term(l.delta[n]![j]! * below[n]![k]!)));
      push('line', `∂L/∂W${s}${sub(j + 1, k + 1)} = δ${s}${sub(j + 1)}·a${sup(l.index - 1)}${sub(k + 1)} = ${sumOver(prods)} = ${fmt(g)}`);
    }));
  }

  push('section', `BP4, bias gradients: ∂L/∂bˡ = ${cText}δˡ`);
  for (let i = L - 1; i >= 0; i--) {
    const l = r.layers[i]!;
    const s = sup(l.index);
    if (!l.biasName) push('line', `Layer ${l.index} has no bias.`);
    else if (!small(l)) push('line', summary(`∂L/∂b${s} (${l.biasName})`, [l.gradB]));
    else l.gradB.forEach((g, j) => push('line', `∂L/∂b${s}${sub(j + 1)} = δ${s}${sub(j + 1)} = ${N === 1 ? '' : `${sumOver(examples.map((n) => term(l.delta[n]![j]!)))} = `}${fmt(g)}`));
  }

  push('section', `Update (SGD): W ← W − η·∂L/∂W, b ← b − η·∂L/∂b, η = ${fmt(r.lr)}`);
  for (let i = L - 1; i >= 0; i--) {
    const l = r.layers[i]!;
    const s = sup(l.index);
    if (l.inFeatures * l.outFeatures > SMALL_LAYER * 2) {
      push('line', summary(`new W${s}`, l.newW));
      continue;
    }
    l.newW.forEach((row, j) => row.forEach((w, k) => push('line', `W${s}${sub(j + 1, k + 1)}: ${fmt(l.weight[j]![k]!)} − ${fmt(r.lr)}·${term(l.gradW[j]![k]!)} = ${fmt(w)}`)));
    if (l.biasName) l.newB.forEach((b, j) => push('line', `b${s}${sub(j + 1)}: ${fmt(l.bias[j]!)} − ${fmt(r.lr)}·${term(l.gradB[j]!)} = ${fmt(b)}`));
  }
  const change = r.lossAfter - r.loss.value;
  push('line', `Loss after the step: ${fmt(r.lossAfter)} (was ${fmt(r.loss.value)}; ${change <= 0 ? 'down' : 'UP'} by ${fmt(Math.abs(change))})`);

  push('section', 'Check against autograd');
  push('line', r.autograd.agrees
    ? `✓ All ${r.autograd.compared} numbers (${r.autograd.what.join(', ')}) agree with chainrule's autograd on this model (${r.autograd.dtype}; largest difference ${fmt(r.autograd.maxAbsDiff)}). δ is compared as ∂L/∂z = ${c === 1 ? 'δ' : `${fmt(c)}·δ`}.`
    : '✗ not checked');
  return out;
}

/** Text for a terminal, Markdown for a notebook or an issue, or the full result as JSON. */
export function renderExplain(r: ExplainResult, format: ExplainFormat = 'text'): string {
  if (format === 'json') return JSON.stringify(r, null, 2) + '\n';
  const blocks = build(r);
  if (format === 'text') {
    return blocks.map((b) =>
      b.kind === 'title' ? `${b.text}\n${'═'.repeat(Math.min(100, [...b.text].length))}`
        : b.kind === 'section' ? `\n${b.text}\n${'─'.repeat(Math.min(100, [...b.text].length))}`
          : b.kind === 'sub' ? ` ${b.text}` : `   ${b.text}`).join('\n') + '\n';
  }
  let md = '';
  let inCode = false;
  for (const b of blocks) {
    if (b.kind === 'line') {
      if (!inCode) md += '```text\n';
      inCode = true;
      md += `${b.text}\n`;
      continue;
    }
    if (inCode) md += '```\n';
    inCode = false;
    md += b.kind === 'title' ? `# ${b.text}\n\n` : b.kind === 'section' ? `\n## ${b.text}\n\n` : `\n**${b.text}**\n\n`;
  }
  if (inCode) md += '```\n';
  return md;
}
