/**
 * The BP1–BP4 trace of one layer, as tables of the numbers explain() computed for the batch
 * (and checked against autograd), plus the library's own full printout.
 */
import { renderExplain, type ExplainResult } from 'chainrule/inspect';

const MAX_ROWS = 8;
const MAX_COLS = 8;

const f = (v: number): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return (a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)))).replace('-', '−');
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** A table with row and column headers; each cell a list of lines (first line bold). */
function table(rowHead: (i: number) => string, colHead: (j: number) => string, rows: number, cols: number, cell: (i: number, j: number) => string[], caption: string): HTMLElement {
  const wrap = el('div', undefined, 'table-wrap');
  const t = el('table', undefined, 'trace');
  t.append(el('caption', caption));
  const head = el('tr');
  head.append(el('th'));
  for (let j = 0; j < Math.min(cols, MAX_COLS); j++) head.append(el('th', colHead(j)));
  if (cols > MAX_COLS) head.append(el('th', `… ${cols - MAX_COLS} more`));
  t.append(head);
  for (let i = 0; i < Math.min(rows, MAX_ROWS); i++) {
    const tr = el('tr');
    tr.append(el('th', rowHead(i)));
    for (let j = 0; j < Math.min(cols, MAX_COLS); j++) {
      const td = el('td');
      cell(i, j).forEach((line, k) => td.append(el(k === 0 ? 'b' : 'div', line)));
      tr.append(td);
    }
    if (cols > MAX_COLS) tr.append(el('td', '…'));
    t.append(tr);
  }
  if (rows > MAX_ROWS) {
    const tr = el('tr');
    tr.append(el('th', `… ${rows - MAX_ROWS} more`));
    t.append(tr);
  }
  wrap.append(t);
  return wrap;
}

const SUP = '⁰¹²³⁴⁵⁶⁷⁸⁹';
const sup = (n: number): string => [...String(n)].map((c) => SUP[Number(c)]).join('');
const SUB = '₀₁₂₃₄₅₆₇₈₉';
const sub = (n: number): string => [...String(n)].map((c) => SUB[Number(c)]).join('');

/** Renders layer `l` (1-based) of the trace into `host`. */
export function renderTrace(host: HTMLElement, r: ExplainResult, l: number): void {
  host.replaceChildren();
  const L = r.layers.length;
  const layer = r.layers[l - 1]!;
  const s = sup(l);
  const N = r.batchSize;
  const ex = (i: number) => `example ${i + 1}`;
  const unit = (j: number) => `unit ${j + 1}`;
  host.append(el('p', `Layer ${l} of ${L}: Linear (${layer.inFeatures} → ${layer.outFeatures}) + ${r.loss.kind === 'ce' && l === L ? 'softmax in the loss' : layer.activation}; batch of ${N}, loss ${r.loss.kind} (${r.loss.formula}), L = ${f(r.loss.value)}.`, 'muted'));

  if (l === L) {
    host.append(el('h4', `BP1, the output error: δ${s} = ∇ₐℓ ⊙ σ′(z${s})`));
    const cells = (i: number, j: number): string[] => {
      const d = r.bp1.delta[i]![j]!;
      if (!r.bp1.sigmaPrime) return [`δ = ${f(d)}`, `a − y = ${f(r.output[i]![j]!)} − ${f(r.target[i]![j]!)}`];
      return [`δ = ${f(d)}`, `∂ℓ/∂a = ${f(r.bp1.gradA[i]![j]!)}`, `σ′(z) = ${f(r.bp1.sigmaPrime[i]![j]!)}`];
    };
    host.append(table(ex, unit, N, layer.outFeatures, cells, `δ${s}ⱼ per example, with its two factors`));
    if (r.bp1.aMinusYGap !== null) host.append(el('p', `For ${r.loss.kind}, σ′ cancels: δ${s} = a − y (largest gap over the batch ${f(r.bp1.aMinusYGap)}).`, 'muted'));
  } else {
    const up = r.layers[l]!;
    host.append(el('h4', `BP2, the error carried back: δ${s} = (W${sup(l + 1)})ᵀδ${sup(l + 1)} ⊙ σ′(z${s})`));
    const cells = (i: number, j: number): string[] => [
      `δ = ${f(layer.delta[i]![j]!)}`,
      `(Wᵀδ) = ${f(layer.fromAbove![i]![j]!)}`,
      `σ′(z) = ${f(layer.sigmaPrime![i]![j]!)}`,
    ];
    host.append(table(ex, unit, N, layer.outFeatures, cells, `δ${s}ⱼ = ((W${sup(l + 1)})ᵀδ${sup(l + 1)})ⱼ · σ′(z${s}ⱼ), from layer ${up.index}'s ${up.outFeatures} errors`));
    if (layer.activation === 'relu') {
      const sp = layer.sigmaPrime!.flat();
      host.append(el('p', `${Math.round((100 * sp.filter((v) => v === 0).length) / sp.length)}% of σ′ are 0 here (ReLU units off): their δ is 0 whatever comes from above.`, 'muted'));
    }
  }
  const mean = r.loss.reduction === 'mean' && N > 1 ? `(1/${N}) Σₙ ` : N > 1 ? 'Σₙ ' : '';
  host.append(el('h4', `BP3, weight gradients: ∂L/∂W${s} = ${mean}δ${s}(a${sup(l - 1)})ᵀ`));
  const inName = (k: number) => (l === 1 ? `x${sub(k + 1)}` : `a${sup(l - 1)}${sub(k + 1)}`);
  host.append(table((j) => `unit ${j + 1}`, inName, layer.outFeatures, layer.inFeatures, (j, k) => [f(layer.gradW[j]![k]!), `W = ${f(layer.weight[j]![k]!)}`], `∂L/∂W${s}ⱼₖ (row: unit j of layer ${l}; column: input k), with the weight itself`));
  host.append(el('h4', `BP4, bias gradients: ∂L/∂b${s} = ${mean}δ${s}`));
  host.append(table(() => '∂L/∂b', unit, 1, layer.outFeatures, (_i, j) => [f(layer.gradB[j]!), `b = ${f(layer.bias[j]!)}`], `∂L/∂b${s}ⱼ`));
  const a = r.autograd;
  host.append(el('p', a.agrees ? `✓ all ${a.compared} numbers of the trace (${a.what.join(', ')}) agree with chainrule's autograd on this batch (${a.dtype}, largest difference ${f(a.maxAbsDiff)}).` : '✗ not checked against autograd', a.agrees ? 'ok' : 'warn'));
  const details = el('details');
  details.append(el('summary', 'The whole step as explain() prints it (every layer)'));
  details.append(el('pre', renderExplain(r, 'text')));
  host.append(details);
}
