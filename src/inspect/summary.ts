/**
 * summary(model, inputShape): per layer the output shape, parameters and multiply-adds of one
 * forward and one backward pass (the seeds' exercises 16.3 and 16.5). Shapes come from running
 * the model once on zeros; whether a layer's input needs a gradient is read from autograd on
 * that run, so the backward count is what backward() will actually compute.
 */
import type { AnyModule } from '../nn/module.js';
import { Linear } from '../nn/modules/linear.js';
import { Conv2d } from '../nn/modules/conv.js';
import { Parameter } from '../nn/parameter.js';
import { zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { leafModules, watchForward } from './layers.js';

export interface SummaryRow {
  path: string;
  type: string;
  inputShape: number[];
  outputShape: number[];
  params: number;
  /** Multiply-adds of the forward pass; null for layers without any (activations, pooling, ...). */
  forwardMacs: number | null;
  backwardMacs: number | null;
  /** Whether backward computes the gradient with respect to this layer's input. */
  inputNeedsGrad: boolean;
}

export interface ModelSummary {
  rows: SummaryRow[];
  inputShape: number[];
  totalParams: number;
  trainableParams: number;
  forwardMacs: number;
  backwardMacs: number;
  /** backwardMacs / forwardMacs: 2 for Linear layers, less when the first layer's input needs no gradient. */
  ratio: number;
  convention: string;
}

export const MAC_CONVENTION =
  'Multiply-adds (MACs) of matrix products only; bias adds and activations are not counted. ' +
  'Linear(in → out): forward in·out per example; backward in·out for ∂L/∂W plus in·out for ∂L/∂x when the ' +
  "layer's input needs a gradient (so 2× forward, and 1× for the first layer, whose input is data).";

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function ownParams(m: AnyModule): Parameter[] {
  return Object.values(m).filter((v): v is Parameter => v instanceof Parameter);
}

function macs(m: AnyModule, input: Tensor, output: Tensor): number | null {
  if (m instanceof Linear) return (prod(input.shape) / m.inFeatures) * m.inFeatures * m.outFeatures;
  if (m instanceof Conv2d) {
    const [kh, kw] = m.kernelSize;
    return prod(output.shape) * (m.inChannels / m.groups) * kh * kw;
  }
  return null;
}

/**
 * `inputShape` is one example's shape ([5]) or a batch's ([32, 5]); the counts are for
 * exactly that input.
 */
export function summary(model: AnyModule, inputShape: readonly number[]): ModelSummary {
  const leaves = leafModules(model);
  const dtype = model.parameters()[0]?.dtype ?? 'float32';
  const seen: { path: string; m: AnyModule; input: Tensor; output: Tensor }[] = [];
  const unwatch = leaves.map(([path, m]) => watchForward(m, (output, input) => void seen.push({ path, m, input, output })));
  try {
    model.call(zeros([...inputShape], { dtype }));
  } finally {
    for (const u of unwatch) u();
  }
  const rows: SummaryRow[] = seen.map(({ path, m, input, output }) => {
    const params = ownParams(m);
    const fwd = macs(m, input, output);
    const weightGrad = params.some((p) => p.requiresGrad && p.ndim >= 2) ? fwd : 0;
    return {
      path,
      type: m.constructor.name,
      inputShape: [...input.shape],
      outputShape: [...output.shape],
      params: params.reduce((n, p) => n + p.numel(), 0),
      forwardMacs: fwd,
      backwardMacs: fwd === null ? null : (weightGrad ?? 0) + (input.requiresGrad ? fwd : 0),
      inputNeedsGrad: input.requiresGrad,
    };
  });
  const forwardMacs = rows.reduce((n, r) => n + (r.forwardMacs ?? 0), 0);
  const backwardMacs = rows.reduce((n, r) => n + (r.backwardMacs ?? 0), 0);
  const all = model.parameters();
  return {
    rows,
    inputShape: [...inputShape],
    totalParams: all.reduce((n, p) => n + p.numel(), 0),
    trainableParams: all.filter((p) => p.requiresGrad).reduce((n, p) => n + p.numel(), 0),
    forwardMacs,
    backwardMacs,
    ratio: forwardMacs > 0 ? backwardMacs / forwardMacs : 0,
    convention: MAC_CONVENTION,
  };
}

const int = (n: number): string => n.toLocaleString('en-US');

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** A fixed-width table with totals and the counting convention. */
export function renderSummary(s: ModelSummary): string {
  const head = ['Layer', 'Type', 'Output shape', 'Params', 'Forward MACs', 'Backward MACs'];
  const body = s.rows.map((r) => [
    r.path,
    r.type,
    `[${r.outputShape.join(', ')}]`,
    r.params ? int(r.params) : '–',
    r.forwardMacs === null ? '–' : int(r.forwardMacs),
    r.backwardMacs === null ? '–' : `${int(r.backwardMacs)}${r.forwardMacs && !r.inputNeedsGrad ? ' (no ∂L/∂x)' : ''}`,
  ]);
  const total = ['Total', '', '', int(s.totalParams), int(s.forwardMacs), int(s.backwardMacs)];
  const widths = head.map((h, i) => Math.max(h.length, ...[...body, total].map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [
    `Model summary for input shape [${s.inputShape.join(', ')}]`,
    '',
    line(head),
    rule,
    ...body.map(line),
    rule,
    line(total),
    '',
    `Parameters: ${int(s.totalParams)} (${int(s.trainableParams)} trainable)`,
    `Backward / forward multiply-adds: ${int(s.backwardMacs)} / ${int(s.forwardMacs)} = ${s.ratio.toFixed(3)}`,
    '',
    ...wrap(`Convention: ${s.convention}`, 96),
    '',
  ].join('\n');
}
